"""Retention at work: in the background while the server runs, and `solo prune` at once.

Every `retention_days` (0: keep everything), remote posts nobody here touched go once older
than that many days (`solo.store.retention` says which), with their cached files: in batches of
BATCH, each its own short transaction, with a pause between them so that the inbox and the
pages never wait long behind the writer. Whatever `retention_days` says, the jobs done more
than a day ago go too (`jobs.DONE_KEPT_SECONDS`): each holds a whole incoming activity or a
delivery's row, and nothing reads them once done; so do the ids of incoming activities older
than SEEN_KEPT_DAYS, kept only to drop a sender's retries.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database
from solo.federation.context import Federation
from solo.federation.sleeper import StepLoop
from solo.jobs import DONE_KEPT_SECONDS
from solo.media.storage import Storage
from solo.store import retention as store

BATCH: Final = 500
VACUUM_PAGES: Final = 2000  # free pages given back per transaction
INCREMENTAL: Final = 2  # PRAGMA auto_vacuum's value for incremental
JOBS_BATCH: Final = 5000  # done jobs are small rows with no foreign keys to follow
SEEN_KEPT_DAYS: Final = 30  # ids of incoming activities, kept against duplicates
PAUSE: Final = 0.05  # seconds between batches: the writer is free for others meanwhile
BATCHES_PER_STEP: Final = 20  # then the step ends and the next one comes after AGAIN
AGAIN: Final = 1.0
IDLE: Final = 3600.0  # nothing more to prune: look again in an hour
START_DELAY: Final = 600.0  # the first round waits: start-up has better things to do
DAY: Final = 86_400.0

log = logging.getLogger(__name__)


@dataclass
class Progress:
    removed: int = 0
    files: int = 0
    freed: int = 0
    given_back: int = 0  # bytes of the database file given back to the file system


def older_than(days: int, now: float | None = None) -> float:
    return (time.time() if now is None else now) - days * DAY


async def prune(
    db: Database,
    storage: Storage,
    days: int,
    *,
    batches: int | None = None,
    pause: float = PAUSE,
    on_batch: Callable[[Progress], None] | None = None,
    give_back: bool = False,
) -> tuple[Progress, list[int]]:
    """Prune batch after batch until none is left (or `batches` were done); what was removed,
    and the status ids, for the feeds. Files go after their rows: a row without its file is
    fetched again, a file without its row is never served. `give_back` then shrinks the file
    by the pages freed (`give_back_free_pages`)."""
    cutoff = older_than(days)
    progress = Progress()
    removed: list[int] = []
    done = 0
    while batches is None or done < batches:
        async with db.transaction() as conn:
            batch = await store.prune_batch(conn, cutoff, BATCH)
        done += 1
        if not batch.status_ids:
            break
        for key in batch.files:
            await storage.delete(key)
        removed.extend(batch.status_ids)
        progress.removed += len(batch.status_ids)
        progress.files += len(batch.files)
        progress.freed += batch.freed
        if on_batch is not None:
            on_batch(progress)
        if len(batch.status_ids) < BATCH:
            break
        await asyncio.sleep(pause)
    if removed and give_back:
        progress.given_back = await give_back_free_pages(db, pause=pause)
    return progress, removed


def _free_pages(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def _vacuum_some(conn: sqlite3.Connection) -> int:
    """Up to VACUUM_PAGES free pages given back; how many remain free. Each step of the
    statement frees one page and Python's `execute` steps it once (fetchall does not step it
    further: it returns no rows), so it is executed once per page."""
    for _ in range(min(VACUUM_PAGES, _free_pages(conn))):
        conn.execute("PRAGMA incremental_vacuum")
    return _free_pages(conn)


async def give_back_free_pages(db: Database, *, pause: float = PAUSE) -> int:
    """Shrink the file by its free pages (a database made with auto_vacuum = incremental; any
    other keeps them for new rows), a few thousand per transaction; the bytes given back.

    Only `solo prune` does this. In the background the pages a prune frees are simply reused
    by the posts that keep arriving: moving pages to shrink a file that grows back would only
    wear an SD card."""
    if int(await db.fetchval("PRAGMA auto_vacuum")) != INCREMENTAL:
        return 0
    page_size = int(await db.fetchval("PRAGMA page_size"))
    before = int(await db.fetchval("PRAGMA page_count"))
    free = True
    while free:
        free = bool(await db.write(_vacuum_some))
        if free:
            await asyncio.sleep(pause)  # the writer is free for others meanwhile
    return (before - int(await db.fetchval("PRAGMA page_count"))) * page_size


async def _in_batches(
    db: Database,
    remove: Callable[[aiosqlite.Connection, float, int], Awaitable[int]],
    cutoff: float,
    batches: int | None,
) -> int:
    """`remove(conn, cutoff, JOBS_BATCH)` batch after batch, each its own transaction, until a
    batch comes short (or `batches` were done); how many rows went."""
    removed = done = 0
    while batches is None or done < batches:
        async with db.transaction() as conn:
            count = await remove(conn, cutoff, JOBS_BATCH)
        done += 1
        removed += count
        if count < JOBS_BATCH:
            break
        await asyncio.sleep(PAUSE)
    return removed


async def prune_done_jobs(
    db: Database, *, before: float | None = None, batches: int | None = None
) -> int:
    """Remove the jobs done more than `jobs.DONE_KEPT_SECONDS` ago, batch after batch (each its
    own transaction); returns how many. Whatever retention_days says: they are history."""
    cutoff = time.time() - DONE_KEPT_SECONDS if before is None else before
    return await _in_batches(db, store.prune_done_jobs, cutoff, batches)


async def prune_seen_activities(
    db: Database, *, before: float | None = None, batches: int | None = None
) -> int:
    """Forget the ids of incoming activities older than SEEN_KEPT_DAYS, batch after batch;
    returns how many."""
    cutoff = older_than(SEEN_KEPT_DAYS) if before is None else before
    return await _in_batches(db, store.prune_seen_activities, cutoff, batches)


async def step(federation: Federation) -> float:
    """One background round: the old done jobs, then up to BATCHES_PER_STEP batches of posts;
    how long to sleep after it."""
    jobs_removed = await prune_done_jobs(federation.db, batches=BATCHES_PER_STEP)
    seen_removed = await prune_seen_activities(federation.db, batches=BATCHES_PER_STEP)
    if jobs_removed or seen_removed:
        log.info(
            "retention: removed %d jobs done more than a day ago, %d ids of incoming"
            " activities older than %d days",
            jobs_removed,
            seen_removed,
            SEEN_KEPT_DAYS,
        )
    more_jobs = max(jobs_removed, seen_removed) >= JOBS_BATCH * BATCHES_PER_STEP
    days = federation.settings.retention_days
    if days <= 0:
        return AGAIN if more_jobs else IDLE
    progress, removed = await prune(
        federation.db, federation.storage, days, batches=BATCHES_PER_STEP
    )
    if removed:
        federation.feeds.forget(removed)
        log.info(
            "retention: removed %d remote posts older than %d days and %d cached files",
            progress.removed,
            days,
            progress.files,
        )
    more_posts = progress.removed >= BATCH * BATCHES_PER_STEP
    return AGAIN if more_jobs or more_posts else IDLE


_pruning = StepLoop(
    step, name="retention", task_name="solo-retention", max_sleep=IDLE, start_delay=START_DELAY
)
start = _pruning.start  # prunes in the background until `shutdown` (the app's lifespan)
shutdown = _pruning.stop
