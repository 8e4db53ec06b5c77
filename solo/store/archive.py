"""Archive imports: the ids reserved for archived posts, and the imports the web page started."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

import aiosqlite

from solo.db import Database

ImportState = Literal["running", "done", "failed"]
MAX_FAILURES_KEPT = 100


async def reserved(db: Database, original_ids: Iterable[str]) -> dict[str, int]:
    """The row ids already reserved for these archived posts (by an earlier run)."""
    found: dict[str, int] = {}
    batch: list[str] = []
    for original_id in original_ids:
        batch.append(original_id)
        if len(batch) == 500:
            found.update(await _reserved(db, batch))
            batch = []
    if batch:
        found.update(await _reserved(db, batch))
    return found


async def _reserved(db: Database, batch: list[str]) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT original_id, status_id FROM archive_posts"
        " WHERE original_id IN (SELECT value FROM json_each(?))",
        (json.dumps(batch),),
    )
    return {row[0]: int(row[1]) for row in rows}


async def taken_ids(db: Database, low: int, high: int) -> set[int]:
    """Row ids in [low, high] that a status or a reservation holds."""
    rows = await db.fetchall(
        "SELECT id FROM statuses WHERE id BETWEEN ? AND ?"
        " UNION SELECT status_id FROM archive_posts WHERE status_id BETWEEN ? AND ?",
        (low, high, low, high),
    )
    return {int(row[0]) for row in rows}


async def reserve(conn: aiosqlite.Connection, pairs: Iterable[tuple[str, int]]) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO archive_posts (original_id, status_id) VALUES (?, ?)", pairs
    )


async def stored_ids(db: Database, status_ids: list[int]) -> set[int]:
    """Which of these rows exist, or existed (deleted since: tombstoned, kept gone)."""
    rows = await db.fetchall(
        "SELECT id FROM statuses WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(status_ids),),
    )
    return {int(row[0]) for row in rows}


async def count_imported(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM statuses WHERE imported_from IS NOT NULL"))


@dataclass(frozen=True, slots=True)
class ArchiveImport:
    id: int
    path: str
    filename: str
    state: ImportState
    total: int
    done: int
    imported: int
    boosts: int
    failures: list[tuple[str, str]]
    message: str | None
    created_at: float
    finished_at: float | None

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)


def _import(row: sqlite3.Row) -> ArchiveImport:
    failures = [(str(a), str(b)) for a, b in json.loads(row["failures"])]
    return ArchiveImport(
        id=row["id"],
        path=row["path"],
        filename=row["filename"],
        state=cast(ImportState, row["state"]),
        total=row["total"],
        done=row["done"],
        imported=row["imported"],
        boosts=row["boosts"],
        failures=failures,
        message=row["message"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


async def start_import(db: Database, path: str, filename: str) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO archive_imports (path, filename, state, created_at)"
            " VALUES (?, ?, 'running', ?)",
            (path, filename, time.time()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


async def progress(
    db: Database,
    import_id: int,
    *,
    total: int,
    done: int,
    imported: int,
    boosts: int,
    failures: list[tuple[str, str]],
) -> None:
    await db.execute(
        "UPDATE archive_imports SET total = ?, done = ?, imported = ?, boosts = ?, failures = ?"
        " WHERE id = ?",
        (total, done, imported, boosts, json.dumps(failures[:MAX_FAILURES_KEPT]), import_id),
    )


async def finish(db: Database, import_id: int, state: ImportState, message: str | None) -> None:
    await db.execute(
        "UPDATE archive_imports SET state = ?, message = ?, finished_at = ? WHERE id = ?",
        (state, message, time.time(), import_id),
    )


async def latest_import(db: Database) -> ArchiveImport | None:
    row = await db.fetchone("SELECT * FROM archive_imports ORDER BY id DESC LIMIT 1")
    return None if row is None else _import(row)


async def running_imports(db: Database) -> list[ArchiveImport]:
    rows = await db.fetchall("SELECT * FROM archive_imports WHERE state = 'running' ORDER BY id")
    return [_import(row) for row in rows]


async def own_media_after(db: Database, after_id: int, limit: int) -> list[tuple[int, str, str]]:
    """(row id, storage key, media type) of the files attached to our posts, by row id."""
    rows = await db.fetchall(
        "SELECT m.id, m.storage_key, m.media_type FROM media m"
        " JOIN statuses s ON s.id = m.status_id"
        " WHERE m.local = 1 AND m.storage_key IS NOT NULL AND s.actor_id IS NULL"
        " AND s.deleted_at IS NULL AND m.id > ? ORDER BY m.id LIMIT ?",
        (after_id, limit),
    )
    return [(int(row[0]), str(row[1]), str(row[2])) for row in rows]


async def our_interactions_after(
    db: Database, kind: str, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """(row id, post id) of our likes or bookmarks, oldest first."""
    rows = await db.fetchall(
        "SELECT i.id, s.ap_id FROM interactions i JOIN statuses s ON s.id = i.status_id"
        " WHERE i.kind = ? AND i.actor_id IS NULL AND i.id > ? ORDER BY i.id LIMIT ?",
        (kind, after_id, limit),
    )
    return [(int(row[0]), str(row[1])) for row in rows]


async def count_our_interactions(db: Database, kind: str) -> int:
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM interactions i JOIN statuses s ON s.id = i.status_id"
            " WHERE i.kind = ? AND i.actor_id IS NULL",
            (kind,),
        )
    )
