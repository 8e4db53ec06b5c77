"""The inbox's writes, gathered: every activity accepted while earlier ones commit joins one
`Database.write`, which stores them all with a few statements and no savepoint of their own.

`Database.write` already commits together the calls that arrive while a commit is under way,
but gives each its own savepoint, future and wake-up: at thousands of activities a second those
cost more than the two inserts. Here a batch stays open, taking activities, until the writer
thread starts on it; each caller then learns whether its activity was new. A failure of the
batch (the disk is full, the database locked too long) is every caller's, as a failed commit
would be; no single activity can fail alone (the inserts ignore duplicates, the values are
plain text and numbers).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading

from solo import jobs
from solo.db import Database
from solo.federation.per_federation import PerFederation

Row = tuple[str, str, str, float]  # dedup key, type, ingress job (JSON text), time


class _Batch:
    __slots__ = ("queued", "rows", "waiters", "write")

    def __init__(self, write: asyncio.Future[list[bool]], queued: int) -> None:
        self.rows: list[Row] = []
        self.waiters: list[asyncio.Future[bool]] = []  # one per row, in order
        self.write = write  # held until written
        self.queued = queued  # its place in the group commit's line (`Database.writes_queued`)

    def add(self, row: Row, waiter: asyncio.Future[bool]) -> None:
        self.rows.append(row)
        self.waiters.append(waiter)

    def settle(self, write: asyncio.Future[list[bool]]) -> None:
        """Tell each caller still waiting how its row went (`write` is done)."""
        if write.cancelled():
            for waiter in self.waiters:
                waiter.cancel()
            return
        error = write.exception()
        if error is not None:
            for waiter in self.waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for waiter, added in zip(self.waiters, write.result(), strict=True):
            if not waiter.done():  # a caller that went away leaves its row written
                waiter.set_result(added)


class InboxWrites:
    """The open batch of one federation's inbox (`writes_of`)."""

    def __init__(self) -> None:
        # The event loop adds to the open batch while the writer thread may be closing it.
        self._lock = threading.Lock()
        self._open: _Batch | None = None

    async def store(
        self, db: Database, key: str, kind: str, job: str, now: float, *, after: int = 0
    ) -> bool:
        """Store the activity's `key`, and its ingress `job` (the payload as JSON text) unless
        the key was already there (a duplicate, even one in the same batch); whether it was
        new, once committed.

        `after`: the place in line of a write the job needs (its signer's row, still being
        written): the row joins a batch queued after that write, so that the job never commits
        without it, whatever a crash interrupts, and the worker never finds it missing."""
        # Each caller waits on a future of its own: cancelling one (its client went away)
        # leaves the batch to be written for the others, as `asyncio.shield` would, for less.
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        row = (key, kind, job, now)
        with self._lock:
            batch = self._open
            if batch is not None and batch.queued >= after:
                batch.add(row, waiter)
            else:
                batch = None
        if batch is None:
            # A new batch, queued before it has rows: the writer thread can take it only once
            # the event loop runs the commit again, after this row is in.
            batch = self._queue(db)
            with self._lock:
                batch.add(row, waiter)
                self._open = batch
        return await waiter

    def _queue(self, db: Database) -> _Batch:
        """A new batch, its write queued for the next group commit (never inside
        `Database.batch()`, where it would run at once, empty)."""
        batch: _Batch

        def write(conn: sqlite3.Connection) -> list[bool]:
            return self._write(batch, conn)

        batch = _Batch(db.write_soon(write), db.writes_queued)
        batch.write.add_done_callback(batch.settle)
        return batch

    def _write(self, batch: _Batch, conn: sqlite3.Connection) -> list[bool]:
        """On the writer thread: close the batch, then insert its rows.

        A few statements for the whole batch rather than two a row: the keys already stored,
        then the new activities and their jobs, many rows to a statement. Each statement lets
        go of the GIL while SQLite works and must win it back from the busy event loop, which
        can take a switch interval (5 ms): a statement a row made the loop wait on the commit."""
        with self._lock:
            if self._open is batch:
                self._open = None
        rows = batch.rows
        stored: set[str] = set()
        for start in range(0, len(rows), CHUNK):
            keys = [row[0] for row in rows[start : start + CHUNK]]
            found = conn.execute(_select_stored(len(keys)), keys)
            stored.update(key for (key,) in found)
        added = []
        new: list[Row] = []
        for row in rows:
            key = row[0]
            if key in stored:  # stored before, or earlier in this batch
                added.append(False)
            else:
                stored.add(key)
                new.append(row)
                added.append(True)
        for start in range(0, len(new), CHUNK):
            chunk = new[start : start + CHUNK]
            activities: list[str | float] = []
            queued: list[str | float | None] = []
            for key, kind, job, now in chunk:
                activities += (key, kind, now)
                queued += jobs.job_row("ingress", job, now=now)
            inserted = conn.execute(_insert_activities(len(chunk)), activities).rowcount
            if inserted != len(chunk):  # not reached: the keys were looked up in this transaction
                raise sqlite3.OperationalError("inbox batch: activities changed while written")
            conn.execute(_insert_jobs(len(chunk)), queued)
        return added


CHUNK = 500  # rows to a statement: 7 values each, within SQLite's 32,766 parameters
_SEVEN = "(?, ?, ?, ?, ?, ?, ?)"  # the values of one job in jobs.INSERT_JOB


@functools.lru_cache(maxsize=64)
def _select_stored(count: int) -> str:
    return f"SELECT ap_id FROM activities WHERE ap_id IN ({', '.join('?' * count)})"


@functools.lru_cache(maxsize=64)
def _insert_activities(count: int) -> str:
    values = ", ".join(["(?, ?, 0, ?)"] * count)
    return f"INSERT OR IGNORE INTO activities (ap_id, type, local, created_at) VALUES {values}"


@functools.lru_cache(maxsize=64)
def _insert_jobs(count: int) -> str:
    return jobs.INSERT_JOB.replace(_SEVEN, ", ".join([_SEVEN] * count))


writes_of = PerFederation(InboxWrites)
