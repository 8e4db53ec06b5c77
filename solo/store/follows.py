"""Follows both ways: 'in' (remote actors following us) and 'out' (actors we follow)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from solo.db import Database
from solo.store import domain_blocks

Direction = Literal["in", "out"]

# A pending follow is not a follow yet (Pixelfed counted them and leaked followers-only posts),
# and an actor whose account is gone is no longer anyone's follower.
_ACCEPTED = (
    "FROM follows JOIN actors ON actors.id = follows.actor_id"
    " WHERE follows.direction = ? AND follows.state = 'accepted' AND actors.deleted_at IS NULL"
)


@dataclass(frozen=True)
class FollowedActor:
    """One accepted follow, as a collection page lists it: the follow's id is the cursor."""

    follow_id: int
    actor_ap_id: str


async def count_accepted(db: Database, direction: Direction) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) {_ACCEPTED}", (direction,)))


async def accepted_page(
    db: Database, direction: Direction, *, max_id: int | None, limit: int
) -> list[FollowedActor]:
    """Accepted follows, newest first, older than the follow `max_id` when given."""
    rows = await db.fetchall(
        f"SELECT follows.id, actors.ap_id {_ACCEPTED}"
        " AND (? IS NULL OR follows.id < ?) ORDER BY follows.id DESC LIMIT ?",
        (direction, max_id, max_id, limit),
    )
    return [FollowedActor(row[0], row[1]) for row in rows]


@dataclass(frozen=True)
class Follow:
    id: int
    direction: Direction
    actor_id: int
    ap_id: str
    state: str
    created_at: float


def _follow(row: sqlite3.Row) -> Follow:
    return Follow(
        row["id"], row["direction"], row["actor_id"], row["ap_id"], row["state"], row["created_at"]
    )


async def get_follow(db: Database, direction: Direction, actor_id: int) -> Follow | None:
    row = await db.fetchone(
        "SELECT * FROM follows WHERE direction = ? AND actor_id = ?", (direction, actor_id)
    )
    return None if row is None else _follow(row)


async def get_follow_by_ap_id(db: Database, ap_id: str) -> Follow | None:
    row = await db.fetchone("SELECT * FROM follows WHERE ap_id = ?", (ap_id,))
    return None if row is None else _follow(row)


async def put_follow(
    conn: aiosqlite.Connection, direction: Direction, actor_id: int, ap_id: str, state: str
) -> int:
    """Record a follow (or a new Follow activity for an existing one); returns its id."""
    async with conn.execute(
        "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (direction, actor_id) DO UPDATE SET"
        " ap_id = excluded.ap_id,"
        " state = CASE WHEN follows.state = 'accepted' THEN 'accepted' ELSE excluded.state END"
        " RETURNING id",
        (direction, actor_id, ap_id, state, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def set_follow_state(conn: aiosqlite.Connection, follow_id: int, state: str) -> None:
    await conn.execute("UPDATE follows SET state = ? WHERE id = ?", (state, follow_id))


async def remove_follow(conn: aiosqlite.Connection, direction: Direction, actor_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM follows WHERE direction = ? AND actor_id = ?", (direction, actor_id)
    )
    return cursor.rowcount > 0


async def pending_requests(db: Database) -> list[Follow]:
    rows = await db.fetchall(
        "SELECT * FROM follows WHERE direction = 'in' AND state = 'pending' ORDER BY id DESC"
    )
    return [_follow(row) for row in rows]


# Where a follower's server takes our deliveries: its shared inbox (rule 32), else the
# follower's own; and the followers who get them: those whose server is not marked unavailable
# (deliveries resume once it is heard from).
_INBOX = "COALESCE(NULLIF(actors.shared_inbox, ''), actors.inbox)"
_DELIVERABLE = (
    f"{_ACCEPTED} AND actors.domain NOT IN (SELECT domain FROM hosts WHERE unavailable = 1)"
)

# One row (inbox, host) per inbox of a follower's server that may get our activities, for an
# INSERT … SELECT (a celebrity's 50,000 servers never come into Python): as `follower_inboxes`,
# less what a domain block covers, whether it names the account or its inbox's host. The
# inbox's host is worked out with SQL string functions only for an inbox off its account's
# host (a rare shared inbox), and after grouping: the grouped row's host is one whose account
# no block covers. Parameters: 'in', then a JSON array of inboxes to leave out.
FOLLOWER_SERVERS = (
    "SELECT inbox, host FROM ("
    "SELECT inbox, MIN(host) AS host FROM ("
    f"SELECT {_INBOX} AS inbox, actors.domain AS host {_DELIVERABLE}"
    " AND actors.id NOT IN (SELECT actor_id FROM domain_blocked_actors)"
    ") GROUP BY inbox"
    ") WHERE inbox NOT IN (SELECT value FROM json_each(?))"
    " AND (NOT EXISTS (SELECT 1 FROM domain_blocks)"
    " OR substr(inbox, instr(inbox, '://') + 3, length(host) + 1) = host || '/'"
    f" OR NOT {domain_blocks.covered_sql(domain_blocks.url_host_sql('inbox'))})"
)


async def follower_inboxes(db: Database) -> list[tuple[str, str]]:
    """(inbox, host) once per server: its shared inbox, else each follower's own inbox.

    Servers marked unavailable are left out (their deliveries resume once they are heard from).
    A fan-out does not read these: it queues its jobs with FOLLOWER_SERVERS.
    """
    rows = await db.fetchall(f"SELECT DISTINCT {_INBOX}, actors.domain {_DELIVERABLE}", ("in",))
    return [(row[0], row[1]) for row in rows]


async def follows_page(
    db: Database, direction: Direction, state: str | None, *, max_id: int | None, limit: int
) -> list[Follow]:
    """Follows one way (in one state, unless None), newest first, older than the follow
    `max_id` when given; follows of actors whose account is gone are left out."""
    rows = await db.fetchall(
        "SELECT follows.* FROM follows JOIN actors ON actors.id = follows.actor_id"
        " WHERE follows.direction = ? AND (? IS NULL OR follows.state = ?)"
        " AND actors.deleted_at IS NULL"
        " AND (? IS NULL OR follows.id < ?) ORDER BY follows.id DESC LIMIT ?",
        (direction, state, state, max_id, max_id, limit),
    )
    return [_follow(row) for row in rows]


async def follows_of(db: Database, actor_ids: Iterable[int]) -> dict[tuple[Direction, int], str]:
    """The follow states, both ways, with many actors in ONE query: (direction, actor) → state."""
    rows = await db.fetchall(
        "SELECT direction, actor_id, state FROM follows"
        " WHERE actor_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in actor_ids})),),
    )
    return {(row[0], row[1]): row[2] for row in rows}
