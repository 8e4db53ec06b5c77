"""Mastodon's streaming API: `/api/v1/streaming` over WebSocket, and Server-Sent Events.

    WebSocket  /api/v1/streaming[?stream=user]            then {"type": "subscribe",
               "stream": "hashtag", "tag": "cats"} / {"type": "unsubscribe", …}; each event is
               {"stream": ["user"], "event": "update", "payload": "<the Status as JSON>"}
    SSE        /api/v1/streaming/user, /user/notification, /public, /public/local,
               /public/remote, /hashtag?tag=, /hashtag/local?tag= (also ?stream=NAME)
               `event: update` / `data: {…}` and a blank line; `:thump` every HEARTBEAT s
    GET        /api/v1/streaming/health → OK

The token comes as everywhere in the API (`solo.api.auth.token_from`); browsers send it as the
WebSocket subprotocol, which is echoed back or they would close the socket. Which events go
where is `solo.api.streams`. A `delete` carries the bare id; every other payload is a JSON
document in a string, as Mastodon sends it. A connection whose client does not read (its queue
full, or one write stuck for SEND_TIMEOUT) is closed, and so is one whose token is revoked
(`Relay.check`: a WebSocket is closed with 1008, an event stream ends).
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from solo import json_input
from solo.api.auth import Caller, api, authenticate
from solo.api.errors import RecordNotFound
from solo.api.streams import (
    NAMES,
    Dropped,
    Listener,
    Relay,
    Revoked,
    authorize,
    relay_of,
    stream,
)
from solo.errors import BadRequest, RequestError, TooManyRequests

HEARTBEAT: Final = 15.0
SEND_TIMEOUT: Final = 10.0  # one write may wait this long for a client to read
CLOSE_TIMEOUT: Final = 1.0
MAX_SUBSCRIPTIONS: Final = 32  # streams one WebSocket may hold at once
MAX_MESSAGE: Final = 4096  # a subscribe message is tiny
MAX_MESSAGE_DEPTH: Final = 4  # {"type": …, "stream": …, "tag": …} nests one level
HEARTBEAT_TEXT: Final = ":thump\n\n"
# WebSocket close codes: going away (a client dropped for falling behind), policy (refused).
GOING_AWAY: Final = 1001
POLICY: Final = 1008


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


# --- Server-Sent Events -------------------------------------------------------------------------


class EventStream(Response):
    """An endless `text/event-stream` body fed by one listener, until the client leaves or
    falls behind; the listener leaves the relay when the response ends."""

    media_type = "text/event-stream"

    def __init__(self, relay: Relay, listener: Listener, heartbeat: float = HEARTBEAT) -> None:
        self.relay = relay
        self.listener = listener
        self.heartbeat = heartbeat
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._chunk(send, ":)\n\n")
            writer = asyncio.create_task(self._write(send))
            watcher = asyncio.create_task(_until_disconnected(receive))
            done, _ = await _first_of(writer, watcher)
            if writer in done and _left_behind(writer):
                await self._finish(send)
        finally:
            self.relay.leave(self.listener)

    async def _write(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        wait = min(self.heartbeat, self.relay.recheck)
        sent_at = loop.time()
        while True:
            try:
                async with asyncio.timeout(wait):
                    text = (await self.listener.next()).sse_text
            except TimeoutError:
                text = HEARTBEAT_TEXT if loop.time() - sent_at >= self.heartbeat else ""
            await self.relay.check(self.listener)
            if text:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self._chunk(send, text)
                sent_at = loop.time()

    @staticmethod
    async def _chunk(send: Send, text: str) -> None:
        await send({"type": "http.response.body", "body": text.encode(), "more_body": True})

    @staticmethod
    async def _finish(send: Send) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (TimeoutError, OSError):
            pass  # the server closes the connection of a client that cannot take even that


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _first_of(
    *tasks: asyncio.Task[None],
) -> tuple[set[asyncio.Task[None]], set[asyncio.Task[None]]]:
    """Wait for the first task to end, cancel the others and wait for them too."""
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return done, pending


def _left_behind(task: asyncio.Task[None]) -> bool:
    """Whether the task ended because the client fell behind (else: the client left); any
    other error is re-raised."""
    if task.cancelled():
        return False
    error = task.exception()
    if isinstance(error, Dropped | TimeoutError):
        return True
    if isinstance(error, OSError | WebSocketDisconnect):
        return False
    if error is not None:
        raise error
    return False


@api(public=True)
async def server_sent_events(request: Request, caller: Caller | None) -> Response:
    """`/api/v1/streaming/public/local` is the stream `public:local`, and so on."""
    name = request.path_params.get("name", "").strip("/").replace("/", ":")
    if not name:
        name = request.query_params.get("stream", "")
    if name not in NAMES:
        raise RecordNotFound("Unknown stream type")
    target = stream(name, request.query_params.get("tag") or request.query_params.get("list"))
    authorize(target, caller)
    relay = relay_of(request)
    listener = relay.join(caller)
    listener.streams.add(target)
    return EventStream(relay, listener)


# --- WebSocket ----------------------------------------------------------------------------------


async def websocket_stream(websocket: WebSocket) -> None:
    relay = relay_of(websocket)
    try:
        caller = await authenticate(websocket)
        first = None
        if websocket.query_params.get("stream"):
            params = websocket.query_params
            first = stream(params["stream"], params.get("tag") or params.get("list"))
            authorize(first, caller)
        listener = relay.join(caller)
    except RequestError as error:
        await _deny(websocket, error)
        return
    if first is not None:
        listener.streams.add(first)
    try:
        await websocket.accept(subprotocol=_offered_protocol(websocket))
        writer = asyncio.create_task(_send_events(websocket, relay, listener))
        reader = asyncio.create_task(_read_requests(websocket, listener))
        done, _ = await _first_of(writer, reader)
        if writer in done and _left_behind(writer):
            revoked = isinstance(writer.exception(), Revoked)
            await _close(websocket, POLICY if revoked else GOING_AWAY)
        elif reader in done and not reader.cancelled():
            _left_behind(reader)  # a client gone is the end; anything else is a bug
    finally:
        relay.leave(listener)


def _offered_protocol(websocket: WebSocket) -> str | None:
    """The first subprotocol the client offered (a browser's token): it must come back."""
    offered = websocket.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    return offered or None


async def _deny(websocket: WebSocket, error: RequestError) -> None:
    """Refuse the handshake with the error as JSON, where the server lets us answer HTTP."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        headers = (
            {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyRequests) else {}
        )
        answer = JSONResponse({"error": error.message}, error.status, headers=headers)
        await websocket.send_denial_response(answer)
    else:
        await websocket.close(code=POLICY, reason=error.message[:120])


async def _send_events(websocket: WebSocket, relay: Relay, listener: Listener) -> None:
    while True:
        try:
            async with asyncio.timeout(relay.recheck):
                message = await listener.next()
        except TimeoutError:
            await relay.check(listener)  # an idle socket still learns of a revoked token
            continue
        await relay.check(listener)
        async with asyncio.timeout(SEND_TIMEOUT):
            await websocket.send_text(message.websocket_text)


async def _read_requests(websocket: WebSocket, listener: Listener) -> None:
    """Subscribe and unsubscribe messages; a refused one is answered `{"error", "status"}`."""
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        text = received.get("text") or (received.get("bytes") or b"").decode("utf-8", "replace")
        try:
            _apply(listener, text)
        except RequestError as error:
            await websocket.send_text(json.dumps({"error": error.message, "status": error.status}))


def _apply(listener: Listener, text: str) -> None:
    if len(text) > MAX_MESSAGE:
        raise BadRequest("Message too long")
    try:
        request = json_input.parse_object(text, max_depth=MAX_MESSAGE_DEPTH)
    except json_input.BadJSON:
        # Mastodon's words, which clients may match.
        raise BadRequest("Could not parse message") from None
    kind = request.get("type")
    if kind not in ("subscribe", "unsubscribe"):
        raise BadRequest("Unknown message type")
    name, tag = request.get("stream"), request.get("tag") or request.get("list")
    if isinstance(tag, int) and not isinstance(tag, bool):
        tag = str(tag)  # a list id sent as a number
    if not isinstance(name, str) or name not in NAMES:
        raise BadRequest("Unknown stream type")
    target = stream(name, tag if isinstance(tag, str) else None)
    if kind == "unsubscribe":
        listener.streams.discard(target)
        return
    authorize(target, listener.caller)
    if target not in listener.streams and len(listener.streams) >= MAX_SUBSCRIPTIONS:
        raise BadRequest("Too many subscriptions")
    listener.streams.add(target)


async def _close(websocket: WebSocket, code: int) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await websocket.close(code=code)
    except (TimeoutError, OSError, WebSocketDisconnect):
        pass  # the client is gone or not reading: the server drops the connection


routes: list[BaseRoute] = [
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    WebSocketRoute("/api/v1/streaming", websocket_stream),
    WebSocketRoute("/api/v1/streaming/", websocket_stream),
    Route("/api/v1/streaming", server_sent_events, methods=["GET"]),
    Route("/api/v1/streaming/{name:path}", server_sent_events, methods=["GET"]),
]
