"""Private notes on accounts: a line the user keeps about someone, seen by nobody else."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import aiosqlite

from solo.db import Database


async def set_note(conn: aiosqlite.Connection, actor_id: int, comment: str) -> None:
    """Keep `comment` as the note on the account; an empty one removes the note."""
    if not comment:
        await conn.execute("DELETE FROM account_notes WHERE actor_id = ?", (actor_id,))
        return
    await conn.execute(
        "INSERT INTO account_notes (actor_id, comment, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (actor_id) DO UPDATE SET comment = excluded.comment,"
        " updated_at = excluded.updated_at",
        (actor_id, comment, time.time()),
    )


async def notes_of(db: Database, actor_ids: Iterable[int]) -> dict[int, str]:
    """The notes on many accounts, in ONE query; accounts without one are absent."""
    rows = await db.fetchall(
        "SELECT actor_id, comment FROM account_notes"
        " WHERE actor_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in actor_ids})),),
    )
    return {row[0]: row[1] for row in rows}
