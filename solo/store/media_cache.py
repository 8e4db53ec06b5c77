"""The `media_cache` table: which remote files are on our disk, under which storage key, and
when each was last shown (least recently used first out)."""

from __future__ import annotations

from dataclasses import dataclass

from solo.db import Database


@dataclass(frozen=True, slots=True)
class Entry:
    url: str
    storage_key: str
    media_type: str
    size: int
    fetched_at: float
    last_used_at: float


async def get(db: Database, url: str) -> Entry | None:
    row = await db.fetchone(
        "SELECT url, storage_key, media_type, size, fetched_at, last_used_at"
        " FROM media_cache WHERE url = ?",
        (url,),
    )
    return None if row is None else Entry(*row)


async def put(db: Database, entry: Entry) -> str | None:
    """Store `entry`; the storage key it replaces, if the URL was cached under another."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT storage_key FROM media_cache WHERE url = ?", (entry.url,)
        ) as cursor:
            row = await cursor.fetchone()
        await conn.execute(
            "INSERT INTO media_cache (url, storage_key, media_type, size, fetched_at,"
            " last_used_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
            " storage_key = excluded.storage_key, media_type = excluded.media_type,"
            " size = excluded.size, fetched_at = excluded.fetched_at,"
            " last_used_at = excluded.last_used_at",
            (
                entry.url,
                entry.storage_key,
                entry.media_type,
                entry.size,
                entry.fetched_at,
                entry.last_used_at,
            ),
        )
    replaced = None if row is None else str(row[0])
    return None if replaced == entry.storage_key else replaced


async def touch(db: Database, url: str, when: float) -> None:
    await db.execute("UPDATE media_cache SET last_used_at = ? WHERE url = ?", (when, url))


async def forget(db: Database, url: str) -> None:
    await db.execute("DELETE FROM media_cache WHERE url = ?", (url,))


async def total_size(db: Database) -> int:
    return int(await db.fetchval("SELECT COALESCE(SUM(size), 0) FROM media_cache"))


async def remove_least_recent(db: Database, excess: int) -> list[tuple[str, int]]:
    """Delete the least recently used rows until at least `excess` bytes are gone (or none are
    left); their storage keys and sizes, for the caller to delete the files."""
    urls: list[str] = []
    removed: list[tuple[str, int]] = []
    freed = 0
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT url, storage_key, size FROM media_cache ORDER BY last_used_at, url"
        ) as cursor:
            async for row in cursor:
                if freed >= excess:
                    break
                urls.append(str(row[0]))
                removed.append((str(row[1]), int(row[2])))
                freed += int(row[2])
        await conn.executemany("DELETE FROM media_cache WHERE url = ?", [(url,) for url in urls])
    return removed
