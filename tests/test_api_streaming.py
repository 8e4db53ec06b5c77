"""The client API's streaming: WebSocket and Server-Sent Events over a real socket (uvicorn in
this process, as `solo serve` runs it), and the relay's bounds on its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from solo.actions import statuses
from solo.api import streaming
from solo.api.auth import Caller
from solo.api.streams import USER_RESERVE, Dropped, Listener, Message, Relay, Stream, relay_of
from solo.app import create_app
from solo.errors import TooManyRequests
from solo.events import Event
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store import notifications as notification_store
from solo.store.actors import RemoteActor
from solo.store.oauth import AccessToken
from tests.conftest import initialise_fast, make_settings
from tests.fleet import eventually
from tests.processes import free_port
from tests.test_api_oauth import password_token, register

WAIT = 5.0


@dataclass
class Live:
    app: Starlette
    port: int
    token: str

    @property
    def federation(self) -> Federation:
        federation: Federation = self.app.state.federation
        return federation

    @property
    def relay(self) -> Relay:
        relay = getattr(self.app.state, "solo_api_relay", None)
        assert isinstance(relay, Relay), "no stream was opened yet"
        return relay

    def url(self, path: str = "/api/v1/streaming", scheme: str = "ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url("", "http"), timeout=WAIT, trust_env=False)

    def socket(self, path: str = "/api/v1/streaming", **options: Any) -> connect:
        return connect(self.url(path), proxy=None, open_timeout=WAIT, **options)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def live(tmp_path: Path, template_root: Path) -> AsyncIterator[Live]:
    port = free_port()
    settings = make_settings(tmp_path / "data", scheme="http", domain=f"127.0.0.1:{port}")
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return bool(server.started)

        await eventually(started, what="uvicorn to start")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT) as http:
            registered = await register(http)
            token = (await password_token(http, registered)).json()["access_token"]
        yield Live(app, port, token)
    finally:
        server.should_exit = True
        await serving


async def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return message


async def subscribe(socket: ClientConnection, stream: str, **extra: str) -> None:
    """Subscribe, and wait until the server has applied it: messages are read in order, so the
    answer to a bad one that follows proves the subscription done."""
    await socket.send(json.dumps({"type": "subscribe", "stream": stream, **extra}))
    await synced(socket)


async def synced(socket: ClientConnection) -> None:
    await socket.send(json.dumps({"type": "sync"}))
    assert await receive(socket) == {"error": "Unknown message type", "status": 400}


def event_of(message: dict[str, Any]) -> tuple[list[str], str, Any]:
    """(stream, event, payload decoded): a delete's payload is the bare id."""
    payload = message["payload"]
    if message["event"] != "delete":
        payload = json.loads(payload)
    return message["stream"], message["event"], payload


async def next_sse(lines: AsyncIterator[str]) -> tuple[str, str]:
    """The next event's name and raw data line, skipping comments."""
    name = ""
    async with asyncio.timeout(WAIT):
        async for line in lines:
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                data = line.removeprefix("data: ")
                assert await anext(lines) == ""  # a blank line ends each event
                return name, data
    raise AssertionError("the stream ended")


async def remote_notification(federation: Federation) -> int:
    """A follow notification from a remote actor, told to the feeds as ingress tells them."""
    async with federation.db.transaction() as conn:
        actor_id = await actor_store.upsert_actor(
            conn,
            RemoteActor(
                ap_id="https://bob.test/users/bob",
                type="Person",
                username="bob",
                domain="bob.test",
                inbox="https://bob.test/users/bob/inbox",
                shared_inbox=None,
                key_id=None,
                public_key_pem=None,
            ),
        )
        notification_id = await notification_store.add(conn, "follow", actor_id)
    await federation.feeds.notification_added(notification_id)
    return notification_id


# --- WebSocket -----------------------------------------------------------------------------------


async def test_a_websocket_takes_the_token_three_ways(live: Live) -> None:
    ways: list[dict[str, Any]] = [
        {"additional_headers": live.bearer()},
        {"path": f"/api/v1/streaming?stream=user&access_token={live.token}"},
        {"subprotocols": [live.token]},
    ]
    for way in ways:
        path = way.pop("path", "/api/v1/streaming?stream=user")
        async with live.socket(path, **way) as socket:
            if "subprotocols" in way:
                assert socket.subprotocol == live.token  # echoed, or a browser would close it
            else:
                assert socket.subprotocol is None
            posted = await statuses.post(live.federation, "Hello, stream")
            stream, event, status = event_of(await receive(socket))
            assert (stream, event) == (["user"], "update")
            assert status["id"] == str(posted.id)
            assert status["content"].startswith("<p>Hello, stream")


