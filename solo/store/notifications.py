"""Notifications for the local user."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from solo.db import Database, run_sync
from solo.store.notification_policy import policy_verdict
from solo.store.notification_requests import hold
from solo.store.push_subscriptions import enqueue_pushes
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
        "admin.report",
        "move",
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
    filtered: bool = False  # held back by the notification policy, waiting in a request


def _notification(row: sqlite3.Row) -> Notification:
    return Notification(
        row["id"],
        row["type"],
        row["actor_id"],
        row["status_id"],
        row["created_at"],
        bool(row["read"]),
        bool(row["filtered"]),
    )


async def add(
    conn: aiosqlite.Connection, kind: str, actor_id: int | None, status_id: int | None = None
) -> int | None:
    """Add a notification as the notification policy says: its id when it is shown; None when
    the policy held it back (it waits in a request) or dropped it, so there is nothing to show
    or stream. Inside the caller's transaction on `conn`, in one hop to its thread."""
    if kind not in TYPES:
        raise ValueError(f"unknown notification type {kind}")
    return await run_sync(conn, _add, kind, actor_id, status_id)


def _add(
    raw: sqlite3.Connection, kind: str, actor_id: int | None, status_id: int | None
) -> int | None:
    verdict = policy_verdict(raw, kind, actor_id, status_id)
    if verdict == "drop":
        return None
    filtered = verdict == "filter"
    row = raw.execute(
        "INSERT INTO notifications (type, actor_id, status_id, created_at, filtered)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (kind, actor_id, status_id, time.time(), int(filtered)),
    ).fetchone()
    assert row is not None
    if filtered:
        assert actor_id is not None, "only others' notifications are held back"
        hold(raw, actor_id, status_id)
        return None
    notification_id = int(row[0])
    # Pushes leave from the durable queue, so a crash loses neither the notification nor them.
    enqueue_pushes(raw, notification_id, kind, actor_id)
    return notification_id


async def remove(
    conn: aiosqlite.Connection, kind: str, actor_id: int, status_id: int | None = None
) -> None:
    """Take back a notification whose cause was undone (an Undo Like, an Undo Follow)."""
    await conn.execute(
        "DELETE FROM notifications WHERE type = ? AND actor_id = ? AND status_id IS ?",
        (kind, actor_id, status_id),
    )


async def latest(db: Database, limit: int = 40) -> list[Notification]:
    rows = await db.fetchall(
        "SELECT * FROM notifications WHERE filtered = 0 ORDER BY id DESC LIMIT ?", (limit,)
    )
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
        "SELECT id FROM notifications WHERE filtered = 0 AND (? IS NULL OR id < ?)"
        f" AND NOT {notification_suppressed()} ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [row[0] for row in rows]


async def count_unread(db: Database) -> int:
    """Unread notifications the user would be shown."""
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM notifications WHERE read = 0 AND filtered = 0"
            f" AND NOT {notification_suppressed()}"
        )
    )


async def is_shown(db: Database, notification_id: int) -> bool:
    """Whether a notification is one the user gets (not suppressed, not held back)."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notifications WHERE id = ? AND filtered = 0"
            f" AND NOT {notification_suppressed()})",
            (notification_id,),
        )
    )


async def shown_among(db: Database, notification_ids: list[int]) -> set[int]:
    """Those of `notification_ids` the user gets, in one query (a batch's notifications)."""
    shown: set[int] = set()
    for start in range(0, len(notification_ids), 500):  # under SQLite's variable limit
        chunk = notification_ids[start : start + 500]
        rows = await db.fetchall(
            f"SELECT id FROM notifications WHERE id IN ({','.join('?' * len(chunk))})"
            f" AND filtered = 0 AND NOT {notification_suppressed()}",
            chunk,
        )
        shown.update(int(row[0]) for row in rows)
    return shown


async def mark_all_read(conn: aiosqlite.Connection) -> int:
    """Mark every notification in the list read (held-back ones stay unread, to be read once
    accepted); returns how many were unread."""
    cursor = await conn.execute("UPDATE notifications SET read = 1 WHERE read = 0 AND filtered = 0")
    return cursor.rowcount


async def dismiss(conn: aiosqlite.Connection, notification_id: int) -> bool:
    """Remove one notification (the client API's dismiss); True when it was there."""
    cursor = await conn.execute("DELETE FROM notifications WHERE id = ?", (notification_id,))
    return cursor.rowcount > 0


async def clear(conn: aiosqlite.Connection) -> int:
    """Remove every notification in the list (held-back ones wait for their request); how many
    there were."""
    cursor = await conn.execute("DELETE FROM notifications WHERE filtered = 0")
    return cursor.rowcount
