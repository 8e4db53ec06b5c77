"""`/streaming`: Server-Sent Events from the in-process event bus, for the open pages.

One subscription per connection, dropped when the connection goes. The page says which
timeline it shows (`?timeline=home|local|federated`) and gets that timeline's new entries as
`update` events; every page gets `notification` (with the unread count), `delete` and
`status.update`. A comment line every `HEARTBEAT` seconds keeps proxies from closing an idle
stream and lets the server notice a client that left.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from solo.edge.sessions import SESSIONS_ENDED, current_account, still_logged_in
from solo.events import Event, EventBus
from solo.federation.context import federation_of
from solo.feeds import STREAMS

HEARTBEAT: Final = 15.0
# Each stream holds a queue; a single user has no use for more than a few dozen open pages.
MAX_STREAMS: Final = 32
RETRY_MS: Final = 3000  # how long a browser waits before reconnecting a dropped stream


def encode(event: Event, stream: str | None) -> str | None:
    """The SSE message for `event` on a page showing `stream`; None when not for that page."""
    payload = event.payload
    data: dict[str, object]
    if event.kind == "update":
        if stream is None or event.stream != stream:
            return None
        data = {"id": str(payload["status_id"])}
    elif event.kind in ("notification", "notifications_merged"):
        # An accepted request brings notifications at once: the page updates its count.
        data = {"unread": int(payload.get("unread", 0))}
        return f"event: notification\ndata: {json.dumps(data)}\n\n"
    elif event.kind in ("delete", "status.update"):
        data = {"id": str(payload["status_id"])}
    else:
        return None
    return f"event: {event.kind}\ndata: {json.dumps(data)}\n\n"


async def event_stream(
    bus: EventBus,
    stream: str | None,
    *,
    heartbeat: float = HEARTBEAT,
    alive: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The body of one SSE response: subscribed before the first line, until closed, or until
    `alive` (asked at each heartbeat and after a logout) says the login is over."""
    queue = bus.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    event = await queue.get()
            except TimeoutError:
                if alive is not None and not await alive():
                    return
                yield ": heartbeat\n\n"
                continue
            if event.kind == SESSIONS_ENDED:
                if alive is not None and not await alive():
                    return
                continue
            message = encode(event, stream)
            if message is not None:
                yield message
    finally:
        bus.unsubscribe(queue)


async def streaming(request: Request) -> Response:
    if await current_account(request) is None:
        return PlainTextResponse("Log in to receive updates.", status_code=401)
    federation = federation_of(request)
    if federation.events.subscriber_count >= MAX_STREAMS:
        return PlainTextResponse(
            "Too many open streams.", status_code=429, headers={"Retry-After": "30"}
        )
    timeline = request.query_params.get("timeline", "")
    return StreamingResponse(
        event_stream(
            federation.events, STREAMS.get(timeline), alive=lambda: still_logged_in(request)
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


routes: list[BaseRoute] = [Route("/streaming", streaming, methods=["GET"])]