async def test_a_bad_token_is_refused_at_the_handshake(live: Live) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with live.socket("/api/v1/streaming?stream=user&access_token=nope"):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body or b"") == {
        "error": "The access token is invalid"
    }
    with pytest.raises(InvalidStatus) as anonymous:
        async with live.socket("/api/v1/streaming?stream=user"):
            pass
    assert anonymous.value.response.status_code == 401
    async with live.socket() as socket:  # no token, no stream yet: only public ones allowed
        await socket.send(json.dumps({"type": "subscribe", "stream": "user"}))
        assert await receive(socket) == {"error": "The access token is invalid", "status": 401}
        await socket.send(json.dumps({"type": "subscribe", "stream": "list", "list": "1"}))
        assert await receive(socket) == {"error": "The access token is invalid", "status": 401}
        await socket.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert await receive(socket) == {"error": "Unknown stream type", "status": 400}
        await socket.send("not json")
        assert await receive(socket) == {"error": "Could not parse message", "status": 400}


async def test_deeply_nested_messages_get_an_error_and_the_stream_lives_on(live: Live) -> None:
    async with live.socket(additional_headers=live.bearer()) as socket:
        for levels in (1000, 50):
            await socket.send("[" * levels + "]" * levels)
            assert await receive(socket) == {"error": "Could not parse message", "status": 400}
        await socket.send('{"type": "subscribe", "stream": "user", "x": ' + "[" * 900 + "]" * 900)
        assert await receive(socket) == {"error": "Could not parse message", "status": 400}
        await subscribe(socket, "public:local")
        posted = await statuses.post(live.federation, "Still here")
        assert event_of(await receive(socket))[2]["id"] == str(posted.id)


async def test_subscribe_and_unsubscribe(live: Live) -> None:
    async with live.socket(additional_headers=live.bearer()) as socket:
        await subscribe(socket, "public:local")
        await subscribe(socket, "hashtag", tag="Cats")
        posted = await statuses.post(live.federation, "Look at my #cats")
        first = event_of(await receive(socket))
        second = event_of(await receive(socket))
        assert {
            (tuple(stream), event, status["id"]) for stream, event, status in (first, second)
        } == {
            (("public:local",), "update", str(posted.id)),
            (("hashtag", "cats"), "update", str(posted.id)),
        }
        await socket.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}))
        await synced(socket)
        await statuses.post(live.federation, "More #cats")
        stream, event, _ = event_of(await receive(socket))
        assert (stream, event) == (["public:local"], "update")
        await synced(socket)  # and nothing on the hashtag stream came before this answer


async def test_every_event_with_its_stream_names(live: Live) -> None:
    federation = live.federation
    path = "/api/v1/streaming?stream=user"
    async with live.socket(path, additional_headers=live.bearer()) as socket:
        await subscribe(socket, "user:notification")
        await subscribe(socket, "public")
        posted = await statuses.post(federation, "First version")
        seen = [event_of(await receive(socket)) for _ in range(2)]
        assert {(tuple(stream), event) for stream, event, _ in seen} == {
            (("user",), "update"),
            (("public",), "update"),
        }
        assert all(status["id"] == str(posted.id) for _, _, status in seen)

        await statuses.edit(federation, posted.id, "Second version")
        seen = [event_of(await receive(socket)) for _ in range(2)]
        assert {(tuple(stream), event) for stream, event, _ in seen} == {
            (("user",), "status.update"),
            (("public",), "status.update"),
        }
        assert all("Second version" in status["content"] for _, _, status in seen)

        notification_id = await remote_notification(federation)
        seen = [event_of(await receive(socket)) for _ in range(2)]
        assert {(tuple(stream), event) for stream, event, _ in seen} == {
            (("user",), "notification"),
            (("user:notification",), "notification"),
        }
        for _, _, notification in seen:
            assert notification["id"] == str(notification_id)
            assert notification["type"] == "follow"
            assert notification["account"]["acct"] == "bob@bob.test"

        await statuses.delete(federation, posted.id)
        seen = [await receive(socket) for _ in range(2)]
        assert {(tuple(m["stream"]), m["event"], m["payload"]) for m in seen} == {
            (("user",), "delete", str(posted.id)),
            (("public",), "delete", str(posted.id)),
        }


