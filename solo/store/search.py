"""Full-text search over stored posts, and the indexing of the posts stored before the index.

`find` turns a parsed `Query` into one SQL statement: the FTS5 match of the wanted words, the
operators as plain conditions on the statuses row, the exclusions as a second match, authors the
user hides left out. Newest first by default (Mastodon's order), or by bm25 (body weighs more
than the content warning, which weighs more than alt text and poll options) among the newest
RANKED matches, so that a common word costs no more than a rare one.

`build_index` fills the index for rows older than it, in small batches after start-up, with
its progress in the log; `index_progress` reads where it stands.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Final

from solo.db import Database
from solo.fulltext import INDEXABLE, ROW
from solo.store.search_query import Query
from solo.store.suppression import author_hidden

log = logging.getLogger("solo.search")

BATCH: Final = 2000
RANKED: Final = 2000
RANK: Final = "bm25(status_search, 4.0, 2.0, 1.0)"
_LIBRARY: Final = (
    "(s.actor_id IS NULL"
    " OR EXISTS (SELECT 1 FROM interactions i WHERE i.status_id = s.id AND i.actor_id IS NULL"
    " AND i.kind IN ('like', 'announce', 'bookmark'))"
    " OR EXISTS (SELECT 1 FROM statuses b WHERE b.reblog_of_id = s.id AND b.actor_id IS NULL"
    " AND b.deleted_at IS NULL))"
)
_HAS: Final = {
    "media": "EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id)",
    "image": "EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id AND m.kind = 'image')",
    "video": "EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id"
    " AND m.kind IN ('video', 'gifv'))",
    "audio": "EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id AND m.kind = 'audio')",
    "poll": "EXISTS (SELECT 1 FROM polls p WHERE p.status_id = s.id)",
    "link": "(EXISTS (SELECT 1 FROM status_cards c WHERE c.status_id = s.id)"
    " OR EXISTS (SELECT 1 FROM status_search x WHERE x.rowid = s.id AND x.props = 'link'))",
}
_IS: Final = {
    "reply": "s.in_reply_to_ap_id IS NOT NULL",
    "sensitive": "(s.sensitive = 1 OR s.summary != '')",
}


@dataclass(frozen=True)
class Page:
    """Paging of a search: ids of statuses, and where to start."""

    limit: int = 20
    offset: int = 0
    max_id: int | None = None
    min_id: int | None = None
    account_actor: int | bool | None = False  # False: any author; None: us; else an actor id


def _conditions(query: Query, authors: dict[str, int | None]) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for item in query.filters:
        if item.key == "from":
            actor = authors.get(item.value)
            condition = "s.actor_id IS NULL" if actor is None else "s.actor_id = ?"
            if item.value not in authors:
                condition = "0"  # an account we do not know wrote nothing we have
            elif actor is not None:
                params.append(actor)
        elif item.key == "has":
            condition = _HAS[item.value]
        elif item.key == "is":
            condition = _IS[item.value]
        elif item.key == "language":
            condition = "lower(coalesce(s.language, '')) = ? OR lower(s.language) LIKE ? || '-%'"
            params += [item.value.lower(), item.value.lower()]
        elif item.key in ("before", "after", "during"):
            start, end = query.period(item.key)[-1]
            if item.key == "before":
                condition = "s.published_at < ?"
                params.append(start)
            elif item.key == "after":
                condition = "s.published_at >= ?"
                params.append(end)
            else:
                condition = "s.published_at >= ? AND s.published_at < ?"
                params += [start, end]
        elif item.value == "library":
            condition = _LIBRARY
        elif item.value == "public":
            condition = "s.visibility IN ('public', 'unlisted')"
        else:
            continue  # in:all: everything we have, as without it
        where.append(f"NOT ({condition})" if item.negated else f"({condition})")
    return where, params


async def find(db: Database, query: Query, page: Page, authors: dict[str, int | None]) -> list[int]:
    """Ids of the posts matching `query`, in its order; `authors` maps each `from:` value we
    know to its actor id (None for us)."""
    where, params = _conditions(query, authors)
    match = query.match()
    # With words, FTS5 drives: it walks its matches newest first (rowid order, no sort) and
    # the LIMIT stops it early; the id bounds go to its rowid, which it can seek. One author's
    # posts are few: then the author's index drives, and each post is checked against the words.
    by_author = page.account_actor is not False or any(f.key == "from" for f in query.filters)
    key = "status_search.rowid" if match is not None and not by_author else "s.id"
    ranked = query.order == "relevance" and match is not None
    sql = "SELECT s.id"
    if match is not None:
        # bm25 costs a look at the whole doclist per row: only when asked for.
        sql += f", {RANK} AS score" if ranked else ""
        sql += " FROM status_search JOIN statuses s ON s.id = status_search.rowid"
        where.insert(0, "status_search MATCH ?")
        params.insert(0, "{body cw extra}: (" + match + ")")
    else:
        sql += " FROM statuses s"
    where.append(INDEXABLE.format(s="s"))
    where.append(f"NOT {author_hidden('s.actor_id')}")
    exclusion = query.exclusion()
    if exclusion is not None:
        where.append("s.id NOT IN (SELECT rowid FROM status_search WHERE status_search MATCH ?)")
        params.append("{body cw extra}: (" + exclusion + ")")
    if page.account_actor is None:
        where.append("s.actor_id IS NULL")
    elif page.account_actor is not False:
        where.append("s.actor_id = ?")
        params.append(page.account_actor)
    if page.max_id is not None:
        where.append(f"{key} < ?")
        params.append(page.max_id)
    if page.min_id is not None:
        where.append(f"{key} > ?")
        params.append(page.min_id)
    sql += " WHERE " + " AND ".join(where) + f" ORDER BY {key} DESC LIMIT ?"
    if ranked:
        # bm25 over every match of a common word costs a scan of them all: the best are
        # chosen among the newest RANKED matches, which bounds it.
        sql = f"SELECT id FROM ({sql}) ORDER BY score, id DESC LIMIT ? OFFSET ?"
        params += [RANKED, page.limit, page.offset]
    else:
        sql += " OFFSET ?"
        params += [page.limit, page.offset]
    rows = await db.fetchall(sql, params)
    return [row[0] for row in rows]


async def resolve_authors(db: Database, query: Query, username: str) -> dict[str, int | None]:
    """The actor of each `from:` value we know: None for us (`me` or our username), else the
    actor row; a bare username of someone else means the first known account of that name."""
    found: dict[str, int | None] = {}
    for item in query.filters:
        if item.key != "from":
            continue
        name, _, host = item.value.partition("@")
        if item.value.lower() == "me" or (name.lower() == username.lower() and not host):
            found[item.value] = None
            continue
        sql = "SELECT id FROM actors WHERE lower(username) = lower(?) AND deleted_at IS NULL"
        params: list[str] = [name]
        if host:
            sql += " AND lower(domain) = lower(?)"
            params.append(host)
        actor = await db.fetchval(sql + " ORDER BY id LIMIT 1", params)
        if actor is not None:
            found[item.value] = int(actor)
    return found


@dataclass(frozen=True)
class Progress:
    pending_below: int
    started_with: int
    indexed: int

    @property
    def built(self) -> bool:
        return self.pending_below == 0


async def index_progress(db: Database) -> Progress:
    row = await db.fetchone(
        "SELECT pending_below, started_with, (SELECT count(*) FROM status_search)"
        " FROM search_index_state WHERE id = 1"
    )
    if row is None:
        return Progress(0, 0, 0)
    return Progress(row[0], row[1], row[2])


def _index_batch(conn: sqlite3.Connection) -> int:
    """Index the next batch of waiting rows, newest first; the new `pending_below`."""
    row = conn.execute("SELECT pending_below FROM search_index_state WHERE id = 1").fetchone()
    below = 0 if row is None else int(row[0])
    if below <= 0:
        return 0
    low = conn.execute(
        "SELECT min(id) FROM (SELECT id FROM statuses WHERE id < ? ORDER BY id DESC LIMIT ?)",
        (below, BATCH),
    ).fetchone()[0]
    if low is None:
        conn.execute("UPDATE search_index_state SET pending_below = 0 WHERE id = 1")
        return 0
    conn.execute(
        ROW.format(s="s")
        + " FROM statuses s WHERE s.id >= ? AND s.id < ? AND "
        + INDEXABLE.format(s="s"),
        (low, below),
    )
    conn.execute("UPDATE search_index_state SET pending_below = ? WHERE id = 1", (low,))
    return int(low)


async def build_index(db: Database) -> None:
    """Index the rows stored before the index, a batch per transaction, so posts arriving
    meanwhile wait at most one batch; progress goes to the log."""
    progress = await index_progress(db)
    if progress.built:
        return
    log.info("search index: indexing %d stored posts", progress.started_with)
    done = 0
    while True:
        below = await db.write(_index_batch)
        if below == 0:
            break
        done += 1
        if done % 25 == 0:
            log.info("search index: %d batches of %d posts done", done, BATCH)
        await asyncio.sleep(0)  # let requests in between batches
    log.info("search index built")
