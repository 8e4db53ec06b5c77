"""Edit history: the versions a post had before its current one, as rows of `status_edits`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database

# A post edited in a loop must not grow without end: the oldest versions go first.
MAX_EARLIER_VERSIONS: Final = 49


@dataclass(frozen=True, slots=True)
class Version:
    """A post as it read from `created_at` until the next version replaced it."""

    content_html: str
    summary: str
    sensitive: bool
    created_at: float


async def record_replaced(
    conn: aiosqlite.Connection,
    status_id: int,
    *,
    content_html: str,
    summary: str,
    sensitive: bool,
) -> None:
    """Keep the version of `status_id` that the given content is about to replace.

    `statuses.update_content` calls it inside its transaction, before the update: the old
    version is read there on the writer, so two edits in a row cannot both record the same one.
    An update that changes nothing shown (a server re-sending its Note) adds no version."""
    await conn.execute(
        "INSERT INTO status_edits (status_id, content_html, summary, sensitive, created_at)"
        " SELECT id, content_html, summary, sensitive, COALESCE(edited_at, published_at)"
        " FROM statuses WHERE id = ?"
        " AND NOT (content_html = ? AND summary = ? AND sensitive = ?)",
        (status_id, content_html, summary, int(sensitive)),
    )
    await conn.execute(
        "DELETE FROM status_edits WHERE status_id = ? AND id NOT IN"
        " (SELECT id FROM status_edits WHERE status_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ?)",
        (status_id, status_id, MAX_EARLIER_VERSIONS),
    )


async def earlier_versions(db: Database, status_id: int) -> list[Version]:
    """The versions before the current one, newest first."""
    rows = await db.fetchall(
        "SELECT content_html, summary, sensitive, created_at FROM status_edits"
        " WHERE status_id = ? ORDER BY created_at DESC, id DESC",
        (status_id,),
    )
    return [
        Version(
            content_html=row["content_html"],
            summary=row["summary"],
            sensitive=bool(row["sensitive"]),
            created_at=row["created_at"],
        )
        for row in rows
    ]