async def test_a_followers_only_post_never_reaches_public_streams(live: Live) -> None:
    federation = live.federation
    async with (
        live.socket("/api/v1/streaming?stream=public") as anonymous,
        live.socket("/api/v1/streaming?stream=user", subprotocols=[live.token]) as user,
    ):
        await subscribe(anonymous, "public:local")
        await subscribe(anonymous, "hashtag", tag="secret")
        await subscribe(user, "public")
        private = await statuses.post(federation, "Only my #secret followers", visibility="private")
        unlisted = await statuses.post(federation, "Quietly #secret", visibility="unlisted")
        public = await statuses.post(federation, "Everyone, my #secret is out")
        for _ in range(3):  # the home timeline has all three
            assert event_of(await receive(user))[:2] == (["user"], "update")
        assert event_of(await receive(user))[2]["id"] == str(public.id)
        seen = [event_of(await receive(anonymous)) for _ in range(3)]
        assert {(tuple(stream), status["id"]) for stream, _, status in seen} == {
            (("public",), str(public.id)),
            (("public:local",), str(public.id)),
            (("hashtag", "secret"), str(public.id)),
        }
        await statuses.edit(federation, private.id, "Still only my #secret followers")
        await statuses.delete(federation, private.id)
        await statuses.delete(federation, unlisted.id)
        await synced(anonymous)  # none of that reached the public streams
        assert {private.id, unlisted.id}.isdisjoint(int(status["id"]) for _, _, status in seen)


# --- Server-Sent Events --------------------------------------------------------------------------


