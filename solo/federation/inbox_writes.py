"""The inbox's writes, gathered: every activity accepted while earlier ones commit joins one
`Database.write`, which stores each with one statement or two and no savepoint of its own.

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
import sqlite3
import threading

from solo import jobs
from solo.db import Database
from solo.federation.per_federation import PerFederation

INSERT_ACTIVITY = (
    "INSERT OR IGNORE INTO activities (ap_id, type, local, created_at) VALUES (?, ?, 0, ?)"
)

Row = tuple[str, str, str, float]  # dedup key, type, ingress job (JSON text), time


class _Batch:
    __slots__ = ("rows", "waiters", "write")

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.waiters: list[asyncio.Future[bool]] = []  # one per row, in order
        self.write: asyncio.Future[list[bool]] | None = None  # held until written

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

    async def store(self, db: Database, key: str, kind: str, job: str, now: float) -> bool:
        """Store the activity's `key`, and its ingress `job` (the payload as JSON text) unless
        the key was already there (a duplicate, even one in the same batch); whether it was
        new, once committed."""
        # Each caller waits on a future of its own: cancelling one (its client went away)
        # leaves the batch to be written for the others, as `asyncio.shield` would, for less.
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        with self._lock:
            batch = self._open
            opened = batch is None
            if batch is None:
                batch = self._open = _Batch()
            batch.rows.append((key, kind, job, now))
            batch.waiters.append(waiter)
        if opened:
            batch.write = asyncio.ensure_future(db.write(lambda conn: self._write(batch, conn)))
            batch.write.add_done_callback(batch.settle)
        return await waiter

    def _write(self, batch: _Batch, conn: sqlite3.Connection) -> list[bool]:
        """On the writer thread: close the batch, then insert its rows."""
        with self._lock:
            if self._open is batch:
                self._open = None
        added = []
        new_jobs = []
        execute = conn.execute
        for key, kind, job, now in batch.rows:
            if execute(INSERT_ACTIVITY, (key, kind, now)).rowcount:
                new_jobs.append(jobs.job_row("ingress", job, now=now))
                added.append(True)
            else:
                added.append(False)
        conn.executemany(jobs.INSERT_JOB, new_jobs)
        return added


writes_of = PerFederation(InboxWrites)
