"""Nothing lost: SIGKILL in the middle of a fan-out and of an ingress burst, then restart."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from solo.db import Database
from solo.store.actors import RemoteActor, upsert_actor
from solo.store.follows import put_follow
from tests.fleet import eventually
from tests.processes import SoloProcess, submit
from tests.remote import RemoteServers, post_all, remote_servers

HOSTS = 150
LIKES = 200


def rows(node: SoloProcess, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql, params))


async def add_followers(node: SoloProcess, remote: RemoteServers, count: int) -> None:
    db = Database(node.settings.db_path)
    await db.open()
    try:
        async with db.transaction() as conn:
            for n in range(count):
                host = remote.host(n)
                actor = remote.actor_id(host, "u")
                row = RemoteActor(
                    ap_id=actor,
                    type="Person",
                    username="u",
                    domain=host,
                    inbox=f"{actor}/inbox",
                    shared_inbox=f"http://{host}/inbox",
                    key_id=f"{actor}#main-key",
                    public_key_pem=remote.public_pem,
                )
                actor_id = await upsert_actor(conn, row)
                await put_follow(conn, "in", actor_id, f"{actor}#follow", "accepted")
    finally:
        await db.close()


async def test_fan_out_survives_sigkill(tmp_path: Path, template_root: Path) -> None:
    async with (
        remote_servers(inbox_delay=0.2) as remote,
        SoloProcess("alice", tmp_path) as alice,
    ):
        await alice.initialise(template_root)
        await add_followers(alice, remote, HOSTS)
        await alice.start()
        async with alice.logged_in() as browser:
            response = await submit(browser, "/", "/statuses", text="To every server I know")
            assert response.status_code == 303

        async def some_delivered() -> bool:
            return len(remote.received) >= 20

        await eventually(some_delivered, within=20, what="the fan-out to start")
        alice.kill()
        delivered_before_kill = len(remote.received)
        assert delivered_before_kill < HOSTS, "the kill came too late to test anything"
        await asyncio.sleep(0.5)  # requests in flight at the kill finish or fail
        await alice.start()

        async def all_delivered() -> bool:
            return len(remote.received) == HOSTS

        await eventually(all_delivered, within=60, what="every server to get the post")
        assert {body["type"] for body in remote.bodies} == {"Create"}

        async def all_done() -> bool:
            # Deliveries in flight at the kill may have arrived and still be sent again.
            states = dict(rows(alice, "SELECT state, COUNT(*) FROM jobs GROUP BY state"))
            return states == {"done": HOSTS}

        await eventually(all_done, within=30, what="every delivery job to be done")


async def test_ingress_burst_survives_sigkill(tmp_path: Path, template_root: Path) -> None:
    async with remote_servers() as remote, SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        await alice.start()
        async with alice.logged_in() as browser:
            await submit(browser, "/", "/statuses", text="Like me")
        (status_ap_id,) = rows(alice, "SELECT ap_id FROM statuses")[0]
        inbox = f"http://127.0.0.1:{alice.port}/inbox"
        requests = []
        for n in range(LIKES):
            host = remote.host(n)
            actor = remote.actor_id(host, "fan")
            like = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor}#likes/1",
                "type": "Like",
                "actor": actor,
                "object": status_ap_id,
            }
            body, headers = remote.signed_post(
                actor, f"http://{alice.domain}/inbox", like, alice.domain
            )
            requests.append((inbox, body, headers))

        async def killer() -> None:
            accepted = 0
            while accepted < LIKES // 3:
                await asyncio.sleep(0.01)
                accepted = len(rows(alice, "SELECT 1 FROM jobs WHERE queue = 'ingress'"))
            alice.kill()

        kill = asyncio.create_task(killer())
        first = await post_all(requests, concurrency=8)
        await kill
        accepted = [i for i, status in enumerate(first) if status == 202]
        # The killer counts rows, which are written before their 202 goes out: the answers
        # received may trail the rows by a few requests in flight.
        assert LIKES // 4 <= len(accepted) < LIKES, "the kill came too late to test anything"
        assert all(status in (202, None) for status in first)

        # Restarted, the server is sent what it did not accept, as real servers retry.
        await alice.start()
        retried = [requests[i] for i, status in enumerate(first) if status != 202]
        assert all(status == 202 for status in await post_all(retried, concurrency=8))

        async def drained() -> bool:
            pending = rows(
                alice,
                "SELECT COUNT(*) FROM jobs WHERE queue = 'ingress'"
                " AND state IN ('queued', 'running', 'retrying')",
            )
            return pending == [(0,)]

        await eventually(drained, within=60, what="the ingress queue to drain")
        # Nothing given up: a job committed without its signer's row was dropped as "gone".
        assert rows(alice, "SELECT last_error FROM jobs WHERE state = 'dead'") == []
        assert rows(alice, "SELECT COUNT(DISTINCT ap_id), COUNT(*) FROM interactions") == [
            (LIKES, LIKES)
        ]
        assert rows(alice, "SELECT COUNT(*) FROM notifications WHERE type = 'favourite'") == [
            (LIKES,)
        ]
        assert rows(
            alice, "SELECT state, COUNT(*) FROM jobs WHERE queue = 'ingress' GROUP BY state"
        ) == [("done", LIKES)]
