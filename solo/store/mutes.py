"""Muted accounts (the client API's mutes): their posts leave the timelines (`solo.feeds`),
and with `notifications` their notifications leave the list too. A mute may end by itself at
`expires_at`; an expired mute is treated as gone wherever it is read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from solo.db import Database

# Now in Unix seconds with their fraction, as `time.time()` gives it: strftime('%s') cuts to the
# second, so a mute would stay in force up to a second after `Feeds.expire_mutes` saw it end.
NOW = "((julianday('now') - 2440587.5) * 86400.0)"
# The mutes in force, as SQL: what the timelines' rules and the notification lists leave out.
ACTIVE = f"SELECT actor_id FROM mutes WHERE (expires_at IS NULL OR expires_at > {NOW})"
ACTIVE_FOR_NOTIFICATIONS = f"{ACTIVE} AND notifications = 1"


@dataclass(frozen=True)
class Mute:
    actor_id: int
    notifications: bool
    expires_at: float | None
    created_at: float


async def mute(
    conn: aiosqlite.Connection, actor_id: int, *, notifications: bool, expires_at: float | None
) -> None:
    """Mute an account, or change how (muting again replaces the terms, as Mastodon does)."""
    await conn.execute(
        "INSERT INTO mutes (actor_id, notifications, expires_at, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (actor_id) DO UPDATE SET notifications = excluded.notifications,"
        " expires_at = excluded.expires_at",
        (actor_id, int(notifications), expires_at, time.time()),
    )


async def unmute(conn: aiosqlite.Connection, actor_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM mutes WHERE actor_id = ?", (actor_id,))
    return cursor.rowcount > 0


async def mutes_of(db: Database, actor_ids: Iterable[int]) -> dict[int, Mute]:
    """The mutes in force of many accounts, in ONE query."""
    rows = await db.fetchall(
        "SELECT actor_id, notifications, expires_at, created_at FROM mutes"
        f" WHERE actor_id IN (SELECT value FROM json_each(?)) AND actor_id IN ({ACTIVE})",
        (json.dumps(sorted({int(i) for i in actor_ids})),),
    )
    return {row[0]: Mute(row[0], bool(row[1]), row[2], row[3]) for row in rows}


async def mutes_page(
    db: Database, where: str, args: list[int], order: str, limit: int
) -> list[Mute]:
    """Mutes in force, by actor id (the cursor), in `order`; `where` is a condition on
    `actor_id` (`solo.api.paging.PageRequest.sql`)."""
    rows = await db.fetchall(
        "SELECT actor_id, notifications, expires_at, created_at FROM mutes"
        f" WHERE actor_id IN ({ACTIVE}) AND {where} ORDER BY actor_id {order} LIMIT ?",
        (*args, limit),
    )
    return [Mute(row[0], bool(row[1]), row[2], row[3]) for row in rows]


async def next_end(db: Database) -> float | None:
    """When the next mute in force runs out; None when none is set to."""
    value = await db.fetchval(f"SELECT MIN(expires_at) FROM mutes WHERE expires_at > {NOW}")
    return None if value is None else float(value)
