"""Account moves: our aliases and our own move, the verified moves of remote accounts, and the
followers an alias of ours had when it moved to us."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

import aiosqlite

from solo.db import Database
from solo.store.account import Alias


async def set_aliases(conn: aiosqlite.Connection, aliases: Sequence[Alias]) -> None:
    document = [{"id": alias.ap_id, "handle": alias.handle} for alias in aliases]
    await conn.execute(
        "UPDATE account SET aliases_json = ?, updated_at = ? WHERE id = 1",
        (json.dumps(document), time.time()),
    )


async def set_moved(
    conn: aiosqlite.Connection, target: str | None, handle: str | None, *, at: float | None
) -> None:
    """Record our move to `target` (None: the move is undone; `moved_at` is then kept)."""
    await conn.execute(
        "UPDATE account SET moved_to = ?, moved_to_handle = ?, moved_at = COALESCE(?, moved_at),"
        " updated_at = ? WHERE id = 1",
        (target, handle, at, time.time()),
    )


async def record_actor_move(conn: aiosqlite.Connection, actor_id: int, target_id: int) -> None:
    await conn.execute(
        "INSERT INTO actor_moves (actor_id, target_id, received_at) VALUES (?, ?, ?)"
        " ON CONFLICT (actor_id) DO UPDATE SET target_id = excluded.target_id,"
        " received_at = excluded.received_at",
        (actor_id, target_id, time.time()),
    )


async def last_move_at(db: Database, actor_id: int) -> float | None:
    row = await db.fetchone("SELECT received_at FROM actor_moves WHERE actor_id = ?", (actor_id,))
    return None if row is None else float(row[0])


async def moved_targets(db: Database, actor_ids: Iterable[int]) -> dict[int, int]:
    """actor id → the actor id it moved to, for those of `actor_ids` that moved."""
    ids = list(dict.fromkeys(actor_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT actor_id, target_id FROM actor_moves WHERE actor_id IN ({marks})", ids
    )
    return {int(row[0]): int(row[1]) for row in rows}


async def is_alias_follower(db: Database, alias: str, follower: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM alias_followers WHERE alias_ap_id = ? AND follower_ap_id = ?",
        (alias, follower),
    )
    return row is not None


async def alias_read_at(db: Database, alias: str) -> float | None:
    row = await db.fetchone(
        "SELECT read_at FROM alias_follower_reads WHERE alias_ap_id = ?", (alias,)
    )
    return None if row is None else float(row[0])


async def add_alias_followers(
    conn: aiosqlite.Connection, alias: str, followers: Iterable[str]
) -> None:
    """Remember followers read from the alias's collection. Rows are only added: a follower
    who already unfollowed the old account (moving to us) must stay known."""
    await conn.executemany(
        "INSERT OR IGNORE INTO alias_followers (alias_ap_id, follower_ap_id) VALUES (?, ?)",
        [(alias, follower) for follower in followers],
    )
    await conn.execute(
        "INSERT INTO alias_follower_reads (alias_ap_id, read_at) VALUES (?, ?)"
        " ON CONFLICT (alias_ap_id) DO UPDATE SET read_at = excluded.read_at",
        (alias, time.time()),
    )
