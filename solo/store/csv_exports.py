"""What the CSV exports list, in one query each: accounts as `user@server` with their ids."""

from __future__ import annotations

from dataclasses import dataclass

from solo.db import Database
from solo.store.mutes import ACTIVE


@dataclass(frozen=True)
class Listed:
    address: str  # user@server, as Mastodon's exports write it
    ap_id: str
    flag: bool = False  # mutes: whether notifications are hidden too


_ADDRESS = "actors.username || '@' || actors.domain"


async def followed(db: Database) -> list[Listed]:
    """The accounts we follow or asked to follow, newest first."""
    rows = await db.fetchall(
        f"SELECT {_ADDRESS}, actors.ap_id FROM follows JOIN actors ON actors.id = follows.actor_id"
        " WHERE follows.direction = 'out' AND actors.deleted_at IS NULL ORDER BY follows.id DESC"
    )
    return [Listed(row[0], row[1]) for row in rows]


async def blocked(db: Database) -> list[Listed]:
    rows = await db.fetchall(
        f"SELECT {_ADDRESS}, actors.ap_id FROM interactions"
        " JOIN actors ON actors.id = interactions.target_actor_id"
        " WHERE interactions.kind = 'block' AND interactions.actor_id IS NULL"
        " AND actors.deleted_at IS NULL ORDER BY interactions.id DESC"
    )
    return [Listed(row[0], row[1]) for row in rows]


async def muted(db: Database) -> list[Listed]:
    """The mutes in force, newest first, with whether they hide notifications."""
    rows = await db.fetchall(
        f"SELECT {_ADDRESS}, actors.ap_id, mutes.notifications FROM mutes"
        " JOIN actors ON actors.id = mutes.actor_id"
        f" WHERE mutes.actor_id IN ({ACTIVE}) AND actors.deleted_at IS NULL"
        " ORDER BY mutes.created_at DESC"
    )
    return [Listed(row[0], row[1], bool(row[2])) for row in rows]


@dataclass(frozen=True)
class Bookmarked:
    status_id: int
    ap_id: str
    url: str | None


async def bookmarked(db: Database) -> list[Bookmarked]:
    """Our bookmarks of posts that still exist, newest first."""
    rows = await db.fetchall(
        "SELECT statuses.id, statuses.ap_id, statuses.url FROM interactions"
        " JOIN statuses ON statuses.id = interactions.status_id"
        " WHERE interactions.kind = 'bookmark' AND interactions.actor_id IS NULL"
        " AND statuses.deleted_at IS NULL ORDER BY interactions.id DESC"
    )
    return [Bookmarked(row[0], row[1], row[2]) for row in rows]
