"""The ingress worker applies Likes, Undos and boosts of our posts many to a transaction
(`Database.batch`): each job in its own savepoint, marked done in the same transaction, the
feeds told after the commit."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from solo import jobs, urls
from solo.config import Settings
from solo.db import Database
from solo.federation.ingress import batchable
from solo.ids import IdGenerator
from solo.store import statuses
from solo.store.actors import RemoteActor, upsert_actor
from solo.store.statuses import NewStatus
from tests.fleet import eventually
from tests.processes import SoloProcess

LIKES = 3000


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "batch.db")
    await database.open(create=True)
    await database.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    yield database
    await database.close()


async def numbers(db: Database) -> list[int]:
    return [row[0] for row in await db.fetchall("SELECT n FROM t ORDER BY n")]


async def test_a_batch_commits_once_and_undoes_a_failing_part_alone(db: Database) -> None:
    told: list[str] = []

    async def tell(what: str) -> None:
        told.append(what)

    async with db.batch() as batch:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (1)")
        # Reads inside the batch see what it wrote; readers outside do not, yet.
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 1
        assert db.after_commit("first", lambda: tell("first"))
        mark = batch.mark()
        with pytest.raises(ValueError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (2)")
                assert db.after_commit("second", lambda: tell("second"))
                raise ValueError("this part only")
        batch.forget_since(mark)
        await db.execute("INSERT INTO t VALUES (3)")
        assert await db.write(lambda raw: raw.execute("INSERT INTO t VALUES (4)").rowcount) == 1
        assert db.after_commit("first", lambda: tell("again"))  # one call per key
        assert told == []  # nothing is told before the commit
    assert told == ["first"]
    assert await numbers(db) == [1, 3, 4]
    assert not db.after_commit("outside", lambda: tell("outside"))  # outside: do it now


async def test_a_batch_that_raises_leaves_nothing_and_tells_nothing(db: Database) -> None:
    told: list[str] = []

    async def tell() -> None:
        told.append("told")

    with pytest.raises(RuntimeError):
        async with db.batch():
            await db.execute("INSERT INTO t VALUES (1)")
            db.after_commit("k", tell)
            raise RuntimeError("the batch failed")
    assert await numbers(db) == []
    assert told == []
    await db.execute("INSERT INTO t VALUES (5)")  # the writer is free again
    assert await numbers(db) == [5]


async def test_other_tasks_write_after_the_batch_not_inside_it(db: Database) -> None:
    async def other() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (9)")

    with pytest.raises(RuntimeError):
        async with db.batch():
            await db.execute("INSERT INTO t VALUES (1)")
            writer = asyncio.create_task(other())  # waits for the writer
            await asyncio.sleep(0.05)
            assert not writer.done()
            raise RuntimeError("rolled back without the other task's row")
    await writer
    assert await numbers(db) == [9]


def seed(settings: Settings, port: int, kind: str = "Like") -> None:
    """LIKES remote actors, one local post, and a queued `kind` job (a Like or an Announce of
    the post) from each actor."""

    async def seeded() -> None:
        db = Database(settings.db_path)
        await db.open()
        try:
            status_id = IdGenerator().next()
            note = urls.status(settings, status_id)
            actors = []
            async with db.transaction() as conn:
                await statuses.insert_status(
                    conn,
                    NewStatus(
                        id=status_id, ap_id=note, actor_id=None, visibility="public",
                        content_html="<p>like me</p>", published_at=time.time(),
                    ),
                )  # fmt: skip
                for n in range(LIKES):
                    host = f"h{n}.test:{port}"
                    actor = f"http://{host}/users/fan"
                    await upsert_actor(
                        conn,
                        RemoteActor(
                            ap_id=actor, type="Person", username="fan", domain=host,
                            inbox=f"{actor}/inbox", shared_inbox=None,
                            key_id=f"{actor}#main-key", public_key_pem="unused",
                        ),
                    )  # fmt: skip
                    actors.append(actor)
                payloads = [
                    {
                        "activity": {
                            "@context": "https://www.w3.org/ns/activitystreams",
                            "id": f"{actor}/{kind.lower()}s/1",
                            "type": kind,
                            "actor": actor,
                            "object": note,
                            "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        },
                        "actor": actor,
                    }
                    for actor in actors
                ]
                await jobs.enqueue(conn, "ingress", [(payload, None) for payload in payloads])
        finally:
            await db.close()

    asyncio.run(seeded())


def snapshot(db_path: Path) -> tuple[set[str], set[str], dict[str, int]]:
    """(like ids whose job is done, like ids applied, jobs by state), read from the file."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None) as conn:
        conn.execute("BEGIN")  # one snapshot for every query, while the server writes
        done = {
            row[0]
            for row in conn.execute(
                "SELECT json_extract(payload, '$.activity.id') FROM jobs"
                " WHERE queue = 'ingress' AND state = 'done'"
            )
        }
        applied = [row[0] for row in conn.execute("SELECT ap_id FROM interactions")]
        assert len(applied) == len(set(applied)), "a Like or boost applied twice"
        boosts = conn.execute(
            "SELECT COUNT(*) FROM statuses WHERE reblog_of_id IS NOT NULL"
        ).fetchone()[0]
        kinds = {row[0] for row in conn.execute("SELECT DISTINCT kind FROM interactions")}
        if kinds == {"announce"}:
            assert boosts == len(applied), "a boost without its status row, or twice"
        by_state = dict(
            conn.execute(
                "SELECT state, COUNT(*) FROM jobs WHERE queue = 'ingress' GROUP BY state"
            ).fetchall()
        )
        notified = conn.execute("SELECT COUNT(*) FROM notifications").fetchone()[0]
        assert notified == len(applied), "a notification without its favourite, or twice"
    return done, set(applied), by_state


