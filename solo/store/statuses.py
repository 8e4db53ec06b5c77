"""Statuses: ours (actor_id NULL) and remote ones, as rows of the `statuses` table."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, cast
from urllib.parse import urlsplit

import aiosqlite

from solo.db import Database
from solo.store import conversations, edits
from solo.store import media as media_store
from solo.store.domain_blocks import BLOCKED_ACTORS as DOMAIN_BLOCKED

Visibility = Literal["public", "unlisted", "private", "direct"]

# What a local status must be to count as a post of ours: not deleted, not a boost.
_LOCAL_POST = "actor_id IS NULL AND deleted_at IS NULL AND reblog_of_id IS NULL"
# The outbox shows only what anyone may read; followers-only and direct posts never leave it.
_OUTBOX = f"{_LOCAL_POST} AND visibility IN ('public', 'unlisted')"
# Counting our posts reads their own partial index (0027), a few thousand entries, where SQLite
# left to itself walks a status index over every remote post too.
_OURS = "INDEXED BY statuses_local_posts"


@dataclass(frozen=True)
class Status:
    id: int
    ap_id: str
    url: str | None
    actor_id: int | None
    type: str
    visibility: Visibility
    in_reply_to_ap_id: str | None
    in_reply_to_id: int | None
    reblog_of_id: int | None
    conversation: str | None
    summary: str
    sensitive: bool
    content_html: str
    source_text: str | None
    language: str | None
    published_at: float
    edited_at: float | None
    deleted_at: float | None
    quote_ap_id: str | None = None  # the post it quotes, as its author named it
    quote_id: int | None = None  # that post's row, when we have it and may show it
    emojis_json: str | None = None  # a remote post's custom emoji (solo.media.emoji)
    imported_from: str | None = None  # ours, imported from an archive: its original URL

    @property
    def imported_host(self) -> str:
        """The server an imported post was first published on."""
        return urlsplit(self.imported_from or "").hostname or ""


def _status(row: sqlite3.Row) -> Status:
    return Status(
        id=row["id"],
        ap_id=row["ap_id"],
        url=row["url"],
        actor_id=row["actor_id"],
        type=row["type"],
        visibility=cast(Visibility, row["visibility"]),
        in_reply_to_ap_id=row["in_reply_to_ap_id"],
        in_reply_to_id=row["in_reply_to_id"],
        reblog_of_id=row["reblog_of_id"],
        conversation=row["conversation"],
        summary=row["summary"],
        sensitive=bool(row["sensitive"]),
        content_html=row["content_html"],
        source_text=row["source_text"],
        language=row["language"],
        published_at=row["published_at"],
        edited_at=row["edited_at"],
        deleted_at=row["deleted_at"],
        quote_ap_id=row["quote_ap_id"],
        quote_id=row["quote_id"],
        emojis_json=row["emojis_json"],
        imported_from=row["imported_from"],
    )


async def count_local_statuses(db: Database) -> int:
    """Our posts of every visibility, for NodeInfo's `localPosts`."""
    return int(await db.fetchval(f"SELECT COUNT(*) FROM statuses {_OURS} WHERE {_LOCAL_POST}"))


async def count_outbox(db: Database) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) FROM statuses {_OURS} WHERE {_OUTBOX}"))


