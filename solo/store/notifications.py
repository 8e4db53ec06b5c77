"""Notifications for the local user."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from solo.db import Database
from solo.store.suppression import notification_suppressed

TYPES = frozenset(
    {
        "follow",
        "follow_request",
        "mention",
        "reblog",
        "favourite",
        "poll",
        "update",
    }
)


@dataclass(frozen=True)
class Notification:
    id: int
    type: str
    actor_id: int | None
    status_id: int | None
    created_at: float
    read: bool


def _notification(row: sqlite3.Row) -> Notification:
    return Notification(
        row["id"],
        row["type"],
        row["actor_id"],
        row["status_id"],
        row["created_at"],
        bool(row["read"]),
    )


async def add(
    conn: aiosqlite.Connection, kind: str, actor_id: int | None, status_id: int | None = None
) -> int:
    if kind not in TYPES:
        raise ValueError(f"unknown notification type {kind}")
    async with conn.execute(
        "INSERT INTO notifications (type, actor_id, status_id, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        (kind, actor_id, status_id, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def remove(
    conn: aiosqlite.Connection, kind: str, actor_id: int, status_id: int | None = None
) -> None:
    """Take back a notification whose cause was undone (an Undo Like, an Undo Follow)."""
    await conn.execute(
        "DELETE FROM notifications WHERE type = ? AND actor_id = ? AND status_id IS ?",
        (kind, actor_id, status_id),
    )


async def latest(db: Database, limit: int = 40) -> list[Notification]:
    rows = await db.fetchall("SELECT * FROM notifications ORDER BY id DESC LIMIT ?", (limit,))
    return [_notification(row) for row in rows]


async def notifications_by_ids(db: Database, ids: Iterable[int]) -> list[Notification]:
    """Many notifications in one query, newest first; those the user asked not to get
    (`notification_suppressed`) are left out, so neither a page nor a stream shows them."""
    rows = await db.fetchall(
        "SELECT * FROM notifications WHERE id IN (SELECT value FROM json_each(?))"
        f" AND NOT {notification_suppressed()} ORDER BY id DESC",
        (json.dumps([int(i) for i in ids]),),
    )
    return [_notification(row) for row in rows]


async def notifications_page(db: Database, *, max_id: int | None, limit: int) -> list[int]:
    """Notification ids, newest first, older than `max_id` when given; suppressed ones left
    out."""
    rows = await db.fetchall(
        "SELECT id FROM notifications WHERE (? IS NULL OR id < ?)"
        f" AND NOT {notification_suppressed()} ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [row[0] for row in rows]


async def count_unread(db: Database) -> int:
    """Unread notifications the user would be shown."""
    return int(
        await db.fetchval(
            f"SELECT COUNT(*) FROM notifications WHERE read = 0 AND NOT {notification_suppressed()}"
        )
    )


async def is_shown(db: Database, notification_id: int) -> bool:
    """Whether a notification is one the user gets (not suppressed)."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notifications WHERE id = ?"
            f" AND NOT {notification_suppressed()})",
            (notification_id,),
        )
    )


async def mark_all_read(conn: aiosqlite.Connection) -> int:
    """Mark every notification read; returns how many were unread."""
    cursor = await conn.execute("UPDATE notifications SET read = 1 WHERE read = 0")
    return cursor.rowcount


async def dismiss(conn: aiosqlite.Connection, notification_id: int) -> bool:
    """Remove one notification (the client API's dismiss); True when it was there."""
    cursor = await conn.execute("DELETE FROM notifications WHERE id = ?", (notification_id,))
    return cursor.rowcount > 0


async def clear(conn: aiosqlite.Connection) -> int:
    """Remove every notification; how many there were."""
    cursor = await conn.execute("DELETE FROM notifications")
    return cursor.rowcount
