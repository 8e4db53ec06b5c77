"""Attachments: our uploads and the attachments of remote posts, as rows of the `media` table.

An upload is stored at once and attached to a post later (`attach`, inside the post's
transaction); one never attached is removed after a day (`stale_uploads`). A remote post's
attachments are stored with it and point at their origin (`remote_url`), fetched through the
media cache when someone looks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import aiosqlite

from solo.db import Database

MediaKind = Literal["image", "gifv", "video", "audio", "unknown"]


@dataclass(frozen=True, slots=True)
class Media:
    id: int
    status_id: int | None
    position: int
    local: bool
    kind: MediaKind
    media_type: str
    storage_key: str | None
    thumbnail_key: str | None
    remote_url: str | None
    description: str
    width: int | None
    height: int | None
    duration: float | None
    blurhash: str | None
    focus_x: float
    focus_y: float
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class NewMedia:
    """An attachment to store: an upload (`storage_key`) or a remote one (`remote_url`)."""

    kind: MediaKind
    media_type: str
    storage_key: str | None = None
    thumbnail_key: str | None = None
    remote_url: str | None = None
    description: str = ""
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    blurhash: str | None = None
    focus_x: float = 0.0
    focus_y: float = 0.0
    size: int = 0


def _media(row: sqlite3.Row) -> Media:
    return Media(
        id=row["id"],
        status_id=row["status_id"],
        position=row["position"],
        local=bool(row["local"]),
        kind=cast(MediaKind, row["kind"]),
        media_type=row["media_type"],
        storage_key=row["storage_key"],
        thumbnail_key=row["thumbnail_key"],
        remote_url=row["remote_url"],
        description=row["description"],
        width=row["width"],
        height=row["height"],
        duration=row["duration"],
        blurhash=row["blurhash"],
        focus_x=row["focus_x"],
        focus_y=row["focus_y"],
        size=row["size"],
        created_at=row["created_at"],
    )


_COLUMNS = (
    "status_id, position, local, kind, media_type, storage_key, thumbnail_key, remote_url,"
    " description, width, height, duration, blurhash, focus_x, focus_y, size, created_at"
)


def _values(item: NewMedia, status_id: int | None, position: int, now: float) -> tuple[object, ...]:
    return (
        status_id,
        position,
        int(item.remote_url is None),
        item.kind,
        item.media_type,
        item.storage_key,
        item.thumbnail_key,
        item.remote_url,
        item.description,
        item.width,
        item.height,
        item.duration,
        item.blurhash,
        item.focus_x,
        item.focus_y,
        item.size,
        now,
    )


async def insert_upload(db: Database, item: NewMedia) -> Media:
    """Store an upload, not yet attached to any post."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            f"INSERT INTO media ({_COLUMNS}) VALUES ({', '.join('?' * 17)})",
            _values(item, None, 0, time.time()),
        )
        media_id = cursor.lastrowid
    assert media_id is not None
    found = await get_media(db, media_id)
    assert found is not None
    return found


async def get_media(db: Database, media_id: int) -> Media | None:
    row = await db.fetchone("SELECT * FROM media WHERE id = ?", (media_id,))
    return None if row is None else _media(row)


async def get_many(db: Database, media_ids: Sequence[int]) -> dict[int, Media]:
    if not media_ids:
        return {}
    marks = ",".join("?" * len(media_ids))
    rows = await db.fetchall(f"SELECT * FROM media WHERE id IN ({marks})", tuple(media_ids))
    return {row["id"]: _media(row) for row in rows}


async def attach(conn: aiosqlite.Connection, status_id: int, media_ids: Sequence[int]) -> bool:
    """Attach uploads to a new post, in the given order; False (the caller rolls back) when one
    of them was attached elsewhere meanwhile."""
    for position, media_id in enumerate(media_ids):
        cursor = await conn.execute(
            "UPDATE media SET status_id = ?, position = ? WHERE id = ? AND local = 1"
            " AND status_id IS NULL",
            (status_id, position, media_id),
        )
        if cursor.rowcount != 1:
            return False
    return True