async def outbox_page(db: Database, *, max_id: int | None, limit: int) -> list[Status]:
    """Public and unlisted local posts, newest first, older than `max_id` when given."""
    rows = await db.fetchall(
        f"SELECT * FROM statuses WHERE {_OUTBOX} AND (? IS NULL OR id < ?)"
        " ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [_status(row) for row in rows]


@dataclass(frozen=True)
class NewStatus:
    """A status to store; `actor_id` None means ours."""

    id: int
    ap_id: str
    actor_id: int | None
    visibility: Visibility
    content_html: str
    published_at: float
    url: str | None = None
    type: str = "Note"
    in_reply_to_ap_id: str | None = None
    in_reply_to_id: int | None = None
    reblog_of_id: int | None = None
    conversation: str | None = None
    summary: str = ""
    sensitive: bool = False
    source_text: str | None = None
    language: str | None = None
    raw: str | None = None
    quote_ap_id: str | None = None
    quote_id: int | None = None
    emojis_json: str | None = None  # a remote post's custom emoji (solo.media.emoji)
    imported_from: str | None = None  # ours, imported from an archive: its original URL
    # A remote post's attachments, stored with it (ours are attached by `media.attach`).
    media: tuple[media_store.NewMedia, ...] = ()


async def insert_status(conn: aiosqlite.Connection, status: NewStatus) -> int | None:
    """Store a status; its row id, or None when its ap_id is already stored or tombstoned.

    Row ids come from publication times, so two statuses may want the same one: the later
    takes the next free id rather than being lost.
    """
    async with conn.execute("SELECT 1 FROM tombstones WHERE ap_id = ?", (status.ap_id,)) as cur:
        if await cur.fetchone():
            return None
    for attempt in range(64):
        try:
            row_id = await _insert(conn, status, status.id + attempt)
            if row_id is not None and status.media:
                await media_store.insert_remote(conn, row_id, status.media)
            if row_id is not None and status.visibility == "direct" and not status.reblog_of_id:
                await conversations.link(
                    conn,
                    row_id,
                    conversation=status.conversation,
                    in_reply_to_id=status.in_reply_to_id,
                    ours=status.actor_id is None,
                )
            return row_id
        except sqlite3.IntegrityError as error:
            if "statuses.id" not in str(error):
                raise
    raise RuntimeError(f"no free status id near {status.id}")


async def _insert(conn: aiosqlite.Connection, status: NewStatus, row_id: int) -> int | None:
    cursor = await conn.execute(
        "INSERT INTO statuses (id, ap_id, url, actor_id, type, visibility,"
        " in_reply_to_ap_id, in_reply_to_id, reblog_of_id, conversation, summary, sensitive,"
        " content_html, source_text, language, raw, published_at, quote_ap_id, quote_id,"
        " emojis_json, imported_from)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (ap_id) DO NOTHING",
        (
            row_id,
            status.ap_id,
            status.url,
            status.actor_id,
            status.type,
            status.visibility,
            status.in_reply_to_ap_id,
            status.in_reply_to_id,
            status.reblog_of_id,
            status.conversation,
            status.summary,
            int(status.sensitive),
            status.content_html,
            status.source_text,
            status.language,
            status.raw,
            status.published_at,
            status.quote_ap_id,
            status.quote_id,
            status.emojis_json,
            status.imported_from,
        ),
    )
    return row_id if cursor.rowcount > 0 else None


async def update_content(
    conn: aiosqlite.Connection,
    status_id: int,
    *,
    content_html: str,
    summary: str,
    sensitive: bool,
    edited_at: float,
    source_text: str | None = None,
    raw: str | None = None,
    remote_media: tuple[media_store.NewMedia, ...] | None = None,
    emojis_json: str | None = None,
) -> None:
    """Edit a status; the version it replaces joins its history (store/edits.py), and its link
    card is dropped.

    `remote_media`, for a remote post, replaces its attachments; `emojis_json` always replaces
    its custom emoji (an edit may add or drop some; ours have none)."""
    await edits.record_replaced(
        conn, status_id, content_html=content_html, summary=summary, sensitive=sensitive
    )
    await conn.execute(
        "UPDATE statuses SET content_html = ?, summary = ?, sensitive = ?, edited_at = ?,"
        " source_text = COALESCE(?, source_text), raw = COALESCE(?, raw), emojis_json = ?"
        " WHERE id = ?",
        (
            content_html,
            summary,
            int(sensitive),
            edited_at,
            source_text,
            raw,
            emojis_json,
            status_id,
        ),
    )
    if remote_media is not None:
        await media_store.replace_remote(conn, status_id, remote_media)
    # The card belonged to the old text: its link may be gone or changed. The caller finds the
    # new one (solo.federation.cards.start) once this commits.
    await conn.execute("DELETE FROM status_cards WHERE status_id = ?", (status_id,))


async def get_status(db: Database, status_id: int) -> Status | None:
    row = await db.fetchone("SELECT * FROM statuses WHERE id = ?", (status_id,))
    return None if row is None else _status(row)


async def get_status_by_ap_id(db: Database, ap_id: str) -> Status | None:
    row = await db.fetchone("SELECT * FROM statuses WHERE ap_id = ?", (ap_id,))
    return None if row is None else _status(row)


async def own_post_id(db: Database, ap_id: str) -> int | None:
    """The row id of our own post with this id, not a boost and not deleted: what a Like can
    favourite. None for anything else."""
    found = await db.fetchval(
        f"SELECT id FROM statuses WHERE ap_id = ? AND {_LOCAL_POST}", (ap_id,)
    )
    return None if found is None else int(found)


async def is_tombstoned(db: Database, ap_id: str) -> bool:
    return await db.fetchval("SELECT 1 FROM tombstones WHERE ap_id = ?", (ap_id,)) is not None


async def tombstone(conn: aiosqlite.Connection, ap_id: str) -> None:
    """Delete a status for good: its row goes (boosts of it and interactions with it follow
    through the foreign keys) and its id can never be stored again."""
    await conn.execute(
        "INSERT OR IGNORE INTO tombstones (ap_id, deleted_at) VALUES (?, ?)",
        (ap_id, time.time()),
    )
    await conn.execute("DELETE FROM statuses WHERE ap_id = ?", (ap_id,))


async def id_taken(conn: aiosqlite.Connection, status_id: int) -> bool:
    """Whether a row has this id, read on the writer so that a caller inside its transaction
    can pick an id that `insert_status` will not have to shift (our ap_ids are made from it)."""
    async with conn.execute("SELECT 1 FROM statuses WHERE id = ?", (status_id,)) as cursor:
        return await cursor.fetchone() is not None


async def get_raw(db: Database, status_id: int) -> str | None:
    """The `raw` column: a remote status's document; for ours, what `vocab.Extras.to_json` wrote
    (the tags its Note is rebuilt with)."""
    value = await db.fetchval("SELECT raw FROM statuses WHERE id = ?", (status_id,))
    return None if value is None else str(value)


async def raw_of(db: Database, status_ids: list[int]) -> dict[int, str]:
    """`get_raw` for many statuses in one query (a page of the outbox)."""
    if not status_ids:
        return {}
    marks = ",".join("?" * len(status_ids))
    rows = await db.fetchall(
        f"SELECT id, raw FROM statuses WHERE id IN ({marks}) AND raw IS NOT NULL",
        tuple(status_ids),
    )
    return {row[0]: row[1] for row in rows}


async def get_local_boost(db: Database, status_id: int) -> Status | None:
    """Our boost of the status `status_id`, if we boosted it."""
    row = await db.fetchone(
        "SELECT * FROM statuses WHERE actor_id IS NULL AND reblog_of_id = ?", (status_id,)
    )
    return None if row is None else _status(row)


async def delete_local_boost(conn: aiosqlite.Connection, boost_id: int) -> None:
    """Remove the row of one of our boosts (not tombstoned: a boost may be done again)."""
    await conn.execute(
        "DELETE FROM statuses WHERE id = ? AND actor_id IS NULL AND reblog_of_id IS NOT NULL",
        (boost_id,),
    )


async def insert_remote_status(conn: aiosqlite.Connection, status: NewStatus) -> int | None:
    """`insert_status`, threaded both ways: the reply points at its parent when we have it, and
    replies stored before their parent arrived now point at it."""
    parent_id = status.in_reply_to_id
    if parent_id is None and status.in_reply_to_ap_id is not None:
        async with conn.execute(
            "SELECT id FROM statuses WHERE ap_id = ?", (status.in_reply_to_ap_id,)
        ) as cursor:
            row = await cursor.fetchone()
        parent_id = None if row is None else int(row[0])
    row_id = await insert_status(conn, replace(status, in_reply_to_id=parent_id))
    if row_id is not None:
        await conn.execute(
            "UPDATE statuses SET in_reply_to_id = ? WHERE in_reply_to_ap_id = ?"
            " AND in_reply_to_id IS NULL",
            (row_id, status.ap_id),
        )
    return row_id


async def has_boost(conn: aiosqlite.Connection, actor_id: int, reblog_of_id: int) -> bool:
    """Whether `actor_id` has a boost of `reblog_of_id` stored, read on the writer so that a
    caller inside its transaction sees the boosts written before it."""
    async with conn.execute(
        "SELECT 1 FROM statuses WHERE actor_id = ? AND reblog_of_id = ?", (actor_id, reblog_of_id)
    ) as cursor:
        return await cursor.fetchone() is not None


async def boost_ids(db: Database, status_id: int) -> list[int]:
    """The rows of every boost of a status (they go with it when it is deleted)."""
    rows = await db.fetchall("SELECT id FROM statuses WHERE reblog_of_id = ?", (status_id,))
    return [row[0] for row in rows]


@dataclass(frozen=True)
class ShownStatus:
    """A status as a page shows it: with the author of the post it answers, when we have that
    post (`parent_known`; `parent_actor_id` None then means the parent is ours)."""

    status: Status
    parent_actor_id: int | None
    parent_known: bool
    raw: str | None = None  # the `raw` column: its tags (the client API's mentions and tags)


def _id_list(ids: Iterable[int]) -> str:
    """Ids as one JSON parameter for `json_each`: any number of them in a fixed statement."""
    return json.dumps([int(i) for i in ids])


async def shown_statuses(db: Database, ids: Iterable[int]) -> list[ShownStatus]:
    """The statuses `ids` and the posts those boost, in ONE query (a timeline page's rows);
    none by accounts on blocked domains, wherever they are listed (a boost of one is then
    left out by the caller, as a boost of a deleted post is)."""
    rows = await db.fetchall(
        "WITH page(id) AS (SELECT value FROM json_each(?)),"
        " wanted(id) AS (SELECT id FROM page UNION SELECT reblog_of_id FROM statuses"
        "  WHERE id IN page AND reblog_of_id IS NOT NULL)"
        " SELECT s.*, p.actor_id AS parent_actor_id, p.id IS NOT NULL AS parent_known"
        " FROM statuses s LEFT JOIN statuses p ON p.id = s.in_reply_to_id"
        f" WHERE s.id IN wanted AND (s.actor_id IS NULL OR s.actor_id NOT IN ({DOMAIN_BLOCKED}))",
        (_id_list(ids),),
    )
    return [
        ShownStatus(_status(row), row["parent_actor_id"], bool(row["parent_known"]), raw=row["raw"])
        for row in rows
    ]


async def local_posts_page(
    db: Database, *, max_id: int | None, limit: int, public_only: bool
) -> list[int]:
    """Our posts and boosts, newest first: the own profile's list (public ones for visitors)."""
    shown = "AND visibility IN ('public', 'unlisted')" if public_only else ""
    rows = await db.fetchall(
        f"SELECT id FROM statuses WHERE actor_id IS NULL AND deleted_at IS NULL {shown}"
        " AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [row[0] for row in rows]


async def actor_posts_page(
    db: Database, actor_id: int, *, max_id: int | None, limit: int
) -> list[int]:
    """A remote actor's posts and boosts that we have, newest first."""
    rows = await db.fetchall(
        "SELECT id FROM statuses WHERE actor_id = ? AND deleted_at IS NULL"
        " AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (actor_id, max_id, max_id, limit),
    )
    return [row[0] for row in rows]


async def count_actor_posts(db: Database, actor_id: int) -> int:
    """A remote actor's posts that we have (not boosts)."""
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM statuses WHERE actor_id = ? AND deleted_at IS NULL"
            " AND reblog_of_id IS NULL",
            (actor_id,),
        )
    )


