"""Importing Mastodon's CSV exports in the background, durably.

`create` reads and checks the whole file (`csv_formats.parse`): a file refused is refused
before anything is stored. Then the import and its lines are stored in one transaction, and the
running server's importer (`importing`, started by the app's lifespan) works through the
pending lines a few at a time (`csv_kinds`), recording each outcome. A crash leaves lines
pending and the import `running`: the next start picks it up where it was. Overwrite mode ends
by undoing what the file does not name. Imports run one at a time, oldest first.

Another process (`solo import` beside a running server) only stores the import and tells the
server (SIGUSR1, `solo.control`); the server also looks every POLL_SECONDS at the minute's
shared wakeup (`solo.ticks`). So the server alone changes follows, blocks and its feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from solo.actions.csv_formats import CsvError, check_kind, parse
from solo.db import Database
from solo.federation.context import Federation
from solo.jobs import DATABASE_GONE
from solo.lazy import lazy
from solo.store import csv_imports as store
from solo.store.csv_imports import Import
from solo.ticks import next_tick

if TYPE_CHECKING:
    from solo.actions import csv_kinds
else:  # at the first import that runs, not at start (see solo.lazy)
    csv_kinds = lazy("solo.actions.csv_kinds")

POLL_SECONDS: Final = 60.0
log = logging.getLogger(__name__)
Progress = Callable[[Import], None]


async def create(
    db: Database, kind: str, mode: str, filename: str, data: bytes, own_domain: str
) -> int:
    """Check the file whole and store it as an import waiting to run; its id. Raises CsvError
    (nothing stored) when it cannot be imported as `kind`."""
    check_kind(kind)
    if mode not in ("merge", "overwrite"):
        raise CsvError("%(mode)s is no import mode; choose merge or overwrite.", mode=repr(mode))
    lines = parse(kind, data, own_domain)
    async with db.transaction() as conn:
        return await store.create(conn, kind, mode, filename, lines)


async def run_import(federation: Federation, job: Import, progress: Progress | None = None) -> None:
    """Work through an import's pending lines, then (overwrite) undo what it does not name."""
    db = federation.db
    if job.state != "running":
        await store.set_state(db, job.id, "running")
    while lines := await store.pending(db, job.id, csv_kinds.batch_size(job.kind)):
        await store.settle(db, job.id, await csv_kinds.apply(federation, job.kind, lines))
        if progress is not None:
            current = await store.get(db, job.id)
            assert current is not None
            progress(current)
    removed = None
    if job.mode == "overwrite":
        removed = await csv_kinds.remove_missing(
            federation, job.kind, await store.all_values(db, job.id)
        )
    await store.set_state(db, job.id, "done", removed=removed)


async def run_pending(federation: Federation, progress: Progress | None = None) -> int:
    """Run every unfinished import, oldest first; how many ran."""
    ran = 0
    while (job := await store.next_unfinished(federation.db)) is not None:
        try:
            await run_import(federation, job, progress)
        except asyncio.CancelledError:
            raise
        except DATABASE_GONE:
            raise
        except Exception as error:  # a bug in one import must not stop the rest
            log.exception("CSV import %d failed", job.id)
            await store.set_state(
                federation.db, job.id, "failed", error=f"Solo failed on it: {error!r}"[:500]
            )
        ran += 1
    return ran


@dataclass
class Importer:
    """The server's importer: `wake` it when an import is stored, or it looks every minute."""

    federation: Federation
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            self.wake.clear()
            await run_pending(self.federation)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next_tick(POLL_SECONDS)):
                    await self.wake.wait()


@contextlib.asynccontextmanager
async def importing(federation: Federation) -> AsyncIterator[Importer]:
    """The importer for the lifespan of the app."""
    importer = Importer(federation)
    task = asyncio.create_task(importer.run(), name="solo-csv-imports")
    try:
        yield importer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, *DATABASE_GONE):
            await task