async def reattach(conn: aiosqlite.Connection, status_id: int, media_ids: Sequence[int]) -> bool:
    """An edited post's attachments: `media_ids` in this order (its own or fresh uploads);
    those it no longer has are detached, to be removed a day later with unused uploads.
    False (the caller rolls back) when an upload was taken by another post meanwhile."""
    marks = ",".join("?" * len(media_ids))
    keep = f"AND id NOT IN ({marks})" if media_ids else ""
    await conn.execute(
        "UPDATE media SET status_id = NULL, created_at = ?"
        f" WHERE status_id = ? AND local = 1 {keep}",
        (time.time(), status_id, *media_ids),
    )
    for position, media_id in enumerate(media_ids):
        cursor = await conn.execute(
            "UPDATE media SET status_id = ?, position = ? WHERE id = ? AND local = 1"
            " AND (status_id IS NULL OR status_id = ?)",
            (status_id, position, media_id, status_id),
        )
        if cursor.rowcount != 1:
            return False
    return True


async def describe(
    db: Database, media_id: int, description: str, focus: tuple[float, float] | None = None
) -> None:
    """Change an upload's alt text (and focal point when given)."""
    async with db.transaction() as conn:
        if focus is None:
            await conn.execute(
                "UPDATE media SET description = ? WHERE id = ? AND local = 1",
                (description, media_id),
            )
        else:
            await conn.execute(
                "UPDATE media SET description = ?, focus_x = ?, focus_y = ? WHERE id = ?"
                " AND local = 1",
                (description, focus[0], focus[1], media_id),
            )


async def insert_remote(
    conn: aiosqlite.Connection, status_id: int, items: Iterable[NewMedia]
) -> None:
    """Store a remote post's attachments with it (inside its insert's transaction)."""
    now = time.time()
    await conn.executemany(
        f"INSERT INTO media ({_COLUMNS}) VALUES ({', '.join('?' * 17)})",
        [_values(item, status_id, position, now) for position, item in enumerate(items)],
    )


async def replace_remote(
    conn: aiosqlite.Connection, status_id: int, items: Iterable[NewMedia]
) -> None:
    """A remote post's attachments after an edit: the new list replaces the old."""
    await conn.execute("DELETE FROM media WHERE status_id = ? AND local = 0", (status_id,))
    await insert_remote(conn, status_id, items)


async def media_of(db: Database, status_ids: Iterable[int]) -> dict[int, list[Media]]:
    """The attachments of many statuses, in order, in one query (a page of cards)."""
    ids = sorted(set(status_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT * FROM media WHERE status_id IN ({marks}) ORDER BY status_id, position",
        tuple(ids),
    )
    found: dict[int, list[Media]] = {}
    for row in rows:
        found.setdefault(row["status_id"], []).append(_media(row))
    return found


def keys_of(items: Iterable[Media]) -> list[str]:
    """The stored files of uploads: what to delete from storage when they go."""
    return [key for m in items for key in (m.storage_key, m.thumbnail_key) if key is not None]


async def stale_uploads(db: Database, older_than: float) -> list[Media]:
    """Uploads never attached to a post, uploaded before `older_than`, but for those a
    scheduled post waits to take."""
    rows = await db.fetchall(
        "SELECT * FROM media WHERE status_id IS NULL AND local = 1 AND created_at < ?"
        " AND id NOT IN (SELECT j.value FROM scheduled_statuses s, json_each(s.media_ids) j"
        " WHERE s.published_at IS NULL)",
        (older_than,),
    )
    return [_media(row) for row in rows]


async def delete_rows(db: Database, media_ids: Sequence[int]) -> None:
    if not media_ids:
        return
    marks = ",".join("?" * len(media_ids))
    async with db.transaction() as conn:
        await conn.execute(f"DELETE FROM media WHERE id IN ({marks})", tuple(media_ids))


async def learn_type(db: Database, remote_url: str, media_type: str, kind: MediaKind) -> None:
    """Give remote attachments of unknown kind at `remote_url` the type their bytes showed."""
    await db.execute(
        "UPDATE media SET media_type = ?, kind = ? WHERE remote_url = ? AND kind = 'unknown'",
        (media_type, kind, remote_url),
    )
