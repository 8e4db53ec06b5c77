"""Conversations: direct messages grouped as Mastodon groups them, by the conversation id of
the posts (ours carry one, as do Mastodon's and Solo's; a reply joins its parent's), each with
the user's unread mark.

    await link(conn, status)          # inside the transaction that stores a direct message
    await page(db, where, args, order, limit)   # the list, newest last message first
    await mark_read(conn, id) / remove(conn, id)

A conversation's messages are its rows in `conversation_statuses`; what is shown is worked out
when read: its last message not deleted and not held back by the notification policy (Mastodon
4.3 keeps filtered direct messages out of conversations until their request is accepted), and
its participants, the authors and the mentioned accounts of its messages, us left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from solo.db import Database

# A message shown in a conversation: not deleted, not waiting as a notification request.
_SHOWN = (
    "s.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM notifications n"
    " WHERE n.status_id = s.id AND n.filtered = 1)"
)
MAX_PARTICIPANTS = 40


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    unread: bool
    last_status_id: int
    cursor: int  # the paging cursor: where its last message arrived in the order of arrival


async def link(
    conn: aiosqlite.Connection,
    status_id: int,
    *,
    conversation: str | None,
    in_reply_to_id: int | None,
    ours: bool,
) -> int:
    """File a stored direct message in its conversation (made when new), unread unless it is
    ours; a removed conversation comes back. Returns the conversation's id."""
    key = None
    if in_reply_to_id is not None:
        async with conn.execute(
            "SELECT c.key FROM conversation_statuses cs JOIN conversations c"
            " ON c.id = cs.conversation_id WHERE cs.status_id = ?",
            (in_reply_to_id,),
        ) as cursor:
            row = await cursor.fetchone()
        key = None if row is None else str(row[0])
    key = key or conversation or f"solo:status:{status_id}"
    now = time.time()
    async with conn.execute(
        "INSERT INTO conversations (key, unread, removed, updated_at) VALUES (?, ?, 0, ?)"
        " ON CONFLICT (key) DO UPDATE SET unread = MAX(unread, excluded.unread), removed = 0,"
        " updated_at = excluded.updated_at RETURNING id",
        (key, int(not ours), now),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    conversation_id = int(row[0])
    if ours:
        # Writing in a conversation is reading it (Mastodon marks it read for its author).
        await conn.execute("UPDATE conversations SET unread = 0 WHERE id = ?", (conversation_id,))
    await conn.execute(
        "INSERT OR IGNORE INTO conversation_statuses (status_id, conversation_id) VALUES (?, ?)",
        (status_id, conversation_id),
    )
    return conversation_id


# SQLite takes the bare `s.id` from the row where MAX() found its maximum: the last arrived.
_LISTED = (
    "SELECT c.id, c.unread, s.id, MAX(cs.id) AS last FROM conversations c"
    " JOIN conversation_statuses cs ON cs.conversation_id = c.id"
    f" JOIN statuses s ON s.id = cs.status_id AND {_SHOWN}"
)


async def page(
    db: Database, *, where: str, args: list[int], order: str, limit: int
) -> list[Conversation]:
    """A page of the conversations not removed, by their last message (`where`, `args` and
    `order` from `solo.api.paging.PageRequest.sql("last")`, on `Conversation.cursor`)."""
    direction = "ASC" if order == "ASC" else "DESC"
    rows = await db.fetchall(
        f"{_LISTED} WHERE c.removed = 0 GROUP BY c.id HAVING {where}"
        f" ORDER BY last {direction} LIMIT ?",
        (*args, limit),
    )
    return [Conversation(row[0], bool(row[1]), row[2], row[3]) for row in rows]


async def get(db: Database, conversation_id: int) -> Conversation | None:
    """One conversation, removed or not; None when it has nothing to show."""
    row = await db.fetchone(f"{_LISTED} WHERE c.id = ? GROUP BY c.id", (conversation_id,))
    return None if row is None else Conversation(row[0], bool(row[1]), row[2], row[3])


async def of_status(db: Database, status_id: int) -> int | None:
    """The conversation a direct message is in."""
    value = await db.fetchval(
        "SELECT conversation_id FROM conversation_statuses WHERE status_id = ?", (status_id,)
    )
    return None if value is None else int(value)


async def exists(db: Database, conversation_id: int) -> bool:
    return bool(
        await db.fetchval("SELECT COUNT(*) FROM conversations WHERE id = ?", (conversation_id,))
    )


async def statuses(db: Database, conversation_id: int, limit: int) -> list[int]:
    """The ids of its messages shown, oldest first (the last `limit` of them)."""
    rows = await db.fetchall(
        "SELECT s.id FROM conversation_statuses cs JOIN statuses s ON s.id = cs.status_id"
        f" WHERE cs.conversation_id = ? AND {_SHOWN} ORDER BY cs.id DESC LIMIT ?",
        (conversation_id, limit),
    )
    return [int(row[0]) for row in reversed(rows)]


async def participants(db: Database, conversation_ids: list[int]) -> dict[int, list[int]]:
    """For each conversation, the remote accounts in it: the authors of its messages and the
    accounts they mention, first seen first."""
    if not conversation_ids:
        return {}
    marks = ",".join("?" * len(conversation_ids))
    rows = await db.fetchall(
        "WITH messages AS (SELECT cs.conversation_id AS cid, cs.id, s.actor_id, s.raw"
        " FROM conversation_statuses cs JOIN statuses s ON s.id = cs.status_id"
        f" WHERE cs.conversation_id IN ({marks}) AND {_SHOWN}),"
        " people AS ("
        "  SELECT cid, id, actor_id FROM messages WHERE actor_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT m.cid, m.id, a.id FROM messages m"
        "  JOIN json_each(CASE WHEN json_valid(m.raw) THEN m.raw ELSE '{}' END, '$.tag') t"
        "  JOIN actors a ON a.ap_id = json_extract(t.value, '$.href')"
        "  WHERE json_extract(t.value, '$.type') = 'Mention')"
        " SELECT cid, actor_id, MIN(id) AS first FROM people GROUP BY cid, actor_id"
        " ORDER BY cid, first",
        tuple(conversation_ids),
    )
    found: dict[int, list[int]] = {cid: [] for cid in conversation_ids}
    for row in rows:
        people = found[int(row[0])]
        if len(people) < MAX_PARTICIPANTS:
            people.append(int(row[1]))
    return found


async def mark_read(conn: aiosqlite.Connection, conversation_id: int) -> None:
    await conn.execute("UPDATE conversations SET unread = 0 WHERE id = ?", (conversation_id,))


async def remove(conn: aiosqlite.Connection, conversation_id: int) -> None:
    """Out of the list until a new message arrives (Mastodon's `DELETE /conversations/:id`)."""
    await conn.execute(
        "UPDATE conversations SET removed = 1, unread = 0 WHERE id = ?", (conversation_id,)
    )


async def unread_count(db: Database) -> int:
    """Conversations with unread messages shown, for the web's navigation."""
    rows = await db.fetchall(f"{_LISTED} WHERE c.removed = 0 AND c.unread = 1 GROUP BY c.id", ())
    return len(rows)
