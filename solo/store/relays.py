"""Relays the instance actor subscribes to, with their state and what they sent."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiosqlite

from solo.db import Database

Dialect = Literal["mastodon", "litepub"]
RelayState = Literal["pending", "accepted", "failed"]
MAX_RELAYS = 50


@dataclass(frozen=True)
class Relay:
    id: int
    url: str
    dialect: Dialect
    inbox: str
    actor_ap_id: str | None
    follow_ap_id: str
    state: RelayState
    last_error: str | None
    created_at: float
    last_announce_at: float | None
    announces: int
    dropped: int

    @property
    def host(self) -> str:
        return urlsplit(self.inbox).netloc


# How the delivery of a relay's Follow went: the newest push job of that activity.
_DELIVERY = (
    "(SELECT j.state FROM activities a JOIN jobs j ON j.ref = a.id AND j.queue = 'push'"
    " WHERE a.ap_id = r.follow_ap_id ORDER BY j.id DESC LIMIT 1) AS delivery_state,"
    " (SELECT j.last_error FROM activities a JOIN jobs j ON j.ref = a.id AND j.queue = 'push'"
    " WHERE a.ap_id = r.follow_ap_id ORDER BY j.id DESC LIMIT 1) AS delivery_error"
)


def _relay(row: sqlite3.Row) -> Relay:
    state, error = row["state"], row["last_error"]
    if state == "pending":
        # A Follow that could not be delivered fails the subscription: nothing will answer it.
        delivery, why = row["delivery_state"], row["delivery_error"] or "no answer"
        if delivery == "dead":
            state, error = "failed", f"The relay could not be reached: {why}"
        elif delivery == "retrying":
            error = f"Not delivered yet ({why}); trying again."
    return Relay(
        id=row["id"],
        url=row["url"],
        dialect=row["dialect"],
        inbox=row["inbox"],
        actor_ap_id=row["actor_ap_id"],
        follow_ap_id=row["follow_ap_id"],
        state=state,
        last_error=error,
        created_at=row["created_at"],
        last_announce_at=row["last_announce_at"],
        announces=row["announces"],
        dropped=row["dropped"],
    )


async def all_relays(db: Database) -> list[Relay]:
    rows = await db.fetchall(f"SELECT r.*, {_DELIVERY} FROM relays r ORDER BY r.id")
    return [_relay(row) for row in rows]


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM relays"))


async def get_relay(db: Database, relay_id: int) -> Relay | None:
    row = await db.fetchone(f"SELECT r.*, {_DELIVERY} FROM relays r WHERE id = ?", (relay_id,))
    return None if row is None else _relay(row)


async def by_url(db: Database, url: str) -> Relay | None:
    row = await db.fetchone(f"SELECT r.*, {_DELIVERY} FROM relays r WHERE url = ?", (url,))
    return None if row is None else _relay(row)


async def by_follow(db: Database, follow_ap_id: str) -> Relay | None:
    row = await db.fetchone(
        f"SELECT r.*, {_DELIVERY} FROM relays r WHERE follow_ap_id = ?", (follow_ap_id,)
    )
    return None if row is None else _relay(row)


async def by_actor(db: Database, actor_ap_id: str) -> Relay | None:
    """The relay whose actor this is; a Mastodon-style relay is known by its inbox's host until
    its Accept names the actor."""
    row = await db.fetchone(
        f"SELECT r.*, {_DELIVERY} FROM relays r WHERE actor_ap_id = ? ORDER BY id LIMIT 1",
        (actor_ap_id,),
    )
    return None if row is None else _relay(row)


async def insert(
    conn: aiosqlite.Connection,
    *,
    url: str,
    dialect: Dialect,
    inbox: str,
    actor_ap_id: str | None,
    follow_ap_id: str,
) -> int:
    async with conn.execute(
        "INSERT INTO relays (url, dialect, inbox, actor_ap_id, follow_ap_id, state, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING id",
        (url, dialect, inbox, actor_ap_id, follow_ap_id, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def set_state(
    conn: aiosqlite.Connection,
    relay_id: int,
    state: RelayState,
    *,
    actor_ap_id: str | None = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE relays SET state = ?, actor_ap_id = COALESCE(?, actor_ap_id), last_error = ?"
        " WHERE id = ?",
        (state, actor_ap_id, error, relay_id),
    )


async def delete(conn: aiosqlite.Connection, relay_id: int) -> None:
    await conn.execute("DELETE FROM relays WHERE id = ?", (relay_id,))


async def take_share(db: Database, relay_id: int, per_minute: int) -> bool:
    """Count one share (an Announce) the relay sent: True when it is within `per_minute` in
    the current one-minute window, else counted as dropped. Kept in the row, not in memory,
    so a flood is counted the same across restarts."""
    now = time.time()
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE relays SET window_count = 0, window_start = ?"
            " WHERE id = ? AND window_start <= ?",
            (now, relay_id, now - 60),
        )
        cursor = await conn.execute(
            "UPDATE relays SET window_count = window_count + 1, announces = announces + 1,"
            " last_announce_at = ? WHERE id = ? AND window_count < ?",
            (now, relay_id, per_minute),
        )
        taken = cursor.rowcount > 0
        await cursor.close()
        if not taken:
            await conn.execute(
                "UPDATE relays SET dropped = dropped + 1, last_announce_at = ? WHERE id = ?",
                (now, relay_id),
            )
    return taken


async def relay_inboxes(db: Database) -> list[tuple[str, str]]:
    """(inbox, host) of the accepted relays: our public posts go there too, as Mastodon's do."""
    rows = await db.fetchall("SELECT inbox FROM relays WHERE state = 'accepted'")
    return [(row[0], urlsplit(row[0]).hostname or "") for row in rows]
