"""Idempotency keys of `POST /api/v1/statuses`: rows of `idempotency`, one per key sent.

A client that retries a post it may not have seen answered sends the same `Idempotency-Key`,
and gets the status the first request made instead of a second copy. A key is claimed before
the post is made (its `status_id` NULL while that runs), filled in once it is, and released
when the post is refused, so that a corrected retry may use it again. Keys live an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from solo.db import Database


@dataclass(frozen=True, slots=True)
class Claim:
    """What claiming a key found: a new claim (`fresh`), a post already made with it
    (`status_id`), or neither, a request with it still running."""

    fresh: bool
    status_id: int | None = None


async def claim(db: Database, key: str, *, now: float, lifetime: float) -> Claim:
    """Take `key` for a new post, unless a request made within `lifetime` seconds holds it."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM idempotency WHERE created_at < ?", (now - lifetime,))
        async with conn.execute(
            "SELECT status_id FROM idempotency WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return Claim(fresh=False, status_id=row[0])
        await conn.execute(
            "INSERT INTO idempotency (key, status_id, created_at) VALUES (?, NULL, ?)",
            (key, now),
        )
    return Claim(fresh=True)


async def fulfil(db: Database, key: str, status_id: int) -> None:
    """Record the status that the request holding `key` made."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE idempotency SET status_id = ? WHERE key = ?", (status_id, key))


async def release(db: Database, key: str) -> None:
    """Give up a claim whose post was not made."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM idempotency WHERE key = ? AND status_id IS NULL", (key,))
