"""CSV imports and their lines (migration `csv_imports`): the durable state of an import.

Each line is `pending` until settled as `added`, `skipped` or `failed` with a reason; the
counts shown are counted from the lines, so a line is never counted twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiosqlite

from solo.db import Database

Outcome = Literal["added", "skipped", "failed"]
UNFINISHED: Final = ("queued", "running")


@dataclass(frozen=True)
class Line:
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Settled:
    line: int
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True)
class Import:
    id: int
    kind: str
    mode: str
    filename: str
    state: str
    total: int
    removed: int
    error: str | None
    created_at: float
    finished_at: float | None
    added: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def settled(self) -> int:
        return self.added + self.skipped + self.failed

    @property
    def running(self) -> bool:
        return self.state in UNFINISHED


async def create(
    conn: aiosqlite.Connection,
    kind: str,
    mode: str,
    filename: str,
    lines: Sequence[tuple[int, dict[str, Any], Settled | None]],
) -> int:
    """Store an import and its lines (those settled already, such as duplicates, with their
    outcome) inside the caller's transaction; its id."""
    async with conn.execute(
        "INSERT INTO csv_imports (kind, mode, filename, state, total, created_at)"
        " VALUES (?, ?, ?, 'queued', ?, ?) RETURNING id",
        (kind, mode, filename[:200], len(lines), time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    import_id = int(row[0])
    await conn.executemany(
        "INSERT INTO csv_import_rows (import_id, line, data, state, reason) VALUES (?, ?, ?, ?, ?)",
        [
            (
                import_id,
                number,
                json.dumps(data, separators=(",", ":")),
                "pending" if settled is None else settled.outcome,
                None if settled is None else settled.reason,
            )
            for number, data, settled in lines
        ],
    )
    return import_id


_COUNTS = (
    "SELECT i.*,"
    " (SELECT COUNT(*) FROM csv_import_rows r WHERE r.import_id = i.id AND r.state = 'added'),"
    " (SELECT COUNT(*) FROM csv_import_rows r WHERE r.import_id = i.id AND r.state = 'skipped'),"
    " (SELECT COUNT(*) FROM csv_import_rows r WHERE r.import_id = i.id AND r.state = 'failed')"
    " FROM csv_imports i"
)


def _import(row: Any) -> Import:
    return Import(
        id=row["id"],
        kind=row["kind"],
        mode=row["mode"],
        filename=row["filename"],
        state=row["state"],
        total=row["total"],
        removed=row["removed"],
        error=row["error"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        added=row[-3],
        skipped=row[-2],
        failed=row[-1],
    )


async def get(db: Database, import_id: int) -> Import | None:
    row = await db.fetchone(f"{_COUNTS} WHERE i.id = ?", (import_id,))
    return None if row is None else _import(row)


async def recent(db: Database, limit: int) -> list[Import]:
    rows = await db.fetchall(f"{_COUNTS} ORDER BY i.id DESC LIMIT ?", (limit,))
    return [_import(row) for row in rows]


async def next_unfinished(db: Database) -> Import | None:
    """The oldest import not finished: imports run one at a time, in the order made."""
    row = await db.fetchone(
        f"{_COUNTS} WHERE i.state IN ('queued', 'running') ORDER BY i.id LIMIT 1"
    )
    return None if row is None else _import(row)


async def pending(db: Database, import_id: int, limit: int) -> list[Line]:
    rows = await db.fetchall(
        "SELECT line, data FROM csv_import_rows WHERE import_id = ? AND state = 'pending'"
        " ORDER BY line LIMIT ?",
        (import_id, limit),
    )
    return [Line(row[0], json.loads(row[1])) for row in rows]


async def all_values(db: Database, import_id: int) -> list[dict[str, Any]]:
    """Every line's values, whatever became of it: what an overwrite keeps."""
    rows = await db.fetchall(
        "SELECT data FROM csv_import_rows WHERE import_id = ? ORDER BY line", (import_id,)
    )
    return [json.loads(row[0]) for row in rows]


async def settle(db: Database, import_id: int, settled: Sequence[Settled]) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE csv_import_rows SET state = ?, reason = ? WHERE import_id = ? AND line = ?",
            [(s.outcome, s.reason[:500] or None, import_id, s.line) for s in settled],
        )


async def set_state(
    db: Database,
    import_id: int,
    state: str,
    *,
    removed: int | None = None,
    error: str | None = None,
) -> None:
    finished = time.time() if state in ("done", "failed") else None
    await db.execute(
        "UPDATE csv_imports SET state = ?, removed = COALESCE(?, removed), error = ?,"
        " finished_at = ? WHERE id = ?",
        (state, removed, error, finished, import_id),
    )


@dataclass(frozen=True)
class Problem:
    line: int
    outcome: Outcome
    reason: str
    text: str  # the line's value as written


async def problems(db: Database, import_id: int, limit: int) -> list[Problem]:
    """The lines that failed, then those skipped, by line, with why."""
    rows = await db.fetchall(
        "SELECT line, state, reason, json_extract(data, '$.value') FROM csv_import_rows"
        " WHERE import_id = ? AND state IN ('failed', 'skipped')"
        " ORDER BY state = 'skipped', line LIMIT ?",
        (import_id, limit),
    )
    return [Problem(row[0], row[1], row[2] or "", str(row[3] or "")) for row in rows]
