"""Logged-in browser sessions (migration 0010): one row per login, named by the SHA-256 of the
random id the signed cookie carries."""

from __future__ import annotations

from solo.db import Database
from solo.store.account import Account, account_from_row


async def open_session(db: Database, id_hash: str, now: float, lifetime: float) -> None:
    """Record a new login, and forget the sessions unseen for longer than `lifetime`."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM web_sessions WHERE last_seen_at < ?", (now - lifetime,))
        await conn.execute(
            "INSERT INTO web_sessions (id_hash, created_at, last_seen_at) VALUES (?, ?, ?)",
            (id_hash, now, now),
        )


async def account_of_session(
    db: Database, id_hash: str, now: float, lifetime: float
) -> tuple[Account, float] | None:
    """The account and when the session was last seen, while the session is live; else None."""
    row = await db.fetchone(
        "SELECT a.*, s.last_seen_at AS session_seen_at FROM web_sessions s"
        " JOIN account a ON a.id = 1 WHERE s.id_hash = ? AND s.last_seen_at >= ?",
        (id_hash, now - lifetime),
    )
    return None if row is None else (account_from_row(row), float(row["session_seen_at"]))


async def touch_session(db: Database, id_hash: str, now: float) -> None:
    await db.execute("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?", (now, id_hash))


async def end_session(db: Database, id_hash: str) -> None:
    await db.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))


async def end_sessions(db: Database, keep: str | None = None) -> int:
    """End every session but `keep` (when given); how many ended."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM web_sessions WHERE id_hash IS NOT ?", (keep,))
        return cursor.rowcount
