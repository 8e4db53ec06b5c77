"""The durable job queue: rows in SQLite are the truth, an asyncio.Event only wakes workers.

A job is enqueued inside the transaction of the change that causes it, so a crash either loses
both or neither. States: queued → running → done, or → retrying (with `next_attempt_at`) →
running … → dead after the last attempt. At start-up, rows left `running` by a crash are put back
to `queued`: every job runs at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from solo.db import Database

MAX_ATTEMPTS = 16
STATES = ("queued", "running", "retrying", "done", "dead")
DONE_KEPT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Job:
    id: int
    queue: str
    payload: dict[str, Any]
    host: str | None
    attempts: int
    created_at: float
    ref: int | None = None


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: about 2–3 days over 16 tries.

    The shape Mastodon's delivery worker uses (attempts⁴ + 15 s) with jitter, so that many jobs
    failing together do not come back together.
    """
    return float(attempts**4 + 15 + random.uniform(0, 10 * (attempts + 1)))


async def enqueue(
    conn: aiosqlite.Connection,
    queue: str,
    items: Iterable[tuple[dict[str, Any], str | None]],
    *,
    at: float | None = None,
    ref: int | None = None,
) -> int:
    """Add jobs (payload, host) inside the caller's transaction; returns how many.

    `ref` ties the jobs to a row (a push job to the activity it delivers) so that they can be
    cancelled together.
    """
    now = time.time()
    rows = [
        (queue, json.dumps(payload, separators=(",", ":")), host, ref, at or now, now, now)
        for payload, host in items
    ]
    await conn.executemany(
        "INSERT INTO jobs (queue, payload, host, ref, next_attempt_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


class JobQueue:
    """One named queue over the jobs table."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.wake = asyncio.Event()

    async def recover(self) -> int:
        """Put jobs a crash left running back in the queue; returns how many."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET state = 'queued', updated_at = ?"
                " WHERE queue = ? AND state = 'running'",
                (time.time(), self.name),
            )
            return cursor.rowcount

    async def claim(self, limit: int, skip_hosts: Iterable[str] = ()) -> list[Job]:
        """Mark up to `limit` due jobs running and return them, oldest due first."""
        now = time.time()
        skipped = list(skip_hosts)
        placeholders = ",".join("?" * len(skipped))
        host_filter = f" AND (host IS NULL OR host NOT IN ({placeholders}))" if skipped else ""
        async with self.db.transaction() as conn:
            sql = (
                "SELECT id, payload, host, attempts, created_at, ref FROM jobs"
                " WHERE queue = ? AND state IN ('queued', 'retrying') AND next_attempt_at <= ?"
                f"{host_filter} ORDER BY next_attempt_at, id LIMIT ?"
            )
            cursor = await conn.execute(sql, (self.name, now, *skipped, limit))
            rows = list(await cursor.fetchall())
            if not rows:
                return []
            await conn.executemany(
                "UPDATE jobs SET state = 'running', updated_at = ? WHERE id = ?",
                [(now, row["id"]) for row in rows],
            )
        return [
            Job(
                id=row["id"],
                queue=self.name,
                payload=json.loads(row["payload"]),
                host=row["host"],
                attempts=row["attempts"],
                created_at=row["created_at"],
                ref=row["ref"],
            )
            for row in rows
        ]

    async def done(self, job: Job) -> None:
        await self.db.execute(
            "UPDATE jobs SET state = 'done', attempts = attempts + 1, updated_at = ?,"
            " last_error = NULL WHERE id = ?",
            (time.time(), job.id),
        )

    async def fail(self, job: Job, error: str, *, retry_after: float | None = None) -> bool:
        """Record a failure: retry later (True) or, after the last attempt, dead (False)."""
        attempts = job.attempts + 1
        now = time.time()
        if attempts >= MAX_ATTEMPTS:
            await self.db.execute(
                "UPDATE jobs SET state = 'dead', attempts = ?, last_error = ?, updated_at = ?"
                " WHERE id = ?",
                (attempts, error[:500], now, job.id),
            )
            return False
        delay = max(backoff(attempts), retry_after or 0.0)
        await self.db.execute(
            "UPDATE jobs SET state = 'retrying', attempts = ?, last_error = ?,"
            " next_attempt_at = ?, updated_at = ? WHERE id = ?",
            (attempts, error[:500], now + delay, now, job.id),
        )
        return True

    async def drop(self, job: Job, error: str) -> None:
        """A final failure: never retried (a 4xx refusal, a malformed job)."""
        await self.db.execute(
            "UPDATE jobs SET state = 'dead', attempts = attempts + 1, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (error[:500], time.time(), job.id),
        )

    async def cancel(self, ref: int, reason: str) -> int:
        """Give up the waiting jobs tied to `ref` (a deleted post's deliveries)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET state = 'dead', last_error = ?, updated_at = ?"
                " WHERE ref = ? AND queue = ? AND state IN ('queued', 'retrying')",
                (reason, time.time(), ref, self.name),
            )
            return cursor.rowcount

    async def next_due_in(self) -> float | None:
        """Seconds until the next job is due (0 if one is due now), None when empty."""
        due = await self.db.fetchval(
            "SELECT MIN(next_attempt_at) FROM jobs"
            " WHERE queue = ? AND state IN ('queued', 'retrying')",
            (self.name,),
        )
        return None if due is None else max(0.0, float(due) - time.time())

    async def prune(self, older_than: float = DONE_KEPT_SECONDS) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM jobs WHERE queue = ? AND state = 'done' AND updated_at < ?",
                (self.name, time.time() - older_than),
            )
            return cursor.rowcount

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) FROM jobs WHERE queue = ? GROUP BY state", (self.name,)
        )
        return {row[0]: row[1] for row in rows}


Handler = Callable[[Job], Awaitable[None]]


async def run_worker(
    queue: JobQueue,
    handle: Handler,
    *,
    concurrency: int,
    per_host: int,
    idle_poll: float = 30.0,
) -> None:
    """Claim and run jobs forever with at most `concurrency` at once and `per_host` per host.

    `handle` settles each job itself (done, fail or drop); an exception escaping it is a bug,
    recorded on the job as a failure so that the job is retried rather than lost.
    """
    await queue.recover()
    running: dict[int, asyncio.Task[None]] = {}
    per_host_count: dict[str, int] = {}
    slots = asyncio.Semaphore(concurrency)

    async def run_one(job: Job) -> None:
        try:
            await handle(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a handler bug must not stop the worker
            await queue.fail(job, f"internal error: {error!r}")
        finally:
            slots.release()
            running.pop(job.id, None)
            if job.host:
                per_host_count[job.host] -= 1
                if not per_host_count[job.host]:
                    del per_host_count[job.host]
            queue.wake.set()

    try:
        while True:
            queue.wake.clear()
            free = concurrency - len(running)
            full_hosts = [host for host, n in per_host_count.items() if n >= per_host]
            jobs = await queue.claim(free, full_hosts) if free > 0 else []
            for job in jobs:
                if job.host and per_host_count.get(job.host, 0) >= per_host:
                    # Claimed in the same batch as siblings of a busy host: back in line.
                    await queue.db.execute(
                        "UPDATE jobs SET state = 'queued' WHERE id = ?", (job.id,)
                    )
                    continue
                await slots.acquire()
                if job.host:
                    per_host_count[job.host] = per_host_count.get(job.host, 0) + 1
                running[job.id] = asyncio.create_task(run_one(job))
            if jobs and len(running) < concurrency:
                continue
            due_in = await queue.next_due_in()
            if due_in is None or (due_in <= 0 and running):
                # Nothing due, or what is due waits for a busy host or a free slot: a finishing
                # job or a new enqueue sets `wake`.
                wait = idle_poll
            else:
                wait = min(idle_poll, max(due_in, 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.wake.wait(), timeout=wait)
    finally:
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)


async def summary(db: Database) -> dict[str, dict[str, int]]:
    """Job counts by queue and state."""
    rows = await db.fetchall("SELECT queue, state, COUNT(*) FROM jobs GROUP BY queue, state")
    counts: dict[str, dict[str, int]] = {"push": {}, "ingress": {}}
    for queue, state, number in rows:
        counts.setdefault(queue, {})[state] = number
    return counts


async def waiting_by_host(db: Database, limit: int = 10) -> list[tuple[str, int, str | None]]:
    """Hosts with the most deliveries waiting: (host, jobs, last error)."""
    rows = await db.fetchall(
        "SELECT host, COUNT(*), MAX(last_error) FROM jobs WHERE queue = 'push'"
        " AND state IN ('queued', 'retrying', 'running') AND host IS NOT NULL"
        " GROUP BY host ORDER BY COUNT(*) DESC, host LIMIT ?",
        (limit,),
    )
    return [(row[0], row[1], row[2]) for row in rows]