@pytest.mark.parametrize("kind", ["Like", "Announce"])
async def test_a_crash_mid_batch_leaves_each_job_applied_and_done_or_not_applied_and_queued(
    tmp_path: Path, template_root: Path, kind: str
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        await asyncio.to_thread(seed, alice.settings, alice.port, kind)
        await alice.start()

        async def some_done() -> bool:
            done = snapshot(alice.settings.db_path)[2].get("done", 0)
            return done >= LIKES // 10

        await eventually(some_done, within=60, what="some Likes applied")
        alice.kill()
        done, applied, by_state = snapshot(alice.settings.db_path)
        assert by_state.get("done", 0) < LIKES, "the kill came too late to test anything"
        # Exactly the jobs marked done were applied: none applied and left to run again, none
        # marked done without its effects.
        assert done == applied

        await alice.start()

        async def drained() -> bool:
            return snapshot(alice.settings.db_path)[2] == {"done": LIKES}

        await eventually(drained, within=90, what="the ingress queue to drain")
        done, applied, _ = snapshot(alice.settings.db_path)
        assert len(applied) == LIKES
        assert done == applied


def test_boosts_of_our_posts_are_batched_and_other_boosts_are_not() -> None:
    here = "https://solo.example"

    def job(kind: str, obj: object) -> jobs.Job:
        activity = {"type": kind, "actor": "https://a.example/u", "object": obj}
        return jobs.Job(1, "ingress", {"activity": activity}, None, 0, 0.0)

    ours = f"{here}/users/me/statuses/1"
    assert batchable(job("Like", "https://b.example/n"), here)
    assert batchable(job("Announce", ours), here)
    assert batchable(job("Announce", {"id": ours, "type": "Note"}), here)
    assert batchable(job("Announce", [ours]), here)
    # Anything else may have to be fetched from its origin: applied alone, off the batch.
    assert not batchable(job("Announce", "https://b.example/n"), here)
    assert not batchable(job("Announce", "https://solo.example.evil/n"), here)
    assert not batchable(job("Announce", None), here)
    assert not batchable(job("Create", ours), here)
