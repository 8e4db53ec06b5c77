"""Favourites, boosts, bookmarks and blocks, by us (actor_id NULL) or by remote actors."""

from __future__ import annotations

import time
from typing import Literal

import aiosqlite

from solo.db import Database

Kind = Literal["like", "announce", "bookmark", "block"]


async def add(
    conn: aiosqlite.Connection,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
    ap_id: str | None = None,
) -> bool:
    """Record an interaction once; True when it is new."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO interactions (kind, actor_id, status_id, target_actor_id, ap_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (kind, actor_id, status_id, target_actor_id, ap_id, time.time()),
    )
    return cursor.rowcount > 0


async def remove(
    conn: aiosqlite.Connection,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
) -> str | None:
    """Remove an interaction; returns its activity id ('' if it had none), None if absent."""
    async with conn.execute(
        "DELETE FROM interactions WHERE kind = ? AND actor_id IS ? AND status_id IS ?"
        " AND target_actor_id IS ? RETURNING ap_id",
        (kind, actor_id, status_id, target_actor_id),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else (row[0] or "")


async def exists(
    db: Database,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM interactions WHERE kind = ? AND actor_id IS ? AND status_id IS ?"
        " AND target_actor_id IS ?",
        (kind, actor_id, status_id, target_actor_id),
    )
    return found is not None


async def count(db: Database, kind: Kind, status_id: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM interactions WHERE kind = ? AND status_id = ?",
            (kind, status_id),
        )
    )
