"""Retention: the remote posts nobody here touched, removed once older than a number of days
(Mastodon's `tootctl statuses remove`, GoToSocial's cleanup), in small batches.

A remote post stays, however old, when we favourited, boosted, bookmarked, pinned, quoted,
answered or voted in it, when a notification or a filter of ours names it, when it is a
direct message (a conversation of ours), when it boosts or answers a post of ours, or when a
boost of it is still young. Status ids carry their publication time (`solo.ids`), so "older
than" is a range of the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from solo.db import Database
from solo.ids import unix_to_id

# Conditions on `s`, a remote status older than :cutoff, that nothing of ours holds on to.
# The sets of ids ours point at are read once per statement (non-correlated NOT IN).
_UNTOUCHED = """
    s.id < :cutoff AND s.actor_id IS NOT NULL AND s.visibility != 'direct'
    AND s.id NOT IN (SELECT status_id FROM interactions
                     WHERE actor_id IS NULL AND status_id IS NOT NULL)
    AND s.id NOT IN (SELECT status_id FROM notifications WHERE status_id IS NOT NULL)
    AND s.id NOT IN (SELECT status_id FROM pins)
    AND s.id NOT IN (SELECT status_id FROM poll_votes WHERE actor_id IS NULL)
    AND s.id NOT IN (SELECT status_id FROM filter_statuses)
    AND s.id NOT IN (SELECT status_id FROM conversation_statuses)
    AND s.id NOT IN (SELECT in_reply_to_id FROM statuses
                     WHERE actor_id IS NULL AND in_reply_to_id IS NOT NULL)
    AND s.id NOT IN (SELECT quote_id FROM statuses
                     WHERE actor_id IS NULL AND quote_id IS NOT NULL)
    AND (s.reblog_of_id IS NULL
         OR s.reblog_of_id NOT IN (SELECT id FROM statuses WHERE actor_id IS NULL))
    AND (s.in_reply_to_id IS NULL
         OR s.in_reply_to_id NOT IN (SELECT id FROM statuses WHERE actor_id IS NULL))
    AND NOT EXISTS (SELECT 1 FROM statuses b
                    WHERE b.reblog_of_id = s.id AND (b.actor_id IS NULL OR b.id >= :cutoff))
"""


@dataclass(frozen=True, slots=True)
class Pruned:
    """One batch: the statuses removed, and the cached files no kept post shows any more
    (storage keys, for the caller to delete once the transaction is committed)."""

    status_ids: list[int]
    files: list[str]
    freed: int


async def prune_done_jobs(conn: aiosqlite.Connection, older_than: float, limit: int) -> int:
    """Remove up to `limit` jobs done before `older_than` (any queue), oldest first, inside the
    caller's transaction; returns how many. A done job is history: its payload (a whole
    incoming activity) would otherwise stay on disk for ever."""
    cursor = await conn.execute(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done'"
        " AND updated_at < ? ORDER BY id LIMIT ?)",
        (older_than, limit),
    )
    return cursor.rowcount


async def prune_seen_activities(conn: aiosqlite.Connection, older_than: float, limit: int) -> int:
    """Forget up to `limit` ids of incoming activities seen before `older_than`, oldest first,
    inside the caller's transaction; returns how many. They only stop a sender's retries from
    being applied twice, and every sender has given up long before (Mastodon after about two
    days); a replayed old request fails its signature's date check. Our own activities stay:
    their bodies are what deliveries send."""
    async with conn.execute(
        "SELECT id, created_at FROM activities WHERE local = 0 ORDER BY id LIMIT ?", (limit,)
    ) as cursor:
        rows = [(int(row[0]), float(row[1])) async for row in cursor]
    old = []
    for row_id, created_at in rows:  # ids grow with time: the first young one ends the run
        if created_at >= older_than:
            break
        old.append((row_id,))
    await conn.executemany("DELETE FROM activities WHERE id = ?", old)
    return len(old)


def cutoff_id(older_than: float) -> int:
    """The first status id published at `older_than` (a Unix time): older ones are below."""
    return unix_to_id(older_than)


async def count_prunable(db: Database, older_than: float) -> int:
    return int(
        await db.fetchval(
            f"SELECT COUNT(*) FROM statuses s WHERE {_UNTOUCHED}",
            {"cutoff": cutoff_id(older_than)},
        )
    )


async def prune_batch(conn: aiosqlite.Connection, older_than: float, limit: int) -> Pruned:
    """Remove up to `limit` untouched remote statuses older than `older_than`, oldest first,
    inside the caller's transaction. Their boosts, media rows, polls, edits and search entries
    go with them through the foreign keys and triggers; the cached copies of their files go
    from `media_cache` when no post still kept shows the same file."""
    async with conn.execute(
        f"SELECT s.id FROM statuses s WHERE {_UNTOUCHED} ORDER BY s.id LIMIT :limit",
        {"cutoff": cutoff_id(older_than), "limit": limit},
    ) as cursor:
        ids = [int(row[0]) async for row in cursor]
    if not ids:
        return Pruned([], [], 0)
    marks = ",".join("?" * len(ids))
    async with conn.execute(
        f"SELECT DISTINCT remote_url FROM media WHERE status_id IN ({marks})"
        " AND remote_url IS NOT NULL",
        ids,
    ) as cursor:
        urls = [str(row[0]) async for row in cursor]
    await conn.execute(f"DELETE FROM statuses WHERE id IN ({marks})", ids)
    files: list[str] = []
    freed = 0
    if urls:
        url_marks = ",".join("?" * len(urls))
        async with conn.execute(
            f"DELETE FROM media_cache WHERE url IN ({url_marks}) AND url NOT IN"
            f" (SELECT remote_url FROM media WHERE remote_url IN ({url_marks}))"
            " RETURNING storage_key, size",
            [*urls, *urls],
        ) as cursor:
            async for key, size in cursor:
                files.append(str(key))
                freed += int(size)
    return Pruned(ids, files, freed)
