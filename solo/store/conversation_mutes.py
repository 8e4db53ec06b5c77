"""Muted conversations (POST /api/v1/statuses/:id/mute, the web's "Mute conversation").

A mute is kept on the thread's root, the topmost post we have of it. A post belongs to a muted
thread when the root is among its ancestors (or is the post itself), or when it carries the
root's `conversation` (a reply whose parent never reached us still names its thread).
"""

from __future__ import annotations

import time

import aiosqlite

from solo.db import Database
from solo.store.statuses import THREAD_DEPTH

# The `conversation` ids of muted threads.
# Driven from the (few) mutes: written as a join, SQLite chose to scan every status instead.
_MUTED_CONVERSATIONS = (
    "SELECT r.conversation FROM statuses r"
    " WHERE r.id IN (SELECT status_id FROM conversation_mutes) AND r.conversation IS NOT NULL"
)
# Every post below a muted root, the roots too, as SQL (one walk down the reply index; empty
# at once when nothing is muted).
MUTED_THREAD_POSTS = (
    "WITH RECURSIVE muted_thread(id, depth) AS ("
    " SELECT status_id, 0 FROM conversation_mutes"
    " UNION SELECT s.id, m.depth + 1 FROM statuses s JOIN muted_thread m"
    f" ON s.in_reply_to_id = m.id WHERE m.depth < {THREAD_DEPTH})"
    " SELECT id FROM muted_thread"
)


def in_muted_thread(status: str) -> str:
    """SQL true when the post whose id is the expression `status` is in a muted thread."""
    return (
        f"({status} IN ({MUTED_THREAD_POSTS}) OR EXISTS (SELECT 1 FROM statuses t"
        f" WHERE t.id = {status} AND t.conversation IN ({_MUTED_CONVERSATIONS})))"
    )


# For a page of post ids (the CTE `page(id)`): those in muted threads, as `muted_page(id)`;
# walks up from each post only when some thread is muted at all.
MUTED_PAGE = (
    "up(start, id, depth) AS ("
    " SELECT id, id, 0 FROM page WHERE EXISTS (SELECT 1 FROM conversation_mutes)"
    " UNION ALL SELECT up.start, s.in_reply_to_id, up.depth + 1 FROM up"
    " JOIN statuses s ON s.id = up.id"
    f" WHERE s.in_reply_to_id IS NOT NULL AND up.depth < {THREAD_DEPTH}),"
    " muted_page(id) AS ("
    " SELECT start FROM up WHERE id IN (SELECT status_id FROM conversation_mutes)"
    " UNION SELECT s.id FROM statuses s WHERE s.id IN page"
    f" AND s.conversation IN ({_MUTED_CONVERSATIONS}))"
)


async def thread_root(db: Database, status_id: int) -> int:
    """The topmost post we have above `status_id` (itself when it answers nothing we have)."""
    row = await db.fetchone(
        "WITH RECURSIVE up(id, parent, depth) AS ("
        " SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = ?"
        " UNION ALL SELECT s.id, s.in_reply_to_id, up.depth + 1 FROM statuses s"
        " JOIN up ON s.id = up.parent WHERE up.depth < ?)"
        " SELECT id FROM up ORDER BY depth DESC LIMIT 1",
        (status_id, THREAD_DEPTH),
    )
    return status_id if row is None else int(row[0])


async def mute(conn: aiosqlite.Connection, root_id: int) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO conversation_mutes (status_id, created_at) VALUES (?, ?)",
        (root_id, time.time()),
    )


async def unmute(conn: aiosqlite.Connection, root_id: int) -> int:
    """Lift every mute within the thread of `root_id` (a mute kept on a post that has since
    gained ancestors lies below the root); how many there were."""
    cursor = await conn.execute(
        "WITH RECURSIVE down(id, depth) AS (SELECT ?, 0"
        " UNION SELECT s.id, down.depth + 1 FROM statuses s JOIN down"
        " ON s.in_reply_to_id = down.id WHERE down.depth < ?)"
        " DELETE FROM conversation_mutes WHERE status_id IN (SELECT id FROM down)"
        " OR status_id IN (SELECT c.status_id FROM conversation_mutes c"
        " JOIN statuses r ON r.id = c.status_id JOIN statuses me ON me.id = ?"
        " WHERE r.conversation IS NOT NULL AND r.conversation = me.conversation)",
        (root_id, THREAD_DEPTH, root_id),
    )
    return cursor.rowcount


async def is_muted(db: Database, status_id: int) -> bool:
    return bool(
        await db.fetchval(
            f"WITH RECURSIVE page(id) AS (SELECT ?), {MUTED_PAGE}"
            " SELECT EXISTS (SELECT 1 FROM muted_page)",
            (status_id,),
        )
    )
