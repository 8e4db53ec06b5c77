"""Read markers: where the user stopped reading the home timeline and the notifications, kept
for every client (GET/POST /api/v1/markers). Each change increments the marker's version."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database

TIMELINES: Final = ("home", "notifications")


@dataclass(frozen=True)
class Marker:
    timeline: str
    last_read_id: str
    version: int
    updated_at: float


async def markers(db: Database, timelines: Iterable[str]) -> list[Marker]:
    wanted = [name for name in dict.fromkeys(timelines) if name in TIMELINES]
    if not wanted:
        return []
    rows = await db.fetchall(
        "SELECT timeline, last_read_id, version, updated_at FROM markers"
        f" WHERE timeline IN ({', '.join('?' * len(wanted))}) ORDER BY timeline",
        tuple(wanted),
    )
    return [Marker(row[0], row[1], row[2], row[3]) for row in rows]


async def set_marker(conn: aiosqlite.Connection, timeline: str, last_read_id: str) -> Marker:
    """Move a marker (a first one starts at version 0, as Mastodon's); returns it."""
    async with conn.execute(
        "INSERT INTO markers (timeline, last_read_id, version, updated_at) VALUES (?, ?, 0, ?)"
        " ON CONFLICT (timeline) DO UPDATE SET last_read_id = excluded.last_read_id,"
        " version = markers.version + 1, updated_at = excluded.updated_at"
        " RETURNING timeline, last_read_id, version, updated_at",
        (timeline, last_read_id, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return Marker(row[0], row[1], row[2], row[3])
