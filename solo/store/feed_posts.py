"""Our posts as RSS and Atom readers get them: the profile feed and a hashtag's feed."""

from __future__ import annotations

import json

from solo.db import Database
from solo.store.statuses import Status, status_from_row
from solo.store.tags import tagged

# Ours, not deleted, not boosts. Like Mastodon's account feed: public and unlisted (unlisted is
# about discovery, not about who may read), without replies to others; a thread of our own stays.
_PROFILE = (
    "s.actor_id IS NULL AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
    " AND s.visibility IN ('public', 'unlisted')"
    " AND (s.in_reply_to_ap_id IS NULL OR s.in_reply_to_ap_id IN"
    " (SELECT p.ap_id FROM statuses p WHERE p.actor_id IS NULL))"
)
# A tag's feed is for discovery, as its page is: public posts only.
_TAGGED = (
    "s.actor_id IS NULL AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
    " AND s.visibility = 'public'"
)


async def profile_posts(db: Database, limit: int) -> list[Status]:
    rows = await db.fetchall(
        f"SELECT s.* FROM statuses s WHERE {_PROFILE} ORDER BY s.id DESC LIMIT ?", (limit,)
    )
    return [status_from_row(row) for row in rows]


async def last_removal(db: Database, prefix: str) -> float:
    """When one of our posts (ids starting with `prefix`) was last deleted: a feed changes then
    too, though no entry in it is newer (its Last-Modified must move, or a reader keeps the
    deleted post). Our deleted posts leave only their tombstone."""
    value = await db.fetchval(
        "SELECT MAX(deleted_at) FROM tombstones WHERE ap_id >= ? AND ap_id < ?",
        (prefix, prefix + "\U0010ffff"),
    )
    return float(value or 0)


async def tagged_posts(db: Database, name: str, limit: int) -> list[Status]:
    """Our public posts tagged `#name` (any case)."""
    rows = await db.fetchall(
        f"SELECT s.* FROM statuses s WHERE {_TAGGED} AND {tagged('?')} ORDER BY s.id DESC LIMIT ?",
        (json.dumps([name.lstrip("#").lower()]), limit),
    )
    return [status_from_row(row) for row in rows]
