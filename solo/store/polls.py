"""Polls (Questions), ours and remote ones, and the votes in them.

One `polls` row per poll: the options with their counts as JSON, the voters count and when it
ends. `poll_votes` holds the votes of remote actors in our polls (`actor_id` set) and our own
votes in any poll (`actor_id` NULL). Our polls' counts are recounted from their votes; remote
polls' counts are what their server last said, plus our own vote until it says again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from solo.db import Database


@dataclass(frozen=True, slots=True)
class PollOption:
    title: str
    votes: int = 0


@dataclass(frozen=True, slots=True)
class PollState:
    """What a poll says about itself: ours when written, a remote one as its server sends it."""

    options: tuple[PollOption, ...]
    multiple: bool = False
    voters_count: int | None = None
    expires_at: float | None = None  # None: it never ends by itself (Misskey)
    closed_at: float | None = None  # set once it was closed (expired or ended early)


@dataclass(frozen=True, slots=True)
class Poll:
    status_id: int
    state: PollState
    refreshed_at: float | None
    ended_notified: bool
    own_choices: frozenset[int] = frozenset()  # what we voted for

    @property
    def options(self) -> tuple[PollOption, ...]:
        return self.state.options

    @property
    def multiple(self) -> bool:
        return self.state.multiple

    @property
    def voters_count(self) -> int | None:
        return self.state.voters_count

    @property
    def expires_at(self) -> float | None:
        return self.state.expires_at

    @property
    def closed_at(self) -> float | None:
        return self.state.closed_at

    def ended(self, now: float) -> bool:
        return self.closed_at is not None or (
            self.expires_at is not None and self.expires_at <= now
        )

    @property
    def voted(self) -> bool:
        return bool(self.own_choices)


def options_json(options: Iterable[PollOption]) -> str:
    return json.dumps(
        [{"title": o.title, "votes": o.votes} for o in options],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _options(raw: str) -> tuple[PollOption, ...]:
    try:
        items: Any = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(
        PollOption(str(item.get("title", "")), int(item.get("votes") or 0))
        for item in items
        if isinstance(item, dict)
    )


def _poll(row: sqlite3.Row) -> Poll:
    mine = json.loads(row["mine"]) if row["mine"] else []
    return Poll(
        status_id=row["status_id"],
        state=PollState(
            options=_options(row["options_json"]),
            multiple=bool(row["multiple"]),
            voters_count=row["voters_count"],
            expires_at=row["expires_at"],
            closed_at=row["closed_at"],
        ),
        refreshed_at=row["refreshed_at"],
        ended_notified=bool(row["ended_notified"]),
        own_choices=frozenset(int(choice) for choice in mine),
    )


# Our own choices come with each poll, so that a page of polls is one query.
_SELECT = (
    "SELECT p.*, (SELECT json_group_array(v.choice) FROM poll_votes v"
    " WHERE v.status_id = p.status_id AND v.actor_id IS NULL) AS mine FROM polls p"
)


async def get_poll(db: Database, status_id: int) -> Poll | None:
    row = await db.fetchone(f"{_SELECT} WHERE p.status_id = ?", (status_id,))
    return None if row is None else _poll(row)


async def polls_of(db: Database, status_ids: Iterable[int]) -> dict[int, Poll]:
    """The polls of many statuses in one query, by status id."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE p.status_id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(i) for i in status_ids]),),
    )
    return {row["status_id"]: _poll(row) for row in rows}


async def save(
    conn: aiosqlite.Connection, status_id: int, state: PollState, *, refreshed_at: float | None
) -> None:
    """Store a poll, or take the new state of one stored (whether its end was told is kept)."""
    await conn.execute(
        "INSERT INTO polls (status_id, multiple, options_json, voters_count, expires_at,"
        " closed_at, refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (status_id) DO UPDATE SET multiple = excluded.multiple,"
        " options_json = excluded.options_json, voters_count = excluded.voters_count,"
        " expires_at = excluded.expires_at, closed_at = excluded.closed_at,"
        " refreshed_at = excluded.refreshed_at",
        (
            status_id,
            int(state.multiple),
            options_json(state.options),
            state.voters_count,
            state.expires_at,
            state.closed_at,
            refreshed_at,
        ),
    )


async def touch(conn: aiosqlite.Connection, status_id: int, now: float) -> None:
    """Note that a refresh was tried, so that a failing origin is not asked on every page."""
    await conn.execute("UPDATE polls SET refreshed_at = ? WHERE status_id = ?", (now, status_id))


