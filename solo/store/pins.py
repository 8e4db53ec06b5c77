"""Pinned posts, ours and remote actors': rows of the `pins` table, one per pinned status.

Whose pin it is follows from the status (`actor_id` NULL: ours). Only public and unlisted posts
count as pinned: a pin never shows a post to someone who could not read it otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import aiosqlite

from solo.db import Database

_SHOWN = (
    "s.deleted_at IS NULL AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted')"
)


async def add(conn: aiosqlite.Connection, status_id: int) -> bool:
    """Pin a status once; True when the pin is new."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO pins (status_id, created_at) VALUES (?, ?)",
        (status_id, time.time()),
    )
    return cursor.rowcount > 0


async def remove(conn: aiosqlite.Connection, status_id: int) -> bool:
    """Unpin a status; True when it was pinned."""
    cursor = await conn.execute("DELETE FROM pins WHERE status_id = ?", (status_id,))
    return cursor.rowcount > 0


async def count_ours(conn: aiosqlite.Connection) -> int:
    """Our pins, counted on the writer so that the limit holds against concurrent pins."""
    async with conn.execute(
        f"SELECT COUNT(*) FROM pins JOIN statuses s ON s.id = pins.status_id"
        f" WHERE s.actor_id IS NULL AND {_SHOWN}"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def pinned_ids(db: Database, actor_id: int | None) -> list[int]:
    """The pinned posts of an actor (None: ours), newest pin first."""
    rows = await db.fetchall(
        f"SELECT s.id FROM pins JOIN statuses s ON s.id = pins.status_id"
        f" WHERE s.actor_id IS ? AND {_SHOWN} ORDER BY pins.created_at DESC, s.id DESC",
        (actor_id,),
    )
    return [row[0] for row in rows]


async def replace_remote(
    conn: aiosqlite.Connection, actor_id: int, status_ids: Sequence[int]
) -> None:
    """Make `status_ids` (in their collection's order, newest pin first) the actor's pins."""
    await conn.execute(
        "DELETE FROM pins WHERE status_id IN (SELECT id FROM statuses WHERE actor_id = ?)",
        (actor_id,),
    )
    now = time.time()
    # Descending times keep the collection's order when read back newest first.
    await conn.executemany(
        "INSERT OR IGNORE INTO pins (status_id, created_at) VALUES (?, ?)",
        [(status_id, now - index) for index, status_id in enumerate(status_ids)],
    )
