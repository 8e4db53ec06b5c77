"""A post's fan-out is queued by the database: one push job per distinct inbox of the followers'
servers (shared inbox preferred), the named inboxes first, nothing for a blocked domain, a
server marked unavailable, a pending follow or a deleted account."""

from __future__ import annotations

import json
from pathlib import Path

import aiosqlite
from starlette.applications import Starlette

from solo.actions import statuses
from solo.config import Settings
from solo.db import Database
from solo.federation.audience import FOLLOWERS
from solo.federation.delivery import INSTANCE_SIGNER, enqueue_recorded, record_activity
from solo.jobs import job_row
from solo.store import domain_blocks
from solo.store.actors import RemoteActor, upsert_actor
from solo.store.follows import put_follow
from tests.conftest import initialise_fast

# (username, domain, shared inbox or None, follow state or None): who is here.
PEOPLE = [
    ("a1", "a.example", "https://a.example/inbox", "accepted"),
    ("a2", "a.example", "https://a.example/inbox", "accepted"),
    ("a3", "a.example", "https://a.example/inbox", "accepted"),
    ("b1", "b.example", None, "accepted"),  # no shared inbox: each its own
    ("b2", "b.example", None, "accepted"),
    ("c1", "c.example", "", "accepted"),  # an empty shared inbox is none
    ("k1", "k.example:8443", "https://k.example:8443/inbox", "accepted"),
    ("o1", "o.example", "https://shared.example/inbox", "accepted"),  # shared elsewhere
    ("x1", "blocked.example", "https://blocked.example/inbox", "accepted"),
    ("x2", "sub.blocked.example", "https://sub.blocked.example/inbox", "accepted"),
    ("x3", "p.example", "https://relay.blocked.example/inbox", "accepted"),  # inbox blocked
    ("x4", "q.example", "https://q.example/inbox", "pending"),
    ("x5", "d.example", "https://d.example/inbox", "accepted"),  # account deleted
    ("x6", "u.example", "https://u.example/inbox", "accepted"),  # server unavailable
    ("m1", "m.example", "https://m.example/inbox", None),  # mentioned, not a follower
]
FOLLOWER_INBOXES = {
    "https://a.example/inbox": "a.example",
    "https://b.example/users/b1/inbox": "b.example",
    "https://b.example/users/b2/inbox": "b.example",
    "https://c.example/users/c1/inbox": "c.example",
    "https://k.example:8443/inbox": "k.example:8443",
    "https://shared.example/inbox": "o.example",
}


def actor(username: str, domain: str, shared: str | None) -> RemoteActor:
    ap_id = f"https://{domain}/users/{username}"
    return RemoteActor(
        ap_id=ap_id,
        type="Person",
        username=username,
        domain=domain,
        inbox=f"{ap_id}/inbox",
        shared_inbox=shared,
        key_id=f"{ap_id}#main-key",
        public_key_pem=None,
    )


async def seed(conn: aiosqlite.Connection) -> None:
    # One block before the accounts are stored, one after: both cover their accounts.
    await domain_blocks.add(conn, [("sub.blocked.example", "")])
    for username, domain, shared, state in PEOPLE:
        actor_id = await upsert_actor(conn, actor(username, domain, shared))
        if state is not None:
            follow = f"https://{domain}/follows/{username}"
            await put_follow(conn, "in", actor_id, follow, state)
    await domain_blocks.add(conn, [("blocked.example", "")])
    await conn.execute("UPDATE actors SET deleted_at = 1 WHERE domain = 'd.example'")
    await conn.execute("INSERT INTO hosts (domain, unavailable) VALUES ('u.example', 1)")
    # A server we follow that does not follow us gets nothing either.
    ours = await upsert_actor(conn, actor("f1", "f.example", "https://f.example/inbox"))
    await put_follow(conn, "out", ours, "https://solo.test/follows/1", "accepted")


async def push_jobs(db: Database) -> list[tuple[dict[str, str], str, int]]:
    rows = await db.fetchall("SELECT payload, host, ref FROM jobs WHERE queue = 'push' ORDER BY id")
    return [(json.loads(row[0]), row[1], row[2]) for row in rows]


async def test_a_post_queues_one_job_per_distinct_inbox_and_none_to_a_blocked_domain(
    app: Starlette,
) -> None:
    federation = app.state.federation
    db = federation.db
    async with db.transaction() as conn:
        await seed(conn)
    # A follower mentioned is served by its server's one job; the mention alone gets one too.
    status = await statuses.post(federation, "Hello @m1@m.example and @a2@a.example")
    ref = await db.fetchval(
        "SELECT id FROM activities WHERE object_ap_id = ? AND type = 'Create'", (status.ap_id,)
    )
    jobs = await push_jobs(db)
    assert {ref for _, _, ref in jobs} == {ref}
    assert all(set(payload) == {"inbox"} for payload, _, _ in jobs)
    inboxes = [payload["inbox"] for payload, _, _ in jobs]
    assert len(inboxes) == len(set(inboxes))  # one job per distinct inbox
    # The mentioned come first, then every follower's server.
    assert {payload["inbox"]: host for payload, host, _ in jobs[:2]} == {
        "https://m.example/inbox": "m.example",
        "https://a.example/inbox": "a.example",
    }
    assert {payload["inbox"]: host for payload, host, _ in jobs} == {
        "https://m.example/inbox": "m.example",
        **FOLLOWER_INBOXES,
    }


async def test_the_followers_jobs_have_the_payload_the_deliverer_reads(
    settings: Settings, template_root: Path
) -> None:
    await initialise_fast(settings, template_root)
    db = Database(settings.db_path)
    await db.open()
    try:
        async with db.transaction() as conn:
            await seed(conn)
            activity = {"id": "https://solo.test/flag/1", "type": "Flag"}
            ref = await record_activity(conn, activity)
            queued = await enqueue_recorded(conn, ref, FOLLOWERS, as_instance=True)
            plain = await record_activity(conn, {"id": "https://solo.test/u/1", "type": "Update"})
            await enqueue_recorded(
                conn, plain, FOLLOWERS.plus([("https://m.example/inbox", "m.example")])
            )
        assert queued == len(FOLLOWER_INBOXES)
        jobs = await push_jobs(db)
        signed = {payload["inbox"]: (payload, host) for payload, host, job in jobs if job == ref}
        assert signed == {
            inbox: ({"inbox": inbox, "signer": INSTANCE_SIGNER}, host)
            for inbox, host in FOLLOWER_INBOXES.items()
        }
        # Byte for byte what `enqueue` writes for the same job.
        rows = await db.fetchall(
            "SELECT payload, host FROM jobs WHERE ref = ? ORDER BY id", (plain,)
        )
        for payload, host in rows:
            expected = job_row("push", json.loads(payload), host=host, now=0.0)
            assert (payload, host) == expected[1:3]
        assert len(rows) == len(FOLLOWER_INBOXES) + 1
    finally:
        await db.close()
