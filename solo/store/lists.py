"""Lists: named sets of accounts we follow, each with its own timeline, and the rule that
timeline follows (`list_rule`).

List timelines are read from SQLite, not kept in memory as home is: a user may have many
lists, most rarely opened, and a list's posts are found through the `statuses_actor` index
(one range per member), which stays cheap however large the database grows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import aiosqlite

from solo.db import Database
from solo.store.listings import Window
from solo.store.suppression import HIDDEN_AUTHORS

RepliesPolicy = Literal["followed", "list", "none"]
REPLIES_POLICIES: Final = ("followed", "list", "none")
_FOLLOWED = "SELECT actor_id FROM follows WHERE direction = 'out' AND state = 'accepted'"
# Members of exclusive lists: their posts stay out of home (Mastodon's `exclusive`).
EXCLUSIVE_MEMBERS: Final = (
    "SELECT la.actor_id FROM list_accounts la JOIN lists l ON l.id = la.list_id"
    " WHERE l.exclusive = 1"
)


@dataclass(frozen=True, slots=True)
class List:
    id: int
    title: str
    replies_policy: RepliesPolicy
    exclusive: bool
    created_at: float


def list_rule(list_id: int) -> str:
    """SQL true when the post `s` belongs in the list's timeline: posts and boosts by its
    members (not direct messages), nothing by or boosting a hidden account, and replies as the
    list's policy says (Mastodon's `filter_from_list?`): to themselves or to us always; to
    accounts we follow (`followed`), to members (`list`), or no others (`none`)."""
    members = f"SELECT actor_id FROM list_accounts WHERE list_id = {int(list_id)}"
    policy = f"(SELECT replies_policy FROM lists WHERE id = {int(list_id)})"
    return f"""
    s.deleted_at IS NULL
    AND s.visibility != 'direct'
    AND s.actor_id IN ({members})
    AND s.actor_id NOT IN ({HIDDEN_AUTHORS})
    AND NOT EXISTS (
        SELECT 1 FROM statuses b WHERE b.id = s.reblog_of_id AND b.actor_id IN ({HIDDEN_AUTHORS})
    )
    AND (
        s.in_reply_to_ap_id IS NULL
        OR EXISTS (
            SELECT 1 FROM statuses p WHERE p.id = s.in_reply_to_id
            AND (p.actor_id IS NULL OR p.actor_id = s.actor_id
                 OR ({policy} = 'followed' AND p.actor_id IN ({_FOLLOWED}))
                 OR ({policy} = 'list' AND p.actor_id IN ({members})))
        )
    )
    """


def _list(row: aiosqlite.Row) -> List:
    return List(
        id=row["id"],
        title=row["title"],
        replies_policy=row["replies_policy"],
        exclusive=bool(row["exclusive"]),
        created_at=row["created_at"],
    )


async def all_lists(db: Database) -> list[List]:
    """Every list, by title (as Mastodon orders them)."""
    rows = await db.fetchall("SELECT * FROM lists ORDER BY lower(title), id")
    return [_list(row) for row in rows]


async def get_list(db: Database, list_id: int) -> List | None:
    row = await db.fetchone("SELECT * FROM lists WHERE id = ?", (list_id,))
    return None if row is None else _list(row)


async def find_by_title(db: Database, title: str) -> List | None:
    row = await db.fetchone("SELECT * FROM lists WHERE title = ? ORDER BY id LIMIT 1", (title,))
    return None if row is None else _list(row)


async def count_lists(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM lists"))


async def create(
    conn: aiosqlite.Connection, title: str, policy: RepliesPolicy, exclusive: bool
) -> int:
    async with conn.execute(
        "INSERT INTO lists (title, replies_policy, exclusive, created_at) VALUES (?, ?, ?, ?)",
        (title, policy, int(exclusive), time.time()),
    ) as cursor:
        return cursor.lastrowid or 0


async def update(
    conn: aiosqlite.Connection, list_id: int, title: str, policy: RepliesPolicy, exclusive: bool
) -> None:
    await conn.execute(
        "UPDATE lists SET title = ?, replies_policy = ?, exclusive = ? WHERE id = ?",
        (title, policy, int(exclusive), list_id),
    )


async def delete(conn: aiosqlite.Connection, list_id: int) -> None:
    await conn.execute("DELETE FROM lists WHERE id = ?", (list_id,))


async def count_members(db: Database, list_id: int) -> int:
    return int(
        await db.fetchval("SELECT count(*) FROM list_accounts WHERE list_id = ?", (list_id,))
    )


async def add_members(conn: aiosqlite.Connection, list_id: int, actor_ids: Iterable[int]) -> None:
    now = time.time()
    await conn.executemany(
        "INSERT OR IGNORE INTO list_accounts (list_id, actor_id, created_at) VALUES (?, ?, ?)",
        [(list_id, actor_id, now) for actor_id in actor_ids],
    )


async def remove_members(
    conn: aiosqlite.Connection, list_id: int, actor_ids: Iterable[int]
) -> None:
    await conn.executemany(
        "DELETE FROM list_accounts WHERE list_id = ? AND actor_id = ?",
        [(list_id, actor_id) for actor_id in actor_ids],
    )


async def members_of(db: Database, list_id: int, actor_ids: Sequence[int]) -> set[int]:
    """Of these accounts, those on the list."""
    rows = await db.fetchall(
        "SELECT actor_id FROM list_accounts WHERE list_id = ?"
        " AND actor_id IN (SELECT value FROM json_each(?))",
        (list_id, json.dumps(list(actor_ids))),
    )
    return {row[0] for row in rows}


async def members_page(db: Database, list_id: int, window: Window | None) -> list[tuple[int, int]]:
    """(row id, actor id) of members, newest first by when they were added; the row id is the
    cursor. No window: every member (at most the list's cap)."""
    where, order, limit = "1", "DESC", -1
    args: list[int] = []
    if window is not None:
        where, args, order = window.sql("la.id")
        limit = window.limit
    rows = await db.fetchall(
        "SELECT la.id, la.actor_id FROM list_accounts la JOIN actors a ON a.id = la.actor_id"
        f" WHERE la.list_id = ? AND a.deleted_at IS NULL AND {where}"
        f" ORDER BY la.id {order} LIMIT ?",
        (list_id, *args, limit),
    )
    return [(row[0], row[1]) for row in rows]


async def lists_with(db: Database, actor_id: int) -> list[List]:
    """The lists an account is on."""
    rows = await db.fetchall(
        "SELECT l.* FROM lists l JOIN list_accounts la ON la.list_id = l.id"
        " WHERE la.actor_id = ? ORDER BY lower(l.title), l.id",
        (actor_id,),
    )
    return [_list(row) for row in rows]


async def timeline(db: Database, list_id: int, window: Window) -> list[int]:
    """A page of the list's timeline (status ids, in the window's reading order)."""
    where, args, order = window.sql("s.id")
    rows = await db.fetchall(
        f"SELECT s.id FROM statuses s WHERE ({list_rule(list_id)}) AND {where}"
        f" ORDER BY s.id {order} LIMIT ?",
        (*args, window.limit),
    )
    return [row[0] for row in rows]


async def lists_showing(db: Database, status_id: int) -> list[int]:
    """The lists whose timeline a newly stored post enters (for the `list` streams)."""
    candidates = await db.fetchall(
        "SELECT la.list_id FROM list_accounts la JOIN statuses s ON s.actor_id = la.actor_id"
        " WHERE s.id = ?",
        (status_id,),
    )
    found = []
    for (list_id,) in candidates:
        row = await db.fetchone(
            f"SELECT 1 FROM statuses s WHERE s.id = ? AND ({list_rule(list_id)})", (status_id,)
        )
        if row is not None:
            found.append(list_id)
    return found


async def export_rows(db: Database) -> list[tuple[str, str]]:
    """(list title, member's user@host) for every member of every list."""
    rows = await db.fetchall(
        "SELECT l.title, a.username || '@' || a.domain FROM lists l"
        " JOIN list_accounts la ON la.list_id = l.id JOIN actors a ON a.id = la.actor_id"
        " WHERE a.deleted_at IS NULL ORDER BY lower(l.title), l.id, la.id"
    )
    return [(row[0], row[1]) for row in rows]
