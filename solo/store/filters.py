"""Keyword filters: the filters, their keywords and the posts they name (Mastodon's filters
v2). Reading a filter reads its keywords and posts with it; `all_filters` reads every one in
three queries, whatever their number (the caps are `solo.actions.filters`')."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from solo.db import Database

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide")


@dataclass(frozen=True, slots=True)
class Keyword:
    id: int
    filter_id: int
    keyword: str
    whole_word: bool


@dataclass(frozen=True, slots=True)
class FilteredStatus:
    id: int
    filter_id: int
    status_id: int


@dataclass(frozen=True, slots=True)
class Filter:
    id: int
    title: str
    contexts: tuple[str, ...]
    action: str
    expires_at: float | None
    created_at: float
    keywords: tuple[Keyword, ...] = ()
    statuses: tuple[FilteredStatus, ...] = ()

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _contexts(text: str) -> tuple[str, ...]:
    found = json.loads(text)
    return tuple(c for c in found if c in CONTEXTS) if isinstance(found, list) else ()


async def all_filters(db: Database, ids: Sequence[int] | None = None) -> list[Filter]:
    """Every filter (or those of `ids`), oldest first, with keywords and posts: three queries."""
    where, args = (
        ("", ())
        if ids is None
        else (
            " WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    )
    rows = await db.fetchall(
        f"SELECT id, title, contexts, action, expires_at, created_at FROM filters{where}"
        " ORDER BY id",
        args,
    )
    if not rows:
        return []
    chosen = json.dumps([row[0] for row in rows])
    keywords: dict[int, list[Keyword]] = {}
    for row in await db.fetchall(
        "SELECT id, filter_id, keyword, whole_word FROM filter_keywords"
        " WHERE filter_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (chosen,),
    ):
        keywords.setdefault(row[1], []).append(Keyword(row[0], row[1], row[2], bool(row[3])))
    statuses: dict[int, list[FilteredStatus]] = {}
    for row in await db.fetchall(
        "SELECT id, filter_id, status_id FROM filter_statuses"
        " WHERE filter_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (chosen,),
    ):
        statuses.setdefault(row[1], []).append(FilteredStatus(row[0], row[1], row[2]))
    return [
        Filter(
            id=row[0],
            title=row[1],
            contexts=_contexts(row[2]),
            action=row[3],
            expires_at=row[4],
            created_at=row[5],
            keywords=tuple(keywords.get(row[0], ())),
            statuses=tuple(statuses.get(row[0], ())),
        )
        for row in rows
    ]


async def get_filter(db: Database, filter_id: int) -> Filter | None:
    found = await all_filters(db, [filter_id])
    return found[0] if found else None


async def count_filters(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute("SELECT count(*) FROM filters")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_keywords(conn: aiosqlite.Connection, filter_id: int | None = None) -> int:
    """Keywords of one filter, or of all of them."""
    if filter_id is None:
        cursor = await conn.execute("SELECT count(*) FROM filter_keywords")
    else:
        cursor = await conn.execute(
            "SELECT count(*) FROM filter_keywords WHERE filter_id = ?", (filter_id,)
        )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_statuses(conn: aiosqlite.Connection, filter_id: int) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM filter_statuses WHERE filter_id = ?", (filter_id,)
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def insert_filter(
    conn: aiosqlite.Connection,
    *,
    title: str,
    contexts: Sequence[str],
    action: str,
    expires_at: float | None,
) -> int:
    cursor = await conn.execute(
        "INSERT INTO filters (title, contexts, action, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (title, json.dumps(list(contexts)), action, expires_at, time.time()),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def update_filter(
    conn: aiosqlite.Connection,
    filter_id: int,
    *,
    title: str,
    contexts: Sequence[str],
    action: str,
    expires_at: float | None,
) -> None:
    await conn.execute(
        "UPDATE filters SET title = ?, contexts = ?, action = ?, expires_at = ? WHERE id = ?",
        (title, json.dumps(list(contexts)), action, expires_at, filter_id),
    )


async def delete_filter(conn: aiosqlite.Connection, filter_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM filters WHERE id = ?", (filter_id,))
    return cursor.rowcount > 0


async def insert_keyword(
    conn: aiosqlite.Connection, filter_id: int, keyword: str, whole_word: bool
) -> int:
    cursor = await conn.execute(
        "INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES (?, ?, ?)",
        (filter_id, keyword, int(whole_word)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def update_keyword(
    conn: aiosqlite.Connection, keyword_id: int, keyword: str, whole_word: bool
) -> None:
    await conn.execute(
        "UPDATE filter_keywords SET keyword = ?, whole_word = ? WHERE id = ?",
        (keyword, int(whole_word), keyword_id),
    )


async def delete_keyword(conn: aiosqlite.Connection, keyword_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM filter_keywords WHERE id = ?", (keyword_id,))
    return cursor.rowcount > 0


async def get_keyword(db: Database, keyword_id: int) -> Keyword | None:
    row = await db.fetchone(
        "SELECT id, filter_id, keyword, whole_word FROM filter_keywords WHERE id = ?",
        (keyword_id,),
    )
    return None if row is None else Keyword(row[0], row[1], row[2], bool(row[3]))


async def insert_status(conn: aiosqlite.Connection, filter_id: int, status_id: int) -> int:
    """The row naming this post in this filter (the existing one when it is there already)."""
    await conn.execute(
        "INSERT INTO filter_statuses (filter_id, status_id) VALUES (?, ?)"
        " ON CONFLICT (filter_id, status_id) DO NOTHING",
        (filter_id, status_id),
    )
    cursor = await conn.execute(
        "SELECT id FROM filter_statuses WHERE filter_id = ? AND status_id = ?",
        (filter_id, status_id),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def get_status(db: Database, row_id: int) -> FilteredStatus | None:
    row = await db.fetchone(
        "SELECT id, filter_id, status_id FROM filter_statuses WHERE id = ?", (row_id,)
    )
    return None if row is None else FilteredStatus(row[0], row[1], row[2])


async def delete_status(conn: aiosqlite.Connection, row_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM filter_statuses WHERE id = ?", (row_id,))
    return cursor.rowcount > 0
