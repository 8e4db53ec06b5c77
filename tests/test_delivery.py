"""The push side: delivery policy per answer, retries, unavailable hosts, recovery."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.cli import main
from solo.federation.delivery import enqueue_delivery, retry_after_seconds
from solo.federation.signatures import prepare, verify
from solo.store import hosts
from solo.store.actors import RemoteActor, upsert_actor
from solo.store.follows import follower_inboxes, put_follow
from tests.fleet import Node, eventually, fleet_of


class FakeServer:
    """A remote server whose inbox answers what the test says, and checks our signature."""

    def __init__(self, alice: Node) -> None:
        self.alice = alice
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.received: list[dict[str, object]] = []
        self.app = Starlette(routes=[Route("/inbox", self.inbox, methods=["POST"])])

    async def inbox(self, request: Request) -> Response:
        body = await request.body()
        prepared = prepare(
            "POST", "/inbox", request.headers.items(), body, now=time.time(),
            expected_host="remote.test",
        )  # fmt: skip
        verify(prepared, self.alice.app.state.instance.user_keys.public_pem)
        self.received.append(json.loads(body))
        status, headers = self.answers.pop(0) if self.answers else (202, {})
        return Response(status_code=status, headers=headers)


async def add_follower(node: Node, name: str = "r1") -> None:
    actor = RemoteActor(
        ap_id=f"https://remote.test/users/{name}",
        type="Person",
        username=name,
        domain="remote.test",
        inbox=f"https://remote.test/users/{name}/inbox",
        shared_inbox="https://remote.test/inbox",
        key_id=f"https://remote.test/users/{name}#main-key",
        public_key_pem=None,
    )
    async with node.federation.db.transaction() as conn:
        actor_id = await upsert_actor(conn, actor)
        await put_follow(conn, "in", actor_id, f"https://remote.test/follows/{name}", "accepted")


async def deliver_note(node: Node, n: int = 1) -> None:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{node.actor}/statuses/{n}/activity",
        "type": "Create",
        "actor": node.actor,
        "object": {"id": f"{node.actor}/statuses/{n}", "type": "Note", "content": "hi"},
    }
    inboxes = await follower_inboxes(node.federation.db)
    async with node.federation.db.transaction() as conn:
        await enqueue_delivery(conn, activity, inboxes)
    node.federation.push.wake.set()


async def job(node: Node) -> dict[str, object]:
    row = await node.federation.db.fetchone("SELECT * FROM jobs WHERE queue = 'push'")
    assert row is not None
    return dict(row)


async def settled(node: Node, *states: str) -> dict[str, object]:
    async def check() -> bool:
        return (await job(node))["state"] in states

    await eventually(check, what=f"the delivery to be {' or '.join(states)}")
    return await job(node)


async def test_one_delivery_per_server_signed_and_accepted(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(alice)
        fleet.add("remote.test", server.app)
        for name in ("r1", "r2", "r3"):
            await add_follower(alice, name)
        await deliver_note(alice)
        row = await settled(alice, "done")
        assert row["last_error"] is None
        assert len(server.received) == 1  # three followers, one shared inbox
        assert server.received[0]["type"] == "Create"
        assert await hosts.is_unavailable(alice.federation.db, "remote.test") is False


@pytest.mark.parametrize(
    ("status", "headers", "state"),
    [
        (410, {}, "dead"),
        (404, {}, "dead"),
        (400, {}, "dead"),
        (501, {}, "dead"),
        (401, {}, "retrying"),
        (408, {}, "retrying"),
        (429, {"Retry-After": "3600"}, "retrying"),
        (500, {}, "retrying"),
        (503, {"Retry-After": "7200"}, "retrying"),
    ],
)
async def test_policy_per_answer(
    tmp_path: Path, template_root: Path, status: int, headers: dict[str, str], state: str
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(alice)
        server.answers.append((status, headers))
        fleet.add("remote.test", server.app)
        await add_follower(alice)
        await deliver_note(alice)
        row = await settled(alice, "dead", "retrying")
        assert row["state"] == state
        assert f"HTTP {status}" in str(row["last_error"])
        if "Retry-After" in headers:
            wait = float(row["next_attempt_at"]) - time.time()  # type: ignore[arg-type]
            assert wait > int(headers["Retry-After"]) - 5


async def test_a_server_down_gets_its_delivery_when_back(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(alice)
        fleet.add("remote.test", server.app)
        fleet.down.add("remote.test")
        await add_follower(alice)
        await deliver_note(alice)
        row = await settled(alice, "retrying")
        assert "unreachable" in str(row["last_error"])
        assert server.received == []
        db = alice.federation.db
        assert await db.fetchval("SELECT failure_days FROM hosts WHERE domain = 'remote.test'") == 1
        # The server comes back; time passes until the retry is due.
        fleet.down.discard("remote.test")
        await db.execute("UPDATE jobs SET next_attempt_at = ?", (time.time(),))
        alice.federation.push.wake.set()
        await settled(alice, "done")
        assert len(server.received) == 1
        assert await db.fetchval("SELECT failure_days FROM hosts WHERE domain = 'remote.test'") == 0


async def test_seven_failure_days_make_a_host_unavailable_until_heard_from(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        await add_follower(alice)
        day = 86400.0
        start = time.time() - 10 * day
        for n in range(6):
            assert await hosts.record_failure(db, "remote.test", now=start + n * day) is False
            # A second failure on the same day does not count twice.
            assert await hosts.record_failure(db, "remote.test", now=start + n * day + 60) is False
        assert await follower_inboxes(db) == [("https://remote.test/inbox", "remote.test")]
        assert await hosts.record_failure(db, "remote.test", now=start + 6 * day) is True
        assert await follower_inboxes(db) == []  # skipped at fan-out
        await hosts.heard_from(db, "remote.test")  # a signed request from it arrived
        assert await hosts.is_unavailable(db, "remote.test") is False
        assert await follower_inboxes(db) == [("https://remote.test/inbox", "remote.test")]


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Tue, 14 Nov 2023 23:13:20 GMT", now=now) == pytest.approx(3600)
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_solo_queue_shows_counts_and_hosts(
    tmp_path: Path, template_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        fleet.down.add("remote.test")
        await add_follower(alice)
        await deliver_note(alice)
        await settled(alice, "retrying")
        data_dir = alice.settings.data_dir
    # The command runs its own event loop: call it from a thread of its own.

    code = await asyncio.to_thread(main, ["--data-dir", str(data_dir), "queue"])
    out = capsys.readouterr().out
    assert code == 0
    assert "push     queued 0, running 0, retrying 1, done 0, dead 0" in out
    assert "remote.test" in out and "unreachable" in out
