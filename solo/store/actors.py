"""Remote actors: stored from fetched documents, found by id, key id or handle."""

from __future__ import annotations

import json
import operator
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import aiosqlite

from solo.db import Database
from solo.store import domain_blocks


@dataclass(frozen=True)
class RemoteActor:
    ap_id: str
    type: str
    username: str
    domain: str
    inbox: str
    shared_inbox: str | None
    key_id: str | None
    public_key_pem: str | None
    display_name: str = ""
    summary_html: str = ""
    url: str | None = None
    outbox: str | None = None
    followers_url: str | None = None
    following_url: str | None = None
    featured_url: str | None = None
    avatar_url: str | None = None
    header_url: str | None = None
    locked: bool = False
    discoverable: bool = False
    fields: list[dict[str, str]] = field(default_factory=list)
    emojis_json: str | None = None  # the custom emoji of their name (solo.media.emoji)
    # Their collections' totals as their server gives them (None: not read yet); kept apart
    # from COLUMNS, so that refreshing the actor document leaves them as they are.
    followers_count: int | None = None
    following_count: int | None = None
    statuses_count: int | None = None
    first_seen_at: float | None = None  # when this server first stored them
    raw: str = "{}"
    id: int | None = None  # the row id once stored

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.domain}"


def published_at(raw: str) -> float | None:
    """The `published` time an actor document gives; None when it has none we can read."""
    try:
        document = json.loads(raw)
        published = document.get("published") if isinstance(document, dict) else None
        if isinstance(published, str):
            return datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return None


COLUMNS = (
    "ap_id", "type", "username", "domain", "inbox", "shared_inbox", "key_id", "public_key_pem",
    "display_name", "summary_html", "url", "outbox", "followers_url", "following_url",
    "featured_url", "avatar_url", "header_url", "locked", "discoverable", "emojis_json",
)  # fmt: skip


def _actor(row: sqlite3.Row) -> RemoteActor:
    values = {name: row[name] for name in COLUMNS}
    values["locked"] = bool(values["locked"])
    values["discoverable"] = bool(values["discoverable"])
    return RemoteActor(
        **values,
        fields=json.loads(row["fields_json"]),
        followers_count=row["followers_count"],
        following_count=row["following_count"],
        statuses_count=row["statuses_count"],
        first_seen_at=row["first_seen_at"],
        raw=row["raw"],
        id=row["id"],
    )


_COLUMN_VALUES = operator.attrgetter(*COLUMNS)
_FREE_HANDLE = "DELETE FROM actors WHERE username = ? AND domain = ? AND ap_id != ?"
_UPSERT = (
    f"INSERT INTO actors ({', '.join(COLUMNS)}, fields_json, raw, fetched_at)"
    f" VALUES ({', '.join('?' * (len(COLUMNS) + 3))}) ON CONFLICT (ap_id) DO UPDATE SET"
    f" {', '.join(f'{name} = excluded.{name}' for name in COLUMNS[1:])},"
    " fields_json = excluded.fields_json, raw = excluded.raw,"
    " fetched_at = excluded.fetched_at, deleted_at = NULL"
    " RETURNING id, followers_count, following_count, statuses_count, first_seen_at"
)


def _upsert_args(actor: RemoteActor) -> tuple[tuple[str, str, str], tuple[Any, ...]]:
    """The arguments of `_FREE_HANDLE` and `_UPSERT` for `actor`."""
    # Attributes read directly: `asdict` deep-copies every field (a tenth of the writer's
    # time when a burst of first contacts stores an actor each).
    row = list(_COLUMN_VALUES(actor))
    row[COLUMNS.index("locked")] = int(actor.locked)
    row[COLUMNS.index("discoverable")] = int(actor.discoverable)
    return (
        (actor.username, actor.domain, actor.ap_id),
        (*row, json.dumps(actor.fields), actor.raw, time.time()),
    )


async def upsert_actor(conn: aiosqlite.Connection, actor: RemoteActor) -> int:
    """Insert or refresh an actor by its id; returns the row id."""
    free, upsert = _upsert_args(actor)
    # A handle that moved to a new actor id frees its old (username, domain) first.
    await conn.execute(_FREE_HANDLE, free)
    async with conn.execute(_UPSERT, upsert) as cur:
        found = await cur.fetchone()
    assert found is not None
    await domain_blocks.cover_actor(conn, int(found[0]), actor.domain, actor.ap_id)
    return int(found[0])


