"""Favourites, boosts, bookmarks and blocks, by us (actor_id NULL) or by remote actors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import aiosqlite

from solo.db import Database
from solo.store.conversation_mutes import MUTED_PAGE

Kind = Literal["like", "announce", "bookmark", "block"]


async def add(
    conn: aiosqlite.Connection,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
    ap_id: str | None = None,
    reaction: str | None = None,
    reaction_emojis_json: str | None = None,
) -> bool:
    """Record an interaction once; True when it is new. A favourite that was an emoji reaction
    keeps its emoji (`reaction`, and the custom emoji's image as `emojis_json`)."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO interactions (kind, actor_id, status_id, target_actor_id, ap_id,"
        " reaction, reaction_emojis_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            actor_id,
            status_id,
            target_actor_id,
            ap_id,
            reaction,
            reaction_emojis_json,
            time.time(),
        ),
    )
    return cursor.rowcount > 0


async def reactions(
    db: Database, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], tuple[str, str | None]]:
    """The emoji of the favourites given as (actor id, status id) that were emoji reactions,
    as (reaction, emojis_json), in one query."""
    wanted = json.dumps([[int(a), int(s)] for a, s in pairs])
    rows = await db.fetchall(
        "SELECT actor_id, status_id, reaction, reaction_emojis_json FROM interactions"
        " WHERE kind = 'like' AND reaction IS NOT NULL AND (actor_id, status_id) IN"
        " (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
        (wanted,),
    )
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


async def remove(
    conn: aiosqlite.Connection,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
) -> str | None:
    """Remove an interaction; returns its activity id ('' if it had none), None if absent."""
    async with conn.execute(
        "DELETE FROM interactions WHERE kind = ? AND actor_id IS ? AND status_id IS ?"
        " AND target_actor_id IS ? RETURNING ap_id",
        (kind, actor_id, status_id, target_actor_id),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else (row[0] or "")


async def exists(
    db: Database,
    kind: Kind,
    *,
    actor_id: int | None,
    status_id: int | None = None,
    target_actor_id: int | None = None,
) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM interactions WHERE kind = ? AND actor_id IS ? AND status_id IS ?"
        " AND target_actor_id IS ?",
        (kind, actor_id, status_id, target_actor_id),
    )
    return found is not None


async def count(db: Database, kind: Kind, status_id: int) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM interactions WHERE kind = ? AND status_id = ?",
            (kind, status_id),
        )
    )


@dataclass(frozen=True)
class StatusCounts:
    """What a status card shows beside a post: its counts and what we did to it."""

    favourites: int = 0
    boosts: int = 0
    replies: int = 0
    favourited: bool = False
    boosted: bool = False
    bookmarked: bool = False
    pinned: bool = False
    muted: bool = False  # its conversation is muted (`solo.store.conversation_mutes`)


async def status_counts(db: Database, status_ids: Iterable[int]) -> dict[int, StatusCounts]:
    """Counts and our own flags for many posts in ONE query; posts with none are absent."""
    rows = await db.fetchall(
        f"WITH RECURSIVE page(id) AS (SELECT value FROM json_each(?)), {MUTED_PAGE}"
        " SELECT status_id, kind, COUNT(*), MAX(actor_id IS NULL) FROM interactions"
        " WHERE status_id IN page AND kind IN ('like', 'announce', 'bookmark')"
        " GROUP BY status_id, kind"
        " UNION ALL SELECT in_reply_to_id, 'reply', COUNT(*), 0 FROM statuses"
        " WHERE in_reply_to_id IN page AND deleted_at IS NULL GROUP BY in_reply_to_id"
        " UNION ALL SELECT status_id, 'pin', 1, 1 FROM pins WHERE status_id IN page"
        " UNION ALL SELECT id, 'muted', 1, 1 FROM muted_page",
        (json.dumps([int(i) for i in status_ids]),),
    )
    found: dict[int, StatusCounts] = {}
    for status_id, kind, number, mine in rows:
        counts = found.get(status_id, StatusCounts())
        if kind == "like":
            counts = replace(counts, favourites=number, favourited=bool(mine))
        elif kind == "announce":
            counts = replace(counts, boosts=number, boosted=bool(mine))
        elif kind == "bookmark":
            counts = replace(counts, bookmarked=bool(mine))  # ours only: no count to show
        elif kind == "pin":
            counts = replace(counts, pinned=True)
        elif kind == "muted":
            counts = replace(counts, muted=True)
        else:
            counts = replace(counts, replies=number)
        found[status_id] = counts
    return found


async def bookmarks_page(db: Database, *, max_id: int | None, limit: int) -> list[tuple[int, int]]:
    """Our bookmarks, newest first, as (bookmark id, status id); `max_id` is a bookmark id."""
    rows = await db.fetchall(
        "SELECT id, status_id FROM interactions WHERE kind = 'bookmark' AND actor_id IS NULL"
        " AND status_id IS NOT NULL AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [(row[0], row[1]) for row in rows]