async def test_server_sent_events_in_mastodon_format(live: Live) -> None:
    async with (
        live.client() as http,
        http.stream("GET", "/api/v1/streaming/user", headers=live.bearer()) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith(":")  # subscribed from here on
        posted = await statuses.post(live.federation, "Over SSE")
        name, data = await next_sse(lines)
        assert name == "update"
        assert json.loads(data)["id"] == str(posted.id)
        notification_id = await remote_notification(live.federation)
        name, data = await next_sse(lines)
        assert (name, json.loads(data)["id"]) == ("notification", str(notification_id))
        await statuses.delete(live.federation, posted.id)
        assert await next_sse(lines) == ("delete", str(posted.id))

    async def left() -> bool:
        return not live.relay.listeners

    await eventually(left, what="the closed stream to leave the relay")


async def test_public_sse_streams_without_a_token(live: Live) -> None:
    async with live.client() as http:
        for path in ("/api/v1/streaming/public/local", "/api/v1/streaming/hashtag?tag=solo"):
            async with http.stream("GET", path) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                await anext(lines)
                private = await statuses.post(
                    live.federation, "#solo friends", visibility="private"
                )
                posted = await statuses.post(live.federation, "Hello #solo world")
                name, data = await next_sse(lines)
                assert name == "update"
                status = json.loads(data)
                assert status["id"] == str(posted.id) != str(private.id)
                assert status["favourited"] is False


async def test_sse_refusals(live: Live) -> None:
    async with live.client() as http:
        assert (await http.get("/api/v1/streaming/user")).status_code == 401
        bad = await http.get("/api/v1/streaming/user", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert bad.json() == {"error": "The access token is invalid"}
        bad = await http.get("/api/v1/streaming/public", params={"access_token": "nope"})
        assert bad.status_code == 401
        assert (await http.get("/api/v1/streaming/hashtag")).status_code == 422
        assert (await http.get("/api/v1/streaming/list")).status_code == 422  # which list?
        assert (await http.get("/api/v1/streaming/nonsense")).status_code == 404
        health = await http.get("/api/v1/streaming/health")
        assert (health.status_code, health.text) == (200, "OK")


# --- Bounds -------------------------------------------------------------------------------------


async def test_a_slow_consumer_is_dropped_without_hurting_others(live: Live) -> None:
    async with live.socket(
        "/api/v1/streaming?stream=user", additional_headers=live.bearer()
    ) as fast:
        relay = live.relay
        stalled = relay.join(None)  # a listener whose connection never reads
        stalled.streams.add(Stream("public"))
        posted = [
            await statuses.post(live.federation, f"Post {n}") for n in range(relay.queue_size + 5)
        ]
        for status in posted:
            assert event_of(await receive(fast))[2]["id"] == str(status.id)
        assert stalled.dropped
        assert stalled not in relay.listeners
        with pytest.raises(Dropped):
            await stalled.next()


async def test_a_stalled_sse_client_is_let_go(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write the client never takes is given up after SEND_TIMEOUT, and the listener leaves."""
    monkeypatch.setattr(streaming, "SEND_TIMEOUT", 0.05)
    monkeypatch.setattr(streaming, "CLOSE_TIMEOUT", 0.05)
    relay = relay_of_app(live)
    listener = relay.join(None)
    listener.streams.add(Stream("public"))
    sent: list[bytes] = []
    stuck = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if len(sent) >= 2:
            await stuck.wait()  # the client's buffer is full
        sent.append(message.get("body", b""))

    async def receive_nothing() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    response = streaming.EventStream(relay, listener, heartbeat=0.01)
    await asyncio.wait_for(response({"type": "http"}, receive_nothing, send), WAIT)
    assert sent[1] == b":)\n\n"
    assert listener not in relay.listeners


async def test_heartbeats_and_the_end_of_an_sse_stream(live: Live) -> None:
    relay = relay_of_app(live)
    listener = relay.join(None)
    listener.streams.add(Stream("public"))
    sent: list[bytes] = []
    disconnect = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message.get("body", b""))
        if len(sent) == 4:
            disconnect.set()

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    response = streaming.EventStream(relay, listener, heartbeat=0.01)
    await asyncio.wait_for(response({"type": "http"}, receive, send), WAIT)
    assert sent[2:4] == [b":thump\n\n", b":thump\n\n"]
    assert listener not in relay.listeners


async def test_listeners_are_capped_with_room_kept_for_the_user(live: Live) -> None:
    relay = relay_of_app(live)
    held = []
    try:
        with pytest.raises(TooManyRequests):
            while True:  # anonymous readers of public streams, as many as they may
                held.append(relay.join(None))
        assert len(relay.listeners) == relay.max_listeners - USER_RESERVE
        async with live.client() as http:
            refused = await http.get("/api/v1/streaming/public")
            assert refused.status_code == 429
            assert "retry-after" in refused.headers
        with pytest.raises(InvalidStatus) as denied:
            async with live.socket("/api/v1/streaming?stream=public"):
                pass
        assert denied.value.response.status_code == 429
        # The owner's own client still gets its stream, up to the whole cap.
        async with live.socket("/api/v1/streaming?stream=user", additional_headers=live.bearer()):
            assert len(relay.listeners) == relay.max_listeners - USER_RESERVE + 1
            user = caller_of_token(live)
            held.extend(relay.join(user) for _ in range(USER_RESERVE - 1))
            with pytest.raises(TooManyRequests):
                relay.join(user)
    finally:
        for listener in held:
            relay.leave(listener)


def caller_of_token(live: Live) -> Caller:
    token = AccessToken(1, 1, "Test app", None, ("read",), True, 0.0, None)
    return Caller(token)


async def test_a_revoked_token_ends_its_open_streams(live: Live) -> None:
    """Revoking a token (or an app's access) stops the streams opened with it within
    `Relay.recheck` seconds, idle or not; public streams opened without a token go on."""
    relay = relay_of_app(live)
    relay.recheck = 0.05
    async with (
        live.socket("/api/v1/streaming?stream=user", additional_headers=live.bearer()) as socket,
        live.client() as http,
        http.stream("GET", "/api/v1/streaming/user", headers=live.bearer()) as sse,
        live.socket("/api/v1/streaming?stream=public") as anonymous,
    ):
        assert sse.status_code == 200
        await statuses.post(live.federation, "Before")
        assert event_of(await receive(socket))[1] == "update"
        assert event_of(await receive(anonymous))[1] == "update"
        async with live.federation.db.transaction() as conn:
            await conn.execute("UPDATE oauth_tokens SET revoked_at = 1")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        async with asyncio.timeout(WAIT):
            async for _ in sse.aiter_lines():
                pass  # the event stream ends
        await statuses.post(live.federation, "After")
        assert event_of(await receive(anonymous))[1] == "update"


def test_a_listener_queue_is_bounded() -> None:
    listener = Listener(None, queue_size=2)
    message = Message("delete", Stream("public"), "1")
    assert listener.offer(message) and listener.offer(message)
    assert not listener.offer(message)
    assert listener.dropped and not listener.offer(message)


def relay_of_app(live: Live) -> Relay:
    return relay_of(_Connection(live.app))  # type: ignore[arg-type]


@dataclass
class _Connection:
    app: Starlette


async def test_events_for_nobody_render_nothing(live: Live) -> None:
    relay = relay_of_app(live)
    await relay.dispatch(Event("update", "public", {"status_id": 1}))  # no listener: no query
    assert not relay.listeners
