"""Key fetches (made inside inbox requests, for senders not yet verified) have their own
connections and bounded slots: servers whose keyIds drip one byte at a time cannot starve the
other fetches, and a fetch refused for want of a slot says which limit was full. The user's own
requests have connections of their own too, which background work cannot fill."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from solo.edge.sessions import ACCOUNT, OwnRequests
from solo.net import fetch as fetch_module
from solo.net.fetch import Fetcher, FetchTimeout, Limits, user_action
from tests.test_fetch import Peer, make_settings, peer_app, serve

LIMITS = Limits(deadline=3.0, key_fetches=4, key_fetches_per_host=2, key_slot_wait=0.3)


@pytest.fixture
async def dripping() -> AsyncIterator[Peer]:
    """A real server on 127.0.0.1 whose /trickle sends one byte every 0.1 s for 30 s."""
    remote = Peer()
    async with serve(peer_app(remote)) as port:
        remote.port = port
        yield remote


async def outcome(fetch: asyncio.Task[object]) -> str:
    try:
        await fetch
    except FetchTimeout as error:
        return str(error)
    return "answered"


async def test_dripping_key_servers_are_bounded_and_others_go_on(
    tmp_path: Path, dripping: Peer
) -> None:
    async with Fetcher(make_settings(tmp_path), limits=LIMITS) as fetcher:
        started = time.monotonic()
        drips = [
            asyncio.create_task(
                fetcher.get_activity(
                    dripping.url("/trickle", f"drip{n % 3}.test"), auth=None, for_key=True
                )
            )
            for n in range(9)
        ]
        await asyncio.sleep(0.1)
        # The shared connections are untouched by the key fetches: media, cards, search…
        note = await fetcher.get_activity(dripping.url("/note", "good.test"), auth=None)
        assert note["id"] == dripping.url("/note", "good.test")
        assert time.monotonic() - started < 2.5
        # Every key slot is taken (two dripping hosts, two each): a new key fetch is refused
        # once the wait is over, saying which limit was full.
        with pytest.raises(FetchTimeout, match="limit for all hosts"):
            await fetcher.get_activity(dripping.url("/note", "good.test"), auth=None, for_key=True)
        outcomes = [await outcome(drip) for drip in drips]
        assert time.monotonic() - started < 8.0

    per_host = [text for text in outcomes if "per-host limit" in text]
    all_hosts = [text for text in outcomes if "limit for all hosts" in text]
    timed_out = [text for text in outcomes if "did not answer within the time limits" in text]
    # 3 hosts × 3 fetches: one of each host's waits on its host's two slots; of the six that
    # got one, two find the four global slots taken; four drip until the deadline.
    assert (len(per_host), len(all_hosts), len(timed_out)) == (3, 2, 4), outcomes


async def test_the_users_own_fetches_have_connections_of_their_own(
    tmp_path: Path, dripping: Peer
) -> None:
    limits = Limits(deadline=3.0, connect=0.5, connections=2, user_connections=2)
    async with Fetcher(make_settings(tmp_path), limits=limits) as fetcher:
        # Background work (backfill, cards, deliveries) holds every shared connection.
        drips = [
            asyncio.create_task(
                fetcher.get_activity(dripping.url("/trickle", f"slow{n}.test"), auth=None)
            )
            for n in range(2)
        ]
        await asyncio.sleep(0.2)
        good = dripping.url("/note", "good.test")
        with pytest.raises(FetchTimeout, match="no connection of the shared pool came free"):
            await fetcher.get_activity(good, auth=None)
        started = time.monotonic()
        with user_action():
            note = await fetcher.get_activity(good, auth=None)
        assert note["id"] == good
        assert time.monotonic() - started < 1.0
        outcomes = [await outcome(drip) for drip in drips]
    assert all("the total deadline" in text for text in outcomes), outcomes


async def test_the_users_requests_run_as_user_actions(tmp_path: Path) -> None:
    """Through the real app: a logged-in page and an API call with a token are the user's
    actions; an anonymous page and the inbox are not."""
    seen: dict[str, bool] = {}

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        seen[scope["path"]] = fetch_module._USER_ACTION.get()
        await PlainTextResponse("ok")(scope, receive, send)

    app = OwnRequests(probe)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    for path, scope_extra in (
        ("/home", {ACCOUNT: object()}),
        ("/api/v1/timelines/home", {"headers": [(b"authorization", b"Bearer abc")]}),
        ("/@alice", {ACCOUNT: None}),
        ("/inbox", {}),
    ):
        scope: Scope = {"type": "http", "method": "GET", "path": path, "headers": [], **scope_extra}
        await app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200] * 4
    assert seen == {
        "/home": True,
        "/api/v1/timelines/home": True,
        "/@alice": False,
        "/inbox": False,
    }


async def test_a_key_fetch_has_a_shorter_deadline_than_other_fetches(
    tmp_path: Path, dripping: Peer
) -> None:
    """A key document that drips holds a key slot (and its sender) `key_deadline` at most."""
    limits = Limits(deadline=2.0, key_deadline=0.5)
    async with Fetcher(make_settings(tmp_path), limits=limits) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match=r"took over 0\.5 s \(the total deadline\)"):
            await fetcher.get_activity(
                dripping.url("/trickle", "slow.test"), auth=None, for_key=True
            )
        assert time.monotonic() - started < 1.5
        with pytest.raises(FetchTimeout, match=r"took over 2 s \(the total deadline\)"):
            await fetcher.get_activity(dripping.url("/trickle", "slow.test"), auth=None)
        assert time.monotonic() - started > 2.0
