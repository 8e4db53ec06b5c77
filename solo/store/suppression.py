"""What the user asked not to see, as SQL the lists share.

`notification_suppressed` is THE rule for notifications: every list of them (the web page, the
API with its filters), every single one read by id, the streams and the unread count go
through it. Read at the moment of reading, so a mute that runs out stops applying at once.

`HIDDEN_AUTHORS` are the accounts whose posts leave timelines, threads, tag pages and search:
those we block, those on blocked domains and those we mute (mutes in force).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from solo.db import Database
from solo.store import conversation_mutes, mutes
from solo.store.domain_blocks import BLOCKED_ACTORS as DOMAIN_BLOCKED

BLOCKED = (
    "SELECT target_actor_id FROM interactions WHERE kind = 'block' AND actor_id IS NULL"
    " AND target_actor_id IS NOT NULL"
)
# Accounts we block, those on domains we block, and those we mute.
HIDDEN_AUTHORS = f"{BLOCKED} UNION {DOMAIN_BLOCKED} UNION {mutes.ACTIVE}"


def author_hidden(actor: str) -> str:
    """SQL true when the post author `actor` (an actor id column; NULL is us) is hidden."""
    return f"({actor} IS NOT NULL AND {actor} IN ({HIDDEN_AUTHORS}))"


def notification_suppressed(n: str = "notifications") -> str:
    """SQL true for a notification (table or alias `n`) the user asked not to get: from an
    account blocked (or on a blocked domain), or muted with its notifications; about a post in
    a muted conversation. (Those the notification policy holds back are `filtered`.)"""
    return (
        f"(({n}.actor_id IS NOT NULL AND ({n}.actor_id IN ({BLOCKED})"
        f" OR {n}.actor_id IN ({DOMAIN_BLOCKED})"
        f" OR {n}.actor_id IN ({mutes.ACTIVE_FOR_NOTIFICATIONS})))"
        f" OR ({n}.status_id IS NOT NULL"
        f" AND {conversation_mutes.in_muted_thread(f'{n}.status_id')}))"
    )


async def hidden_posts(db: Database, status_ids: Iterable[int]) -> set[int]:
    """Of these posts, those by hidden authors (a boost: by its booster or the boosted post's
    author), in ONE query."""
    rows = await db.fetchall(
        "SELECT s.id FROM statuses s LEFT JOIN statuses b ON b.id = s.reblog_of_id"
        " WHERE s.id IN (SELECT value FROM json_each(?))"
        f" AND ({author_hidden('s.actor_id')} OR {author_hidden('b.actor_id')})",
        (json.dumps(sorted({int(i) for i in status_ids})),),
    )
    return {row[0] for row in rows}