def store_actor(conn: sqlite3.Connection, actor: RemoteActor) -> RemoteActor:
    """`upsert_actor` for `Database.write` (on the writer thread, batched with other writes);
    returns the actor as stored, as `get_actor_by_id` would read it back."""
    free, upsert = _upsert_args(actor)
    conn.execute(_FREE_HANDLE, free)
    row_id, followers, following, statuses, first_seen = conn.execute(_UPSERT, upsert).fetchone()
    domain_blocks.cover_actor_now(conn, row_id, actor.domain, actor.ap_id)
    return replace(
        actor,
        id=int(row_id),
        followers_count=followers,
        following_count=following,
        statuses_count=statuses,
        first_seen_at=first_seen,
    )


async def set_counts(
    conn: aiosqlite.Connection,
    actor_id: int,
    *,
    followers: int | None,
    following: int | None,
    statuses: int | None,
) -> None:
    """Record the totals of an actor's collections; a total not read keeps its old value."""
    await conn.execute(
        "UPDATE actors SET followers_count = COALESCE(?, followers_count),"
        " following_count = COALESCE(?, following_count),"
        " statuses_count = COALESCE(?, statuses_count) WHERE id = ?",
        (followers, following, statuses, actor_id),
    )


async def get_actor(db: Database, ap_id: str) -> RemoteActor | None:
    row = await db.fetchone("SELECT * FROM actors WHERE ap_id = ? AND deleted_at IS NULL", (ap_id,))
    return None if row is None else _actor(row)


async def get_actor_by_id(db: Database, actor_id: int) -> RemoteActor | None:
    row = await db.fetchone("SELECT * FROM actors WHERE id = ?", (actor_id,))
    return None if row is None else _actor(row)


async def get_actor_by_key_id(db: Database, key_id: str) -> RemoteActor | None:
    row = await db.fetchone(
        "SELECT * FROM actors WHERE key_id = ? AND deleted_at IS NULL", (key_id,)
    )
    return None if row is None else _actor(row)


def count_key_ids(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM actors WHERE key_id IS NOT NULL").fetchone()[0])


def each_key_id(conn: sqlite3.Connection) -> Iterator[str]:
    """Every key id stored (deleted actors' too), read as the caller goes."""
    for (key_id,) in conn.execute("SELECT key_id FROM actors WHERE key_id IS NOT NULL"):
        yield key_id


async def get_actor_by_handle(db: Database, username: str, domain: str) -> RemoteActor | None:
    row = await db.fetchone(
        "SELECT * FROM actors WHERE username = ? COLLATE NOCASE AND domain = ?"
        " AND deleted_at IS NULL",
        (username, domain.lower()),
    )
    return None if row is None else _actor(row)


async def fetched_at(db: Database, ap_id: str) -> float | None:
    value = await db.fetchval("SELECT fetched_at FROM actors WHERE ap_id = ?", (ap_id,))
    return None if value is None else float(value)


async def delete_actor(conn: aiosqlite.Connection, ap_id: str) -> bool:
    """Remove an actor and, through the foreign keys, everything of theirs."""
    cursor = await conn.execute("DELETE FROM actors WHERE ap_id = ?", (ap_id,))
    return cursor.rowcount > 0


async def actors_by_ids(db: Database, ids: Iterable[int]) -> dict[int, RemoteActor]:
    """Many actors in ONE query, by row id (a page's authors)."""
    rows = await db.fetchall(
        "SELECT * FROM actors WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in ids})),),
    )
    return {row["id"]: _actor(row) for row in rows}


async def actors_by_ap_ids(db: Database, ap_ids: Iterable[str]) -> dict[str, RemoteActor]:
    """Many actors in ONE query, by actor id (the accounts a page's posts mention)."""
    rows = await db.fetchall(
        "SELECT * FROM actors WHERE ap_id IN (SELECT value FROM json_each(?))"
        " AND deleted_at IS NULL",
        (json.dumps(sorted(set(ap_ids))),),
    )
    return {row["ap_id"]: _actor(row) for row in rows}


async def get_actor_by_url(db: Database, url: str) -> RemoteActor | None:
    """An actor by its id or its profile page address, as a search box is given either."""
    row = await db.fetchone(
        "SELECT * FROM actors WHERE (ap_id = ? OR url = ?) AND deleted_at IS NULL LIMIT 1",
        (url, url),
    )
    return None if row is None else _actor(row)
