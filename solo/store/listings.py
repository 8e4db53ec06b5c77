"""The lists the client API pages through with Mastodon's cursors: our bookmarks, favourites
and blocks, follows, an account's posts, notifications with filters, and what search finds.

Each takes a `Window`: `solo.api.paging.PageRequest` is one. Its `sql(column)` gives the
condition on the cursor column, its arguments and the order to read in; the rows come back in
that order (the caller's `arrange` puts them newest first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from solo.db import Database
from solo.store.domain_blocks import BLOCKED_ACTORS as DOMAIN_BLOCKED
from solo.store.follows import Direction, Follow, _follow
from solo.store.interactions import Kind
from solo.store.suppression import author_hidden, notification_suppressed
from solo.store.tags import TAG_ITEMS, TAG_NAME, TAG_OBJECT
from solo.store.tags import tagged as tagged_with

# A post that answers someone else (a thread of one's own is not a reply here, as Mastodon's
# `exclude_replies`); `s` is the post.
_REPLY_TO_OTHERS = (
    "s.in_reply_to_ap_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM statuses p"
    " WHERE p.id = s.in_reply_to_id AND p.actor_id IS s.actor_id)"
)


class Window(Protocol):
    @property
    def limit(self) -> int: ...

    def sql(self, column: str) -> tuple[str, list[int], str]: ...


async def our_interactions(db: Database, kind: Kind, window: Window) -> list[tuple[int, int]]:
    """Our bookmarks or favourites (status ids) or blocks (actor ids), as (row id, target)
    pairs; the row id is the cursor."""
    target = "target_actor_id" if kind == "block" else "status_id"
    where, args, order = window.sql("id")
    rows = await db.fetchall(
        f"SELECT id, {target} FROM interactions WHERE kind = ? AND actor_id IS NULL"
        f" AND {target} IS NOT NULL AND {where} ORDER BY id {order} LIMIT ?",
        (kind, *args, window.limit),
    )
    return [(row[0], row[1]) for row in rows]


async def follows(db: Database, direction: Direction, state: str, window: Window) -> list[Follow]:
    """Follows one way in one state, by follow id; actors whose account is gone left out."""
    where, args, order = window.sql("follows.id")
    rows = await db.fetchall(
        "SELECT follows.* FROM follows JOIN actors ON actors.id = follows.actor_id"
        " WHERE follows.direction = ? AND follows.state = ? AND actors.deleted_at IS NULL"
        f" AND {where} ORDER BY follows.id {order} LIMIT ?",
        (direction, state, *args, window.limit),
    )
    return [_follow(row) for row in rows]


async def account_posts(
    db: Database,
    actor_id: int | None,
    window: Window,
    *,
    public_only: bool,
    exclude_reblogs: bool = False,
    exclude_replies: bool = False,
    only_media: bool = False,
    tagged: str | None = None,
) -> list[int]:
    """An account's posts and boosts (`actor_id` None: ours), with the filters of Mastodon's
    GET /api/v1/accounts/:id/statuses. `public_only` keeps public and unlisted ones."""
    where, args, order = window.sql("s.id")
    conditions = ["s.actor_id IS ?", "s.deleted_at IS NULL", where]
    values: list[object] = [actor_id, *args]
    if public_only:
        conditions.append("s.visibility IN ('public', 'unlisted')")
    if exclude_reblogs:
        conditions.append("s.reblog_of_id IS NULL")
    if exclude_replies:
        conditions.append(f"NOT ({_REPLY_TO_OTHERS})")
    if only_media:
        conditions.append("EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id)")
    if tagged is not None:
        conditions.append(tagged_with("?"))
        values.append(json.dumps([tagged.lstrip("#").lower()]))
    rows = await db.fetchall(
        f"SELECT s.id FROM statuses s WHERE {' AND '.join(conditions)}"
        f" ORDER BY s.id {order} LIMIT ?",
        (*values, window.limit),
    )
    return [row[0] for row in rows]


async def timeline(db: Database, rule: str, window: Window, *extra: str) -> list[int]:
    """A page of a timeline read from SQLite by its rule (`solo.feeds.RULES`), with more
    conditions on the status `s` (e.g. only posts with media)."""
    where, args, order = window.sql("s.id")
    conditions = " AND ".join((f"({rule})", where, *extra))
    rows = await db.fetchall(
        f"SELECT s.id FROM statuses s NOT INDEXED WHERE {conditions} ORDER BY s.id {order} LIMIT ?",
        (*args, window.limit),
    )
    return [row[0] for row in rows]


ONLY_MEDIA = "EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id)"
REMOTE_ONLY = "s.actor_id IS NOT NULL"


async def hashtag(
    db: Database, names: Sequence[str], window: Window, *, local_only: bool, only_media: bool
) -> list[int]:
    """Public posts with any of the tags `names` (any case), as `tags.hashtag_page`."""
    where, args, order = window.sql("s.id")
    local = "AND s.actor_id IS NULL" if local_only else ""
    if only_media:
        local += f" AND {ONLY_MEDIA}"
    rows = await db.fetchall(
        "SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
        f" AND s.visibility = 'public' {local} AND NOT {author_hidden('s.actor_id')}"
        f" AND {where}"
        f" AND {tagged_with('?')} ORDER BY s.id {order} LIMIT ?",
        (*args, json.dumps([n.lstrip("#").lower() for n in names]), window.limit),
    )
    return [row[0] for row in rows]


async def notifications(
    db: Database,
    window: Window,
    *,
    types: Sequence[str] = (),
    exclude_types: Sequence[str] = (),
    actor_id: int | None = None,
    include_filtered: bool = False,
) -> list[int]:
    """Notification ids with Mastodon's filters; suppressed ones (blocked or muted accounts,
    muted conversations) are left out, and those the notification policy holds back unless
    `include_filtered`."""
    where, args, order = window.sql("id")
    conditions = [
        where,
        "1" if include_filtered else "filtered = 0",
        f"NOT {notification_suppressed()}",
    ]
    values: list[object] = list(args)
    if types:
        conditions.append("type IN (SELECT value FROM json_each(?))")
        values.append(json.dumps(list(types)))
    if exclude_types:
        conditions.append("type NOT IN (SELECT value FROM json_each(?))")
        values.append(json.dumps(list(exclude_types)))
    if actor_id is not None:
        conditions.append("actor_id = ?")
        values.append(actor_id)
    rows = await db.fetchall(
        f"SELECT id FROM notifications WHERE {' AND '.join(conditions)}"
        f" ORDER BY id {order} LIMIT ?",
        (*values, window.limit),
    )
    return [row[0] for row in rows]


async def search_actors(db: Database, text: str, *, limit: int, offset: int) -> list[int]:
    """Known accounts whose username, handle or name starts with `text` (any case)."""
    prefix = text.lstrip("@").lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.fetchall(
        f"SELECT id FROM actors WHERE deleted_at IS NULL AND id NOT IN ({DOMAIN_BLOCKED}) AND ("
        " lower(username) LIKE ? ESCAPE '\\' OR lower(username || '@' || domain) LIKE ? ESCAPE '\\'"
        " OR lower(display_name) LIKE ? ESCAPE '\\')"
        " ORDER BY (lower(username) = ?) DESC, id LIMIT ? OFFSET ?",
        (f"{prefix}%", f"{prefix}%", f"{prefix}%", prefix, limit, offset),
    )
    return [row[0] for row in rows]


async def search_hashtags(db: Database, text: str, *, limit: int, offset: int) -> list[str]:
    """Hashtags of stored public posts that start with `text`, most used first (this scans
    the posts: a tag index belongs with full-text search)."""
    prefix = text.lstrip("#").lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.fetchall(
        f"SELECT ltrim(json_extract({TAG_OBJECT}, '$.name'), '#') AS name, count(*) AS uses"
        f" FROM statuses s, {TAG_ITEMS} t"
        " WHERE s.deleted_at IS NULL AND s.visibility = 'public'"
        f" AND {TAG_NAME} LIKE ? ESCAPE '\\'"
        " GROUP BY lower(name) ORDER BY uses DESC, lower(name) LIMIT ? OFFSET ?",
        (f"{prefix}%", limit, offset),
    )
    return [row[0] for row in rows]


async def blocks_between(db: Database, actor_ids: Sequence[int]) -> tuple[set[int], set[int]]:
    """Of these accounts, the ones we block and the ones that block us, in ONE query."""
    rows = await db.fetchall(
        "SELECT actor_id, target_actor_id FROM interactions WHERE kind = 'block'"
        " AND ((actor_id IS NULL AND target_actor_id IN (SELECT value FROM json_each(?1)))"
        " OR (target_actor_id IS NULL AND actor_id IN (SELECT value FROM json_each(?1))))",
        (json.dumps(sorted({int(i) for i in actor_ids})),),
    )
    blocking = {row[1] for row in rows if row[0] is None}
    blocked_by = {row[0] for row in rows if row[0] is not None}
    return blocking, blocked_by