# Threads deeper than this are cut: a reply chain can be made arbitrarily long by anyone.
THREAD_DEPTH = 200


async def ancestor_ids(db: Database, status_id: int) -> list[int]:
    """The posts `status_id` answers, oldest first, as far up as we have them."""
    rows = await db.fetchall(
        "WITH RECURSIVE up(id, parent, depth) AS ("
        " SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = ?"
        " UNION ALL SELECT s.id, s.in_reply_to_id, up.depth + 1 FROM statuses s"
        " JOIN up ON s.id = up.parent WHERE up.depth < ?)"
        " SELECT id FROM up WHERE depth > 0 ORDER BY depth DESC",
        (status_id, THREAD_DEPTH),
    )
    return [row[0] for row in rows]


async def descendant_pairs(db: Database, status_id: int) -> list[tuple[int, int]]:
    """Every reply under `status_id`, at any depth, as (id, parent id) pairs."""
    rows = await db.fetchall(
        "WITH RECURSIVE down(id, parent, depth) AS ("
        " SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = ?"
        " UNION ALL SELECT s.id, s.in_reply_to_id, down.depth + 1 FROM statuses s"
        " JOIN down ON s.in_reply_to_id = down.id WHERE down.depth < ?)"
        " SELECT id, parent FROM down WHERE depth > 0",
        (status_id, THREAD_DEPTH),
    )
    return [(row[0], row[1]) for row in rows]


