"""Notification requests: the notifications the policy held back, one request per account.

Accepting a request moves its notifications into the list and lets that account's future ones
pass (a `notification_permissions` row); dismissing it deletes them. A request whose held
notifications are all gone (their post deleted, say) is not listed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database
from solo.store.listings import Window

SUMMARY_CAP: Final = 100  # Mastodon caps pending_requests_count here

# Requests with their held notifications counted; `r` is the request row.
_LISTED: Final = (
    "SELECT r.id, r.actor_id, r.last_status_id, r.created_at, r.updated_at, COUNT(n.id) AS held"
    " FROM notification_requests r JOIN notifications n"
    " ON n.actor_id = r.actor_id AND n.filtered = 1"
)


@dataclass(frozen=True)
class NotificationRequest:
    id: int
    actor_id: int
    last_status_id: int | None
    created_at: float
    updated_at: float
    notifications_count: int


def _request(row: aiosqlite.Row) -> NotificationRequest:
    return NotificationRequest(row[0], row[1], row[2], row[3], row[4], row[5])


def hold(raw: sqlite3.Connection, actor_id: int, status_id: int | None) -> None:
    """Open or refresh the request of `actor_id` for a notification just held back (inside the
    caller's transaction, on its connection's thread)."""
    now = time.time()
    raw.execute(
        "INSERT INTO notification_requests (actor_id, last_status_id, created_at, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (actor_id) DO UPDATE SET"
        " updated_at = excluded.updated_at,"
        " last_status_id = COALESCE(excluded.last_status_id, last_status_id)",
        (actor_id, status_id, now, now),
    )


async def requests_page(db: Database, window: Window) -> list[NotificationRequest]:
    """A page of requests, by request id."""
    where, args, order = window.sql("r.id")
    rows = await db.fetchall(
        f"{_LISTED} WHERE {where} GROUP BY r.id ORDER BY r.id {order} LIMIT ?",
        (*args, window.limit),
    )
    return [_request(row) for row in rows]


async def requests_by_ids(db: Database, ids: Iterable[int]) -> list[NotificationRequest]:
    rows = await db.fetchall(
        f"{_LISTED} WHERE r.id IN (SELECT value FROM json_each(?)) GROUP BY r.id"
        " ORDER BY r.id DESC",
        (json.dumps(sorted({int(i) for i in ids})),),
    )
    return [_request(row) for row in rows]


async def held_notifications(
    db: Database, actor_ids: Iterable[int], limit: int
) -> list[tuple[int, int]]:
    """(notification id, actor id) of what these accounts have held back, newest first, at
    most `limit` each."""
    rows = await db.fetchall(
        "SELECT id, actor_id FROM (SELECT id, actor_id,"
        " ROW_NUMBER() OVER (PARTITION BY actor_id ORDER BY id DESC) AS place"
        " FROM notifications WHERE filtered = 1 AND actor_id IN (SELECT value FROM json_each(?)))"
        " WHERE place <= ? ORDER BY id DESC",
        (json.dumps(sorted({int(i) for i in actor_ids})), limit),
    )
    return [(row[0], row[1]) for row in rows]


async def summary(db: Database) -> tuple[int, int]:
    """(accounts with held notifications, capped at SUMMARY_CAP; held notifications)."""
    row = await db.fetchone(
        "SELECT COUNT(DISTINCT r.actor_id), COUNT(n.id) FROM notification_requests r"
        " JOIN notifications n ON n.actor_id = r.actor_id AND n.filtered = 1"
    )
    assert row is not None
    return min(int(row[0]), SUMMARY_CAP), int(row[1])


async def _actors_of(conn: aiosqlite.Connection, request_ids: Iterable[int]) -> list[int]:
    async with conn.execute(
        "SELECT actor_id FROM notification_requests WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in request_ids})),),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def accept(conn: aiosqlite.Connection, request_ids: Iterable[int]) -> int:
    """Accept requests: their notifications join the list, their accounts pass from now on.
    Returns how many requests there were."""
    actors = await _actors_of(conn, request_ids)
    listed = json.dumps(actors)
    now = time.time()
    await conn.executemany(
        "INSERT OR IGNORE INTO notification_permissions (actor_id, created_at) VALUES (?, ?)",
        [(actor_id, now) for actor_id in actors],
    )
    await conn.execute(
        "UPDATE notifications SET filtered = 0"
        " WHERE filtered = 1 AND actor_id IN (SELECT value FROM json_each(?))",
        (listed,),
    )
    await conn.execute(
        "DELETE FROM notification_requests WHERE actor_id IN (SELECT value FROM json_each(?))",
        (listed,),
    )
    return len(actors)


async def dismiss(conn: aiosqlite.Connection, request_ids: Iterable[int]) -> int:
    """Dismiss requests: their held notifications are deleted. Returns how many there were."""
    actors = await _actors_of(conn, request_ids)
    listed = json.dumps(actors)
    await conn.execute(
        "DELETE FROM notifications"
        " WHERE filtered = 1 AND actor_id IN (SELECT value FROM json_each(?))",
        (listed,),
    )
    await conn.execute(
        "DELETE FROM notification_requests WHERE actor_id IN (SELECT value FROM json_each(?))",
        (listed,),
    )
    return len(actors)