async def choices_of(conn: aiosqlite.Connection, status_id: int, actor_id: int | None) -> set[int]:
    """A voter's choices (ours when `actor_id` is None), read on the writer."""
    async with conn.execute(
        "SELECT choice FROM poll_votes WHERE status_id = ? AND actor_id IS ?",
        (status_id, actor_id),
    ) as cursor:
        return {int(row[0]) for row in await cursor.fetchall()}


async def add_vote(
    conn: aiosqlite.Connection,
    status_id: int,
    actor_id: int | None,
    choice: int,
    ap_id: str | None,
    now: float,
) -> bool:
    """Record one vote; False when it was there already (by its id or by voter and choice)."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO poll_votes (status_id, actor_id, choice, ap_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (status_id, actor_id, choice, ap_id, now),
    )
    return cursor.rowcount > 0


async def recount(conn: aiosqlite.Connection, status_id: int) -> None:
    """Our poll's counts, from its votes."""
    async with conn.execute(
        "SELECT options_json FROM polls WHERE status_id = ?", (status_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return
    async with conn.execute(
        "SELECT choice, COUNT(*) FROM poll_votes WHERE status_id = ? GROUP BY choice",
        (status_id,),
    ) as cursor:
        counts = {int(choice): int(n) for choice, n in await cursor.fetchall()}
    async with conn.execute(
        "SELECT COUNT(DISTINCT COALESCE(actor_id, 0)) FROM poll_votes WHERE status_id = ?",
        (status_id,),
    ) as cursor:
        voters = await cursor.fetchone()
    options = [PollOption(o.title, counts.get(i, 0)) for i, o in enumerate(_options(row[0]))]
    await conn.execute(
        "UPDATE polls SET options_json = ?, voters_count = ? WHERE status_id = ?",
        (options_json(options), 0 if voters is None else int(voters[0]), status_id),
    )


async def count_own_vote(conn: aiosqlite.Connection, poll: Poll, choices: Sequence[int]) -> None:
    """A remote poll's counts with our vote added, until its server tells the new ones."""
    options = [
        PollOption(o.title, o.votes + (1 if i in choices else 0))
        for i, o in enumerate(poll.options)
    ]
    voters = None if poll.voters_count is None else poll.voters_count + 1
    await conn.execute(
        "UPDATE polls SET options_json = ?, voters_count = ? WHERE status_id = ?",
        (options_json(options), voters, poll.status_id),
    )


async def next_end(db: Database) -> float | None:
    """When the next poll whose end was not yet told ends (or ended)."""
    value = await db.fetchval(
        "SELECT MIN(COALESCE(closed_at, expires_at)) FROM polls WHERE ended_notified = 0"
    )
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Ended:
    """A poll that has ended and whose end was not yet told."""

    status_id: int
    author_id: int | None  # None: ours
    voted: bool  # we voted in it


async def ended(db: Database, now: float, limit: int = 100) -> list[Ended]:
    rows = await db.fetchall(
        "SELECT p.status_id, s.actor_id,"
        " EXISTS (SELECT 1 FROM poll_votes v WHERE v.status_id = p.status_id"
        " AND v.actor_id IS NULL) AS voted"
        " FROM polls p JOIN statuses s ON s.id = p.status_id"
        " WHERE p.ended_notified = 0 AND COALESCE(p.closed_at, p.expires_at) <= ?"
        " ORDER BY COALESCE(p.closed_at, p.expires_at) LIMIT ?",
        (now, limit),
    )
    return [Ended(row[0], row[1], bool(row[2])) for row in rows]


async def mark_ended(conn: aiosqlite.Connection, status_id: int, closed_at: float) -> bool:
    """Record that a poll's end was told; False when it was already."""
    cursor = await conn.execute(
        "UPDATE polls SET ended_notified = 1, closed_at = COALESCE(closed_at, ?)"
        " WHERE status_id = ? AND ended_notified = 0",
        (closed_at, status_id),
    )
    return cursor.rowcount > 0


async def voter_ids(db: Database, status_id: int) -> list[int]:
    """The remote actors who voted in one of our polls."""
    rows = await db.fetchall(
        "SELECT DISTINCT actor_id FROM poll_votes WHERE status_id = ? AND actor_id IS NOT NULL",
        (status_id,),
    )
    return [int(row[0]) for row in rows]
