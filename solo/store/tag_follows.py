"""Hashtags we follow (their public posts enter home) and hashtags featured on our profile."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database
from solo.store.listings import Window
from solo.store.tags import TAG_ITEMS, TAG_NAME

# SQL true when the post `s` carries a hashtag we follow. The cheap EXISTS comes first, so
# that without followed tags no post's tags are read.
FOLLOWED_TAG: Final = (
    "EXISTS (SELECT 1 FROM followed_tags)"
    f" AND EXISTS (SELECT 1 FROM {TAG_ITEMS} t"
    f" WHERE {TAG_NAME} IN (SELECT name FROM followed_tags))"
)


@dataclass(frozen=True, slots=True)
class TagRow:
    id: int
    name: str
    created_at: float


async def followed_page(db: Database, window: Window) -> list[TagRow]:
    """Followed tags by row id (the cursor), in the window's reading order."""
    where, args, order = window.sql("id")
    rows = await db.fetchall(
        f"SELECT id, name, created_at FROM followed_tags WHERE {where} ORDER BY id {order} LIMIT ?",
        (*args, window.limit),
    )
    return [TagRow(row[0], row[1], row[2]) for row in rows]


async def followed_names(db: Database, names: list[str]) -> set[str]:
    rows = await db.fetchall(
        "SELECT name FROM followed_tags WHERE name IN (SELECT value FROM json_each(?))",
        (json.dumps(names),),
    )
    return {row[0] for row in rows}


async def count_followed(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM followed_tags"))


async def follow(conn: aiosqlite.Connection, name: str) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO followed_tags (name, created_at) VALUES (?, ?)", (name, time.time())
    )


async def unfollow(conn: aiosqlite.Connection, name: str) -> None:
    await conn.execute("DELETE FROM followed_tags WHERE name = ?", (name,))


@dataclass(frozen=True, slots=True)
class FeaturedTag:
    id: int
    name: str
    display: str
    statuses_count: int
    last_status_at: float | None


async def featured(db: Database) -> list[FeaturedTag]:
    """Our featured tags, with how many of our public posts carry each and when the last was."""
    rows = await db.fetchall(
        "SELECT f.id, f.name, f.display,"
        " (SELECT count(*) FROM statuses s WHERE s.actor_id IS NULL AND s.deleted_at IS NULL"
        "  AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted')"
        f"  AND EXISTS (SELECT 1 FROM {TAG_ITEMS} t WHERE {TAG_NAME} = f.name)),"
        " (SELECT max(s.published_at) FROM statuses s WHERE s.actor_id IS NULL"
        "  AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
        "  AND s.visibility IN ('public', 'unlisted')"
        f"  AND EXISTS (SELECT 1 FROM {TAG_ITEMS} t WHERE {TAG_NAME} = f.name))"
        " FROM featured_tags f ORDER BY f.id"
    )
    return [FeaturedTag(row[0], row[1], row[2], row[3], row[4]) for row in rows]


async def feature(conn: aiosqlite.Connection, name: str, display: str) -> int:
    async with conn.execute(
        "INSERT INTO featured_tags (name, display, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET display = display RETURNING id",
        (name, display, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def unfeature(conn: aiosqlite.Connection, tag_id: int) -> bool:
    async with conn.execute("DELETE FROM featured_tags WHERE id = ?", (tag_id,)) as cursor:
        return cursor.rowcount > 0


async def count_featured(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM featured_tags"))


async def most_used_own(db: Database, limit: int) -> list[str]:
    """The hashtags of our recent public posts, most used first (featured tag suggestions)."""
    rows = await db.fetchall(
        f"SELECT {TAG_NAME} AS name, count(*) AS uses FROM"
        " (SELECT raw FROM statuses WHERE actor_id IS NULL AND deleted_at IS NULL"
        "  AND reblog_of_id IS NULL AND visibility IN ('public', 'unlisted')"
        "  ORDER BY id DESC LIMIT 1000) AS s,"
        f" {TAG_ITEMS} t WHERE name IS NOT NULL"
        " AND name NOT IN (SELECT name FROM featured_tags)"
        " GROUP BY name ORDER BY uses DESC, name LIMIT ?",
        (limit,),
    )
    return [row[0] for row in rows]
