"""The numbers the client API shows about the account and the instance, in one read each."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from solo.db import Database

# Our posts, boosts included (Mastodon's statuses_count counts both), not deleted.
_OURS = "actor_id IS NULL AND deleted_at IS NULL"


@dataclass(frozen=True)
class AccountCounts:
    followers: int
    following: int
    statuses: int
    last_status_at: float | None
    follow_requests: int


@dataclass(frozen=True)
class InstanceCounts:
    statuses: int  # our own posts, boosts left out (as NodeInfo's localPosts)
    domains: int  # servers we know of


def _account_counts(conn: sqlite3.Connection) -> AccountCounts:
    follows = conn.execute(
        "SELECT"
        " count(*) FILTER (WHERE direction = 'in' AND state = 'accepted'),"
        " count(*) FILTER (WHERE direction = 'out' AND state = 'accepted'),"
        " count(*) FILTER (WHERE direction = 'in' AND state = 'pending')"
        " FROM follows"
    ).fetchone()
    posts = conn.execute(
        f"SELECT count(*), max(published_at) FROM statuses WHERE {_OURS}"
    ).fetchone()
    return AccountCounts(
        followers=follows[0],
        following=follows[1],
        statuses=posts[0],
        last_status_at=posts[1],
        follow_requests=follows[2],
    )


async def account_counts(db: Database) -> AccountCounts:
    return await db.read(_account_counts)


def _instance_counts(conn: sqlite3.Connection) -> InstanceCounts:
    statuses = conn.execute(
        f"SELECT count(*) FROM statuses WHERE {_OURS} AND reblog_of_id IS NULL"
    ).fetchone()[0]
    domains = conn.execute(
        "SELECT count(DISTINCT domain) FROM actors WHERE deleted_at IS NULL"
    ).fetchone()[0]
    return InstanceCounts(statuses=statuses, domains=domains)


async def instance_counts(db: Database) -> InstanceCounts:
    return await db.read(_instance_counts)


async def actor_post_counts(
    db: Database, actor_ids: Iterable[int]
) -> dict[int, tuple[int, float | None]]:
    """The posts and boosts we have of many remote actors, in ONE query: actor → (count, time
    of the latest); actors with none are absent."""
    rows = await db.fetchall(
        "SELECT actor_id, count(*), max(published_at) FROM statuses"
        " WHERE actor_id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL"
        " GROUP BY actor_id",
        (json.dumps(sorted({int(i) for i in actor_ids})),),
    )
    return {row[0]: (row[1], row[2]) for row in rows}
