"""The last incoming activities refused at the inbox or ignored by the ingress worker, and why.

A bounded record read by `solo queue` (another process, hence a table): a self-hoster sees why a
peer's activity did nothing without the peer's logs. Only refusals write here, never an accepted
activity, so the inbox's hot path is unchanged; the oldest rows go once `KEPT` are held.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from solo.db import Database

KEPT: Final = 200
# A sender may put anything in a type or a keyId: what is kept of each is bounded.
MAX_FIELD: Final = 300
MAX_REASON: Final = 1000


@dataclass(frozen=True)
class Refusal:
    at: float
    sender: str
    type: str
    status: int | None  # the inbox's HTTP answer; None when the ingress worker ignored it
    reason: str


def _insert(refusal: Refusal, kept: int) -> Callable[[sqlite3.Connection], None]:
    def insert(conn: sqlite3.Connection) -> None:
        cursor = conn.execute(
            "INSERT INTO refusals (at, sender, type, status, reason) VALUES (?, ?, ?, ?, ?)",
            (
                refusal.at,
                refusal.sender[:MAX_FIELD],
                refusal.type[:MAX_FIELD],
                refusal.status,
                refusal.reason[:MAX_REASON],
            ),
        )
        newest = cursor.lastrowid or 0
        conn.execute("DELETE FROM refusals WHERE id <= ?", (newest - kept,))

    return insert


async def record(
    db: Database,
    sender: str,
    kind: str,
    reason: str,
    *,
    status: int | None = None,
    kept: int = KEPT,
) -> None:
    """Keep one refusal (written with whatever else is being committed at the moment)."""
    refusal = Refusal(time.time(), sender, kind, status, reason)
    await db.write(_insert(refusal, kept))


def _read(raw: sqlite3.Connection, limit: int) -> list[Refusal]:
    exists = raw.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refusals'"
    ).fetchone()
    if exists is None:
        return []  # a database from before the record existed: nothing to show
    rows = raw.execute(
        "SELECT at, sender, type, status, reason FROM refusals ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [Refusal(row[0], row[1], row[2], row[3], row[4]) for row in rows]


async def recent(db: Database, limit: int = 20) -> list[Refusal]:
    """The newest refusals first."""
    return await db.read(lambda raw: _read(raw, limit))


def recent_in(path: str, limit: int = 20) -> list[Refusal]:
    """As `recent`, straight from the database file, read-only: for commands that must not
    open (and so migrate) the database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _read(conn, limit)
    finally:
        conn.close()
