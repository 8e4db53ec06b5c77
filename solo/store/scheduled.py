"""Scheduled posts (Mastodon's ScheduledStatus): what to post and when, until published.

A published one keeps its row, with the post it became and its intended time, but leaves the
list; the uploads a waiting one takes are kept from the sweep of unattached uploads
(`solo.store.media.stale_uploads`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiosqlite

from solo.db import Database

# Those still waiting: listed, counted against the limits, their uploads kept.
WAITING: Final = "published_at IS NULL"


@dataclass(frozen=True, slots=True)
class Scheduled:
    id: int
    scheduled_at: float
    params: dict[str, Any]
    media_ids: tuple[int, ...]
    created_at: float


def _scheduled(row: sqlite3.Row) -> Scheduled:
    return Scheduled(
        id=row["id"],
        scheduled_at=row["scheduled_at"],
        params=json.loads(row["params"]),
        media_ids=tuple(json.loads(row["media_ids"])),
        created_at=row["created_at"],
    )


async def insert(
    conn: aiosqlite.Connection,
    scheduled_at: float,
    params: dict[str, Any],
    media_ids: Sequence[int],
    now: float,
) -> int:
    cursor = await conn.execute(
        "INSERT INTO scheduled_statuses (scheduled_at, params, media_ids, created_at)"
        " VALUES (?, ?, ?, ?)",
        (scheduled_at, json.dumps(params, ensure_ascii=False), json.dumps(list(media_ids)), now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def get(db: Database, scheduled_id: int) -> Scheduled | None:
    """A waiting one; None when unknown, cancelled or already published."""
    row = await db.fetchone(
        f"SELECT * FROM scheduled_statuses WHERE id = ? AND {WAITING}", (scheduled_id,)
    )
    return None if row is None else _scheduled(row)


async def page(
    db: Database, *, where: str, args: list[int], order: str, limit: int
) -> list[Scheduled]:
    """A page of the waiting ones by id (`where`, `args` and `order` from
    `solo.api.paging.PageRequest.sql("id")`)."""
    direction = "ASC" if order == "ASC" else "DESC"
    rows = await db.fetchall(
        f"SELECT * FROM scheduled_statuses WHERE {WAITING} AND {where}"
        f" ORDER BY id {direction} LIMIT ?",
        (*args, limit),
    )
    return [_scheduled(row) for row in rows]


async def by_time(db: Database, limit: int) -> list[Scheduled]:
    """The waiting ones, soonest first (the web's list)."""
    rows = await db.fetchall(
        f"SELECT * FROM scheduled_statuses WHERE {WAITING} ORDER BY scheduled_at, id LIMIT ?",
        (limit,),
    )
    return [_scheduled(row) for row in rows]


async def count_waiting(conn: aiosqlite.Connection, *, between: tuple[float, float] | None) -> int:
    """How many wait, all of them or those due within `between` (start, end)."""
    sql = f"SELECT COUNT(*) FROM scheduled_statuses WHERE {WAITING}"
    args: tuple[float, ...] = ()
    if between is not None:
        sql += " AND scheduled_at >= ? AND scheduled_at < ?"
        args = between
    async with conn.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def reschedule(conn: aiosqlite.Connection, scheduled_id: int, scheduled_at: float) -> bool:
    cursor = await conn.execute(
        f"UPDATE scheduled_statuses SET scheduled_at = ? WHERE id = ? AND {WAITING}",
        (scheduled_at, scheduled_id),
    )
    return cursor.rowcount > 0


async def delete(conn: aiosqlite.Connection, scheduled_id: int) -> bool:
    """Cancel a waiting one; its uploads become unattached ones again."""
    cursor = await conn.execute(
        f"DELETE FROM scheduled_statuses WHERE id = ? AND {WAITING}", (scheduled_id,)
    )
    return cursor.rowcount > 0


async def due(db: Database, now: float, limit: int) -> list[Scheduled]:
    rows = await db.fetchall(
        f"SELECT * FROM scheduled_statuses WHERE {WAITING} AND scheduled_at <= ?"
        " ORDER BY scheduled_at, id LIMIT ?",
        (now, limit),
    )
    return [_scheduled(row) for row in rows]


async def next_due(db: Database) -> float | None:
    value = await db.fetchval(f"SELECT MIN(scheduled_at) FROM scheduled_statuses WHERE {WAITING}")
    return None if value is None else float(value)


async def mark_published(
    conn: aiosqlite.Connection,
    scheduled_id: int,
    *,
    status_id: int | None,
    now: float,
    error: str | None = None,
) -> bool:
    """Done with: the post it became (None when it could not be made, with why). False when it
    was not waiting any more (cancelled meanwhile, or published by another step)."""
    cursor = await conn.execute(
        "UPDATE scheduled_statuses SET status_id = ?, published_at = ?, last_error = ?"
        f" WHERE id = ? AND {WAITING}",
        (status_id, now, error, scheduled_id),
    )
    return cursor.rowcount > 0
