"""The durable queue: enqueue in a transaction, claim, settle, recover after a crash."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from solo.db import Database
from solo.jobs import MAX_ATTEMPTS, Job, JobQueue, backoff, enqueue, run_worker
from tests.fleet import eventually


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "jobs.db")
    await database.open(create=True)
    yield database
    await database.close()


async def states(db: Database) -> dict[int, str]:
    rows = await db.fetchall("SELECT id, state FROM jobs ORDER BY id")
    return {row[0]: row[1] for row in rows}


async def test_enqueue_is_part_of_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await enqueue(conn, "push", [({"n": 1}, "a.test")])
            raise RuntimeError("the change failed")
    assert await states(db) == {}
    async with db.transaction() as conn:
        assert await enqueue(conn, "push", [({"n": 1}, "a.test"), ({"n": 2}, "b.test")]) == 2
    assert list((await states(db)).values()) == ["queued", "queued"]


async def test_claim_done_fail_drop(db: Database) -> None:
    queue = JobQueue(db, "push")
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, "a.test") for n in range(3)])
        await enqueue(conn, "ingress", [({"other": True}, None)])
    jobs = await queue.claim(10)
    assert [job.payload["n"] for job in jobs] == [0, 1, 2]
    assert await queue.claim(10) == []  # running jobs are not claimed twice
    await queue.done(jobs[0])
    assert await queue.fail(jobs[1], "HTTP 503", retry_after=3600) is True
    await queue.drop(jobs[2], "HTTP 410")
    await queue.flush()  # acknowledgements are written in batches
    rows = await db.fetchall("SELECT * FROM jobs WHERE queue = 'push' ORDER BY id")
    assert [row["state"] for row in rows] == ["done", "retrying", "dead"]
    assert rows[1]["last_error"] == "HTTP 503"
    assert rows[1]["next_attempt_at"] >= time.time() + 3599  # Retry-After honoured
    assert await queue.counts() == {"done": 1, "retrying": 1, "dead": 1}


async def test_the_last_failure_is_dead(db: Database) -> None:
    queue = JobQueue(db, "push")
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({}, None)])
    (job,) = await queue.claim(1)
    tired = Job(job.id, job.queue, job.payload, job.host, MAX_ATTEMPTS - 1, job.created_at)
    assert await queue.fail(tired, "still down") is False
    assert await states(db) == {job.id: "dead"}


def test_backoff_spans_about_two_days() -> None:
    total = sum(backoff(attempt) for attempt in range(1, MAX_ATTEMPTS))
    assert 1.5 * 86400 < total < 3.5 * 86400
    assert backoff(1) < 60


async def test_claim_skips_busy_hosts(db: Database) -> None:
    queue = JobQueue(db, "push")
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": 1}, "busy.test"), ({"n": 2}, "free.test")])
    jobs = await queue.claim(10, skip_hosts=["busy.test"])
    assert [job.host for job in jobs] == ["free.test"]


async def test_recover_requeues_what_a_crash_left_running(db: Database) -> None:
    queue = JobQueue(db, "ingress")
    async with db.transaction() as conn:
        await enqueue(conn, "ingress", [({"n": 1}, None)])
    await queue.claim(1)
    assert list((await states(db)).values()) == ["running"]
    assert await queue.recover() == 1
    assert list((await states(db)).values()) == ["queued"]


async def test_worker_runs_everything_within_its_limits(db: Database) -> None:
    queue = JobQueue(db, "push")
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, f"h{n % 3}.test") for n in range(30)])
    active: dict[str, int] = {}
    peak_total = 0
    peak_host = 0
    seen: list[int] = []

    async def handle(job: Job) -> None:
        nonlocal peak_total, peak_host
        assert job.host is not None
        active[job.host] = active.get(job.host, 0) + 1
        peak_total = max(peak_total, sum(active.values()))
        peak_host = max(peak_host, active[job.host])
        await asyncio.sleep(0.005)
        active[job.host] -= 1
        seen.append(job.payload["n"])
        await queue.done(job)

    worker = asyncio.create_task(run_worker(queue, handle, concurrency=4, per_host=2))
    for _ in range(400):
        if len(seen) == 30:
            break
        await asyncio.sleep(0.01)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert sorted(seen) == list(range(30))
    assert peak_total <= 4
    assert peak_host <= 2
    assert set((await states(db)).values()) == {"done"}


async def test_a_batch_takes_the_jobs_it_can_and_the_rest_run_one_by_one(db: Database) -> None:
    queue = JobQueue(db, "ingress")
    async with db.transaction() as conn:
        await enqueue(conn, "ingress", [({"n": n}, None) for n in range(250)])
    batches: list[int] = []
    alone: list[int] = []

    async def batch(claimed: list[Job]) -> list[Job]:
        even = [job for job in claimed if job.payload["n"] % 2 == 0]
        async with db.batch():
            for job in even:
                await queue.done(job)  # written in the batch's transaction
        batches.append(len(even))
        return [job for job in claimed if job.payload["n"] % 2]

    async def handle(job: Job) -> None:
        alone.append(job.payload["n"])
        await queue.done(job)

    worker = asyncio.create_task(
        run_worker(queue, handle, concurrency=2, per_host=2, batch=batch, batch_size=50)
    )
    await eventually(lambda: _all_done(db, 250), within=20, what="every job done")
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert sum(batches) == 125
    assert max(batches) <= 25  # at most batch_size claimed at a time, half of them even
    assert sorted(alone) == list(range(1, 250, 2))


async def _all_done(db: Database, count: int) -> bool:
    return await db.fetchval("SELECT COUNT(*) FROM jobs WHERE state = 'done'") == count


async def test_a_handler_bug_becomes_a_retry_not_a_loss(db: Database) -> None:
    queue = JobQueue(db, "ingress")
    async with db.transaction() as conn:
        await enqueue(conn, "ingress", [({"n": 1}, None)])

    async def broken(job: Job) -> None:
        raise KeyError("bug")

    worker = asyncio.create_task(run_worker(queue, broken, concurrency=1, per_host=1))
    for _ in range(200):
        if "retrying" in (await states(db)).values():
            break
        await asyncio.sleep(0.01)
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    row = await db.fetchone("SELECT state, last_error FROM jobs")
    assert row is not None
    assert row["state"] == "retrying"
    assert "KeyError" in row["last_error"]


async def test_the_worker_outlives_a_database_that_refuses_it(db: Database) -> None:
    """The claim fails (SQLite refuses every write, as on a full disk): the worker tries again
    later instead of stopping, and runs the job once the database takes writes again."""
    queue = JobQueue(db, "ingress")
    async with db.transaction() as conn:
        await enqueue(conn, "ingress", [({"n": 1}, None)], at=time.time() + 0.2)
    seen: list[int] = []

    async def handle(job: Job) -> None:
        seen.append(job.payload["n"])
        await queue.done(job)

    worker = asyncio.create_task(run_worker(queue, handle, concurrency=1, per_host=1))
    await asyncio.sleep(0.05)  # recovered, and waiting for the job to fall due
    writer = db._writer
    assert writer is not None
    writer._conn.execute("PRAGMA query_only = 1")  # "attempt to write a readonly database"
    try:
        await asyncio.sleep(0.5)
        assert not worker.done() and seen == []
    finally:
        writer._conn.execute("PRAGMA query_only = 0")

    async def ran() -> bool:
        return seen == [1]

    await eventually(ran, what="the job to run once the database takes writes")
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert await states(db) == {1: "done"}


async def test_acknowledgements_are_written_in_batches(db: Database) -> None:
    queue = JobQueue(db, "push", ack_delay=0.05, ack_batch=3)
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, "a.test") for n in range(4)])
    jobs = await queue.claim(10)
    await queue.done(jobs[0])
    await queue.done(jobs[1])
    assert list((await states(db)).values()) == ["running"] * 4  # not written yet
    await queue.done(jobs[2])  # a full batch is written at once
    assert list((await states(db)).values()) == ["done", "done", "done", "running"]
    await queue.done(jobs[3])
    for _ in range(100):  # ... and a partial one after `ack_delay`
        if (await states(db))[jobs[3].id] == "done":
            break
        await asyncio.sleep(0.01)
    assert set((await states(db)).values()) == {"done"}
    row = await db.fetchone("SELECT attempts, last_error FROM jobs WHERE id = ?", (jobs[3].id,))
    assert row is not None and (row["attempts"], row["last_error"]) == (1, None)


async def test_claiming_ahead_respects_the_per_host_limit(db: Database) -> None:
    queue = JobQueue(db, "push", claim_ahead=50)
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, "busy.test") for n in range(10)])
        await enqueue(conn, "push", [({"n": n}, "calm.test") for n in range(10, 12)])
        await enqueue(conn, "push", [({"n": 12}, None)])
    jobs = await queue.next_jobs(8, per_host=2, running={"busy.test": 1})
    assert [job.host for job in jobs] == ["busy.test", "calm.test", "calm.test", None]
    # Claimed ahead means running in the table, and never more than the host may have.
    rows = await db.fetchall("SELECT host, COUNT(*) FROM jobs WHERE state = 'running' GROUP BY 1")
    assert {row[0]: row[1] for row in rows} == {"busy.test": 1, "calm.test": 2, None: 1}
    # busy.test is full (two running): nothing more for it until one finishes.
    assert await queue.next_jobs(8, per_host=2, running={"busy.test": 2, "calm.test": 2}) == []
    more = await queue.next_jobs(8, per_host=2, running={"calm.test": 2})
    assert [job.host for job in more] == ["busy.test", "busy.test"]


async def test_claimed_ahead_jobs_are_cancelled_with_their_post(db: Database) -> None:
    queue = JobQueue(db, "push", claim_ahead=10)
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, f"h{n}.test") for n in range(4)], ref=7)
    (first,) = await queue.next_jobs(1, per_host=4, running={})
    assert await queue.cancel(7, "deleted") == 3  # the three waiting in memory
    assert await queue.next_jobs(4, per_host=4, running={}) == []
    assert sorted((await states(db)).values()) == ["dead", "dead", "dead", "running"]
    await queue.done(first)
    await queue.close()
    assert (await states(db))[first.id] == "done"


async def test_giving_up_a_host_takes_its_jobs_claimed_ahead_and_no_others(db: Database) -> None:
    queue = JobQueue(db, "push", claim_ahead=10)
    async with db.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, "gone.test") for n in range(3)])
        await enqueue(conn, "push", [({"n": 3}, "kept.test")])
    (first,) = await queue.next_jobs(1, per_host=4, running={})
    assert first.host == "gone.test"
    assert await queue.give_up_host("gone.test", "given up") == 2  # the two waiting in memory
    assert [job.host for job in await queue.next_jobs(4, per_host=4, running={})] == ["kept.test"]
    assert sorted((await states(db)).values()) == ["dead", "dead", "running", "running"]
    with pytest.raises(ValueError, match="cannot be given up by"):
        await queue._give_up("payload", "x", "no")  # type: ignore[arg-type]


async def _all_seen(seen: list[int]) -> bool:
    return len(seen) >= 6


async def test_a_crash_before_the_acknowledgements_are_written_runs_the_jobs_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.db"
    first = Database(path)
    await first.open(create=True)
    async with first.transaction() as conn:
        await enqueue(conn, "push", [({"n": n}, f"h{n}.test") for n in range(6)])
    queue = JobQueue(first, "push", ack_delay=3600)
    seen: list[int] = []

    async def handle(job: Job) -> None:
        seen.append(job.payload["n"])
        await queue.done(job)

    worker = asyncio.create_task(run_worker(queue, handle, concurrency=2, per_host=1))
    await eventually(lambda: _all_seen(seen), what="the six jobs")
    assert sorted(seen) == list(range(6))
    # The crash: the database goes away with the acknowledgements still in memory.
    await first.close()
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)

    again = Database(path)
    await again.open()
    try:
        assert set((await states(again)).values()) == {"running"}
        queue = JobQueue(again, "push")
        seen.clear()
        worker = asyncio.create_task(run_worker(queue, handle, concurrency=4, per_host=1))
        await eventually(lambda: _all_seen(seen), what="the six jobs again")
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        assert sorted(seen) == list(range(6))  # every job ran again: at least once
        assert set((await states(again)).values()) == {"done"}
    finally:
        await again.close()