async def get_status_by_url(db: Database, url: str) -> Status | None:
    """A status by its id or its web page address (`url`), as a search box is given either."""
    row = await db.fetchone(
        "SELECT * FROM statuses WHERE ap_id = ? OR url = ? ORDER BY actor_id IS NULL DESC LIMIT 1",
        (url, url),
    )
    return None if row is None else _status(row)


async def deleted_before_arrival(db: Database, ap_id: str, author_ap_id: str) -> bool:
    """Whether a Delete of this post by its author arrived before the post and is remembered
    still; read without forgetting it, unlike ingress's check, so that the Create it overtook
    is refused too when it comes."""
    found = await db.fetchval(
        "SELECT 1 FROM early_removals WHERE object_ap_id = ? AND actor_ap_id = ?"
        " AND expires_at > ?",
        (ap_id, author_ap_id, time.time()),
    )
    return found is not None


async def quoted_statuses(db: Database, ids: Iterable[int]) -> list[Status]:
    """The posts that the statuses `ids` quote, in ONE query (a page's embedded quotes)."""
    rows = await db.fetchall(
        "SELECT q.* FROM statuses s JOIN statuses q ON q.id = s.quote_id"
        " WHERE s.id IN (SELECT value FROM json_each(?)) AND q.deleted_at IS NULL",
        (_id_list(ids),),
    )
    return [_status(row) for row in rows]


async def own_statuses_after(
    db: Database, after_id: int, limit: int
) -> list[tuple[Status, str | None, str | None]]:
    """Our posts and boosts of every visibility, oldest first, after `after_id` (an archive
    export); a boost comes with the boosted post's id and its author's."""
    rows = await db.fetchall(
        "SELECT s.*, r.ap_id AS reblog_ap_id, a.ap_id AS reblog_author FROM statuses s"
        " LEFT JOIN statuses r ON r.id = s.reblog_of_id LEFT JOIN actors a ON a.id = r.actor_id"
        " WHERE s.actor_id IS NULL AND s.deleted_at IS NULL AND s.id > ? ORDER BY s.id LIMIT ?",
        (after_id, limit),
    )
    return [(_status(row), row["reblog_ap_id"], row["reblog_author"]) for row in rows]


def status_from_row(row: sqlite3.Row) -> Status:
    """A `statuses` row read by another store module (`SELECT s.*`) as a Status."""
    return _status(row)
