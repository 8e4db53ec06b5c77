"""The durable job queue: rows in SQLite are the truth, an asyncio.Event only wakes workers.

A job is enqueued inside the transaction of the change that causes it, so a crash either loses
both or neither. States: queued → running → done, or → retrying (with `next_attempt_at`) →
running … → dead after the last attempt. At start-up, rows left `running` by a crash are put back
to `queued`: every job runs at least once.

Two things are held in memory for speed, both safe under that rule. Acknowledgements (`done`) are
written together, one transaction every `ack_delay` seconds or `ack_batch` jobs: a crash before
the write leaves those jobs `running`, so they are run again. And the worker claims jobs ahead
(`claim_ahead` at a time, one transaction): they are `running` in the table while they wait, so a
crash puts them back to `queued` like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import aiosqlite

from solo.db import Database
from solo.ticks import next_tick

MAX_ATTEMPTS = 16
STATES = ("queued", "running", "retrying", "done", "dead")
DONE_KEPT_SECONDS = 24 * 3600
ACK_DELAY = 0.02  # seconds an acknowledgement may wait to be written with others
ACK_BATCH = 200  # ... or until this many wait
CLAIM_AHEAD = 128  # jobs claimed per transaction by the worker
# What writing to a database that is being closed raises: `Database` closed (RuntimeError),
# aiosqlite's connection gone (ValueError), SQLite itself.
DATABASE_GONE = (RuntimeError, ValueError, sqlite3.Error)
TROUBLE_WAIT_MAX = 60.0  # seconds between a worker's tries while the database refuses it

# The columns waiting jobs can be given up by (`JobQueue._give_up`): the only names put in its SQL.
GiveUpBy = Literal["ref", "host"]
GIVE_UP_BY: frozenset[str] = frozenset(get_args(GiveUpBy))

log = logging.getLogger(__name__)


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
    rows = [job_row(queue, payload, host=host, ref=ref, at=at, now=now) for payload, host in items]
    await conn.executemany(INSERT_JOB, rows)
    return len(rows)


_COLUMNS = "queue, payload, host, ref, next_attempt_at, created_at, updated_at"
INSERT_JOB = f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


async def enqueue_select(
    conn: aiosqlite.Connection,
    queue: str,
    select: str,
    params: Sequence[Any] = (),
    *,
    at: float | None = None,
    ref: int | None = None,
) -> int:
    """`enqueue` of one job per row of the query `select` (columns `payload`, a JSON object as
    text, and `host`) in ONE INSERT … SELECT: the rows never come into Python, however many
    (a celebrity's post has a job for each of 50,000 servers). Returns how many."""
    now = time.time()
    cursor = await conn.execute(
        f"INSERT INTO jobs ({_COLUMNS}) SELECT ?, payload, host, ?, ?, ?, ? FROM ({select})",
        (queue, ref, at or now, now, now, *params),
    )
    return cursor.rowcount


def job_row(
    queue: str,
    payload: dict[str, Any] | str,
    *,
    host: str | None = None,
    ref: int | None = None,
    at: float | None = None,
    now: float,
) -> tuple[str, str, str | None, int | None, float, float, float]:
    """The values of INSERT_JOB for one job: for writers that are not `enqueue` (the inbox
    writes its jobs with plain sqlite3, inside a group commit). `payload` may come encoded
    already, as JSON text."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return (queue, text, host, ref, at or now, now, now)


DONE_SQL = (
    "UPDATE jobs SET state = 'done', attempts = attempts + 1, updated_at = ?,"
    " last_error = NULL WHERE id = ?"
)


class JobQueue:
    """One named queue over the jobs table."""

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        ack_delay: float = ACK_DELAY,
        ack_batch: int = ACK_BATCH,
        claim_ahead: int = CLAIM_AHEAD,
    ) -> None:
        self.db = db
        self.name = name
        self.wake = asyncio.Event()
        self.ack_delay = ack_delay
        self.ack_batch = ack_batch
        self.claim_ahead = claim_ahead
        self._acks: list[tuple[float, int]] = []  # (when, job id): done, not yet written
        self._ack_timer: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()  # so that a flush waits for the one writing before it
        self._ahead: deque[Job] = deque()  # claimed (running in the table), not handed out
        # Outcomes since the Server page's sampler last took them: "done", "retried", "dead".
        self.outcomes: Counter[str] = Counter()

    async def recover(self) -> int:
        """Put jobs a crash left running back in the queue; returns how many."""
        await self.flush()
        self._ahead.clear()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET state = 'queued', updated_at = ?"
                " WHERE queue = ? AND state = 'running'",
                (time.time(), self.name),
            )
            return cursor.rowcount

    async def claim(
        self,
        limit: int,
        skip_hosts: Iterable[str] = (),
        *,
        per_host: int | None = None,
        load: Mapping[str, int] | None = None,
    ) -> list[Job]:
        """Mark up to `limit` due jobs running and return them, oldest due first.

        With `per_host`, no host gets more than that many, counting its `load` (the jobs it
        already has in progress); the jobs left over stay queued.
        """
        now = time.time()
        skipped = list(skip_hosts)
        placeholders = ",".join("?" * len(skipped))
        host_filter = f" AND (host IS NULL OR host NOT IN ({placeholders}))" if skipped else ""
        sql = (
            "SELECT id, payload, host, attempts, created_at, ref FROM jobs"
            " WHERE queue = ? AND state IN ('queued', 'retrying') AND next_attempt_at <= ?"
            f"{host_filter} ORDER BY next_attempt_at, id LIMIT ?"
        )

        def mark_running(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            params = (self.name, now, *skipped, limit)
            rows: list[sqlite3.Row] = conn.execute(sql, params).fetchall()
            if per_host is not None:
                taken = Counter(load or {})
                fitting = []
                for row in rows:
                    host = row["host"]
                    if host is None or taken[host] < per_host:
                        fitting.append(row)
                        if host is not None:
                            taken[host] += 1
                rows = fitting
            conn.executemany(
                "UPDATE jobs SET state = 'running', updated_at = ? WHERE id = ?",
                [(now, row["id"]) for row in rows],
            )
            return rows

        # One hop to the writer thread, committed with the writes waiting beside it: a
        # transaction of its own would hold the writer for a turn of the loop per statement.
        rows = await self.db.write(mark_running)
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

    async def next_jobs(
        self, limit: int, *, per_host: int, running: Mapping[str, int]
    ) -> list[Job]:
        """Up to `limit` claimed jobs whose host has room, taken from the jobs claimed ahead.

        `running` counts the jobs each host has in progress. When fewer than `limit` wait in
        memory, one transaction claims up to `claim_ahead` more, never more for a host than
        `per_host` counting those running and those waiting: every job waiting in memory can
        start as soon as a slot is free.
        """
        if limit <= 0:
            return []
        if len(self._ahead) < limit:
            load = Counter(running)
            load.update(job.host for job in self._ahead if job.host is not None)
            full = [host for host, count in load.items() if count >= per_host]
            wanted = max(self.claim_ahead, limit - len(self._ahead))
            self._ahead.extend(await self.claim(wanted, full, per_host=per_host, load=load))
        taken: list[Job] = []
        passed: list[Job] = []
        room = dict(running)
        while self._ahead and len(taken) < limit:
            job = self._ahead.popleft()
            if job.host is None:
                taken.append(job)
            elif room.get(job.host, 0) < per_host:
                room[job.host] = room.get(job.host, 0) + 1
                taken.append(job)
            else:
                passed.append(job)
        self._ahead.extendleft(reversed(passed))
        return taken

    def give_back(self, jobs: list[Job]) -> None:
        """Claimed jobs the worker cannot start yet: first in line again."""
        self._ahead.extendleft(reversed(jobs))

    async def done(self, job: Job) -> None:
        """Record a success; written with others within `ack_delay` seconds (see the module).

        Inside a write batch (`Database.batch`), written at once in it: the job's effects and
        its `done` then commit together, so a crash can never leave one without the other."""
        self.outcomes["done"] += 1
        if self.db.in_batch():
            await self.db.execute(DONE_SQL, (time.time(), job.id))
            return
        self._acks.append((time.time(), job.id))
        if len(self._acks) >= self.ack_batch:
            await self.flush()
        elif self._ack_timer is None:
            self._ack_timer = asyncio.create_task(self._flush_later(), name=f"acks-{self.name}")

    async def flush(self) -> None:
        """Write the acknowledgements waiting in memory, in one transaction."""
        async with self._flushing:
            if not self._acks:
                return
            acks, self._acks = self._acks, []
            timer, self._ack_timer = self._ack_timer, None
            if timer is not None:
                timer.cancel()  # this flush writes everything it was waiting for
            written = False
            try:
                await self.db.executemany(DONE_SQL, acks)
                written = True
            finally:
                if not written:
                    self._acks[:0] = acks  # the next flush tries again; a crash re-runs them

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.ack_delay)
        self._ack_timer = None
        try:
            await self.flush()
        except DATABASE_GONE as error:
            log.warning(
                "%s queue: %d acknowledgements not written: %s", self.name, len(self._acks), error
            )

    async def close(self) -> None:
        """Write what waits in memory: acknowledgements, and the jobs claimed ahead (requeued).

        Called when the worker stops. Whatever cannot be written stays `running` in the table
        and is recovered at the next start.
        """
        timer, self._ack_timer = self._ack_timer, None
        if timer is not None:
            timer.cancel()
            await asyncio.wait([timer])
        await self.flush()
        if self._ahead:
            ids = [(job.id,) for job in self._ahead]
            self._ahead.clear()
            await self.db.executemany(
                "UPDATE jobs SET state = 'queued' WHERE id = ? AND state = 'running'", ids
            )

    async def fail(self, job: Job, error: str, *, retry_after: float | None = None) -> bool:
        """Record a failure: retry later (True) or, after the last attempt, dead (False)."""
        attempts = job.attempts + 1
        now = time.time()
        if attempts >= MAX_ATTEMPTS:
            self.outcomes["dead"] += 1
            await self.db.execute(
                "UPDATE jobs SET state = 'dead', attempts = ?, last_error = ?, updated_at = ?"
                " WHERE id = ?",
                (attempts, error[:500], now, job.id),
            )
            return False
        delay = max(backoff(attempts), retry_after or 0.0)
        self.outcomes["retried"] += 1
        await self.db.execute(
            "UPDATE jobs SET state = 'retrying', attempts = ?, last_error = ?,"
            " next_attempt_at = ?, updated_at = ? WHERE id = ?",
            (attempts, error[:500], now + delay, now, job.id),
        )
        return True

    async def drop(self, job: Job, error: str) -> None:
        """A final failure: never retried (a 4xx refusal, a malformed job)."""
        self.outcomes["dead"] += 1
        await self.db.execute(
            "UPDATE jobs SET state = 'dead', attempts = attempts + 1, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (error[:500], time.time(), job.id),
        )

    async def cancel(self, ref: int, reason: str) -> int:
        """Give up the waiting jobs of `ref` (a deleted post's deliveries); returns how many."""
        return await self._give_up("ref", ref, reason)

    def take_outcomes(self) -> Counter[str]:
        """The outcomes counted since the last call (for the sampler), and start again."""
        taken, self.outcomes = self.outcomes, Counter()
        return taken

    async def retry_host_now(self, host: str) -> int:
        """Make the deliveries to `host` waiting for a retry due now; returns how many."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET next_attempt_at = ?, updated_at = ?"
                " WHERE queue = ? AND host = ? AND state = 'retrying'",
                (time.time(), time.time(), self.name, host),
            )
            changed = cursor.rowcount
        if changed:
            self.wake.set()
        return changed

    async def give_up_host(self, host: str, reason: str) -> int:
        """Mark dead the jobs for `host` that wait (queued or retrying); returns how many."""
        return await self._give_up("host", host, reason)

    async def _give_up(self, column: GiveUpBy, value: int | str, reason: str) -> int:
        """Mark dead this queue's waiting jobs whose `column` equals `value`; returns how many.

        Jobs claimed ahead that have not started are waiting too. `column` is checked against a
        fixed list before it goes into the SQL.
        """
        if column not in GIVE_UP_BY:
            raise ValueError(f"jobs cannot be given up by {column!r}")
        ahead = [job.id for job in self._ahead if getattr(job, column) == value]
        if ahead:
            self._ahead = deque(job for job in self._ahead if getattr(job, column) != value)
        now = time.time()
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET state = 'dead', last_error = ?, updated_at = ?"
                f" WHERE queue = ? AND {column} = ? AND state IN ('queued', 'retrying')",
                (reason, now, self.name, value),
            )
            given_up = cursor.rowcount
            if ahead:
                await conn.executemany(
                    "UPDATE jobs SET state = 'dead', last_error = ?, updated_at = ? WHERE id = ?",
                    [(reason, now, job_id) for job_id in ahead],
                )
        return given_up + len(ahead)

    async def next_due_in(self) -> float | None:
        """Seconds until the next job is due (0 if one is due now), None when empty."""
        if self._ahead:
            return 0.0
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
        await self.flush()
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) FROM jobs WHERE queue = ? GROUP BY state", (self.name,)
        )
        return {row[0]: row[1] for row in rows}


Handler = Callable[[Job], Awaitable[None]]
# Applies what it can of the jobs given in one write batch; returns those left to run one by one.
BatchHandler = Callable[[list[Job]], Awaitable[list[Job]]]


async def run_worker(
    queue: JobQueue,
    handle: Handler,
    *,
    concurrency: int,
    per_host: int,
    idle_poll: float = 60.0,
    batch: BatchHandler | None = None,
    batch_size: int = 0,
) -> None:
    """Claim and run jobs forever with at most `concurrency` at once and `per_host` per host.

    `handle` settles each job itself (done, fail or drop); an exception escaping it is a bug,
    recorded on the job as a failure so that the job is retried rather than lost. With `batch`,
    up to `batch_size` jobs are claimed at a time and handed to it first (it applies those it
    can in one transaction, in this task); the jobs it leaves run one by one as above. When the
    database refuses the worker's own statements (the disk full, the database locked too long),
    it tries again after a pause growing to `TROUBLE_WAIT_MAX` seconds: the jobs stay stored.
    """
    await queue.recover()
    running: dict[int, asyncio.Task[None]] = {}
    per_host_count: dict[str, int] = {}

    async def run_one(job: Job) -> None:
        try:
            await handle(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a handler bug must not stop the worker
            await queue.fail(job, f"internal error: {error!r}")
        finally:
            running.pop(job.id, None)
            if job.host:
                per_host_count[job.host] -= 1
                if not per_host_count[job.host]:
                    del per_host_count[job.host]
            queue.wake.set()

    async def start_jobs() -> float | None:
        """Start what can start; then the seconds to wait for a wake-up, or None to go on."""
        free = concurrency - len(running)
        applied = 0
        if batch is not None:
            claimed = await queue.next_jobs(batch_size, per_host=per_host, running=per_host_count)
            jobs = await batch(claimed) if claimed else []
            applied = len(claimed) - len(jobs)
            queue.give_back(jobs[max(free, 0) :])
            jobs = jobs[: max(free, 0)]
        else:
            jobs = await queue.next_jobs(free, per_host=per_host, running=per_host_count)
        for job in jobs:
            if job.host:
                per_host_count[job.host] = per_host_count.get(job.host, 0) + 1
            running[job.id] = asyncio.create_task(run_one(job))
        if applied:
            return None  # more may be waiting for the next batch
        if len(running) >= concurrency:
            return next_tick(idle_poll)  # every slot is busy: a finishing job sets `wake`
        if jobs:
            return None
        due_in = await queue.next_due_in()
        if due_in is None or (due_in <= 0 and running):
            # Nothing due, or what is due waits for a busy host: a finishing job or a new
            # enqueue sets `wake`; the look now and then is for jobs another process stored,
            # at the minute's shared wakeup (solo.ticks).
            return next_tick(idle_poll)
        return min(next_tick(idle_poll), max(due_in, 0.01))

    troubles = 0  # in a row
    try:
        while True:
            queue.wake.clear()
            try:
                wait = await start_jobs()
            except sqlite3.Error as error:
                # Without this the worker would stop, and nothing run until the next start.
                troubles += 1
                wait = min(2.0 ** (troubles - 1), TROUBLE_WAIT_MAX)
                log.warning("%s queue: %s; trying again in %.0f s", queue.name, error, wait)
            else:
                troubles = 0
            if wait is None:
                continue
            # Not `asyncio.wait_for`: on 3.11 it can lose the worker's own cancellation when the
            # event is set at the same moment, and the worker would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await queue.wake.wait()
    finally:
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        try:
            await queue.close()
        except DATABASE_GONE as error:
            log.warning("%s queue: left for recovery at the next start: %s", queue.name, error)


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
