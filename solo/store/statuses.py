"""Statuses: ours (actor_id NULL) and remote ones, as rows of the `statuses` table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal, cast

from solo.db import Database

Visibility = Literal["public", "unlisted", "private", "direct"]

# What a local status must be to count as a post of ours: not deleted, not a boost.
_LOCAL_POST = "actor_id IS NULL AND deleted_at IS NULL AND reblog_of_id IS NULL"
# The outbox shows only what anyone may read; followers-only and direct posts never leave it.
_OUTBOX = f"{_LOCAL_POST} AND visibility IN ('public', 'unlisted')"


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
    )


async def count_local_statuses(db: Database) -> int:
    """Our posts of every visibility, for NodeInfo's `localPosts`."""
    return int(await db.fetchval(f"SELECT COUNT(*) FROM statuses WHERE {_LOCAL_POST}"))


async def count_outbox(db: Database) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) FROM statuses WHERE {_OUTBOX}"))


async def outbox_page(db: Database, *, max_id: int | None, limit: int) -> list[Status]:
    """Public and unlisted local posts, newest first, older than `max_id` when given."""
    rows = await db.fetchall(
        f"SELECT * FROM statuses WHERE {_OUTBOX} AND (? IS NULL OR id < ?)"
        " ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [_status(row) for row in rows]
