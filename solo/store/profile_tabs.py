"""The pages of a profile's tabs, as Mastodon cuts them: Posts (with boosts and the account's
own threads, not its replies to others), Posts and replies (everything), Media (its own posts
with attachments, no boosts)."""

from __future__ import annotations

from typing import Literal

from solo.db import Database

Tab = Literal["posts", "replies", "media"]
TABS: tuple[Tab, ...] = ("posts", "replies", "media")

# A reply to someone else; a reply to the account's own post continues a thread of its own.
_NOT_A_REPLY = (
    "(s.in_reply_to_ap_id IS NULL OR EXISTS (SELECT 1 FROM statuses p"
    " WHERE p.id = s.in_reply_to_id AND p.actor_id IS s.actor_id))"
)
_WITH_MEDIA = "(s.reblog_of_id IS NULL AND EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id))"
_TAB_CLAUSE: dict[Tab, str] = {"posts": _NOT_A_REPLY, "replies": "1", "media": _WITH_MEDIA}


async def page(
    db: Database,
    actor_id: int | None,
    tab: Tab,
    *,
    max_id: int | None,
    limit: int,
    public_only: bool = False,
) -> list[int]:
    """Ids of one page of `tab` of the profile of `actor_id` (None: ours), newest first;
    `public_only` keeps what a visitor may read."""
    owner = "s.actor_id IS NULL" if actor_id is None else "s.actor_id = ?"
    owner_args: tuple[int, ...] = () if actor_id is None else (actor_id,)
    shown = " AND s.visibility IN ('public', 'unlisted')" if public_only else ""
    rows = await db.fetchall(
        f"SELECT s.id FROM statuses s WHERE {owner} AND s.deleted_at IS NULL{shown}"
        f" AND {_TAB_CLAUSE[tab]} AND (? IS NULL OR s.id < ?) ORDER BY s.id DESC LIMIT ?",
        (*owner_args, max_id, max_id, limit),
    )
    return [row[0] for row in rows]
