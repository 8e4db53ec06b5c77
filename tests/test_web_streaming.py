"""`/streaming`: Server-Sent Events over a real socket (httpx's ASGI transport would buffer the
endless body), and the event generator itself for what a socket makes slow to see."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn

from solo.actions import statuses
from solo.app import create_app
from solo.config import Settings
from solo.events import Event, EventBus
from solo.federation.context import Federation
from solo.store import notifications as notification_store
from solo.web.streaming import encode, event_stream
from tests.conftest import initialise_fast, make_settings
from tests.fleet import eventually
from tests.processes import free_port
from tests.test_login import csrf_from, login


async def next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, object]]:
    """The next `event:` and its `data:`, skipping comments and the retry hint."""
    kind = ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            return kind, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


@asynccontextmanager
async def serving(tmp_path: Path, template_root: Path) -> AsyncIterator[tuple[Federation, str]]:
    """Solo (as http://solo.test) served by uvicorn on a free port of 127.0.0.1, started and
    stopped around the block: its federation and the URL to reach it by."""
    port = free_port()
    settings = make_settings(tmp_path / "data", scheme="http", domain="solo.test")
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server), what="uvicorn to start")
        yield app.state.federation, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


async def test_new_posts_and_notifications_arrive_on_the_stream(
    tmp_path: Path, template_root: Path
) -> None:
    async with (
        serving(tmp_path, template_root) as (federation, url),
        httpx.AsyncClient(base_url=url, headers={"Host": "solo.test"}, timeout=10) as browser,
    ):
        assert (await browser.get("/streaming")).status_code == 401  # not logged in yet
        assert (await login(browser)).status_code == 303
        async with browser.stream("GET", "/streaming?timeline=home") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            lines = response.aiter_lines()
            assert await anext(lines) == "retry: 3000"  # subscribed from here on
            assert federation.events.subscriber_count == 1
            posted = await statuses.post(federation, "Live from the stream")
            assert await next_event(lines) == ("update", {"id": str(posted.id)})
            card = await browser.get(f"/fragments/status/{posted.id}")
            assert "Live from the stream" in card.text
            federation.feeds.unread = 2
            async with federation.db.transaction() as conn:
                ended = await notification_store.add(conn, "poll", None, posted.id)
            await federation.feeds.notification_added(ended)
            assert await next_event(lines) == ("notification", {"unread": 3})
            await statuses.delete(federation, posted.id)
            assert await next_event(lines) == ("delete", {"id": str(posted.id)})

        async def unsubscribed() -> bool:
            return federation.events.subscriber_count == 0

        await eventually(unsubscribed, what="the closed stream to unsubscribe")


async def test_heartbeats_keep_an_idle_stream_open() -> None:
    bus = EventBus()
    stream = event_stream(bus, "public", heartbeat=0.01)
    assert (await anext(stream)).startswith("retry: ")
    assert bus.subscriber_count == 1
    assert await anext(stream) == ": heartbeat\n\n"
    bus.publish(Event("update", "user", {"status_id": 1}))  # home: not for this page
    bus.publish(Event("update", "public", {"status_id": 2}))
    assert await anext(stream) == 'event: update\ndata: {"id": "2"}\n\n'
    await stream.aclose()
    assert bus.subscriber_count == 0


def test_each_page_gets_its_own_timeline_and_everything_else() -> None:
    home = Event("update", "user", {"status_id": 7})
    assert encode(home, "user") == 'event: update\ndata: {"id": "7"}\n\n'
    assert encode(home, "public:local") is None
    assert encode(home, None) is None
    count = Event("notification", "user", {"id": 1, "unread": 4})
    assert encode(count, None) == 'event: notification\ndata: {"unread": 4}\n\n'
    assert encode(Event("status.update", "user", {"status_id": 9}), "public") is not None
    assert encode(Event("filters_changed", "user"), "user") is None


async def test_too_many_streams_are_refused(settings: Settings, template_root: Path) -> None:
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        federation: Federation = app.state.federation
        queues = [federation.events.subscribe() for _ in range(32)]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url
        ) as client:
            await login(client)
            response = await client.get("/streaming")
            assert response.status_code == 429
        for queue in queues:
            federation.events.unsubscribe(queue)


async def test_a_stream_ends_when_its_login_does(tmp_path: Path, template_root: Path) -> None:
    """Logging out (here, from another browser: "log out everywhere") ends the pages' open
    streams at once, not at their next reload."""
    async with serving(tmp_path, template_root) as (federation, url):
        host = {"Host": "solo.test"}
        async with (
            httpx.AsyncClient(base_url=url, headers=host, timeout=10) as reader,
            httpx.AsyncClient(base_url=url, headers=host, timeout=10) as other,
        ):
            assert (await login(reader)).status_code == 303
            assert (await login(other)).status_code == 303
            async with reader.stream("GET", "/streaming?timeline=home") as response:
                lines = response.aiter_lines()
                assert await anext(lines) == "retry: 3000"
                token = csrf_from((await other.get("/settings")).text)
                ended = await other.post("/settings/sessions/end", data={"csrf": token})
                assert ended.status_code == 303
                async with asyncio.timeout(5):  # far less than a heartbeat
                    rest = [line async for line in lines]
                assert not any(line.startswith("event: ") for line in rest), rest

            async def unsubscribed() -> bool:
                return federation.events.subscriber_count == 0

            await eventually(unsubscribed, what="the ended stream to unsubscribe")
            assert (await reader.get("/streaming")).status_code == 401


async def test_a_stream_checks_its_login_at_each_heartbeat() -> None:
    bus = EventBus()
    live = [True]

    async def alive() -> bool:
        return live[0]

    stream = event_stream(bus, "public", heartbeat=0.01, alive=alive)
    assert (await anext(stream)).startswith("retry:")
    assert await anext(stream) == ": heartbeat\n\n"
    live[0] = False  # the password changed from the command line, say
    assert [chunk async for chunk in stream] == []
    assert bus.subscriber_count == 0
