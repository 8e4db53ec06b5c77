"""The notification policy (Mastodon 4.3): who may notify us at once, whose notifications wait
as requests, whose are dropped.

    policy_verdict(raw, kind, actor_id, status_id)   # "accept" | "filter" | "drop"
    await get_policy(db) / await set_policy(conn, changes)

`policy_verdict` is THE check every new notification passes (`solo.store.notifications.add`
calls it); any other reason to hold back or drop a notification belongs in it.

Mastodon's rules: only mentions, boosts, favourites, follows and follow requests are
filterable; an account whose request was accepted always passes. "Not a follower" includes one
who followed less than three days ago; a "new" account is one whose document says it was
published in the last 30 days, or, without `published`, one first seen here in that time (as
Mastodon dates such accounts). A private mention is a direct message from someone we don't
follow, unless it answers one of our posts or a thread where we wrote to them privately.
Solo has no moderator-limited accounts, so `for_limited_accounts` is kept but never applies.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, fields
from typing import Final, Literal, get_args

import aiosqlite

from solo.db import Database
from solo.store.actors import published_at

Action = Literal["accept", "filter", "drop"]
ACTIONS: Final = frozenset(get_args(Action))
FILTERABLE: Final = frozenset({"mention", "reblog", "favourite", "follow", "follow_request"})
NEW_ACCOUNT_AGE: Final = 30 * 86400.0
NEW_FOLLOWER_AGE: Final = 3 * 86400.0
THREAD_DEPTH: Final = 100  # how far up a thread a private mention looks for our own posts


@dataclass(frozen=True)
class Policy:
    for_not_following: Action = "accept"
    for_not_followers: Action = "accept"
    for_new_accounts: Action = "accept"
    for_private_mentions: Action = "filter"
    for_limited_accounts: Action = "filter"


FIELDS: Final = tuple(f.name for f in fields(Policy))


async def get_policy(db: Database) -> Policy:
    row = await db.fetchone(f"SELECT {', '.join(FIELDS)} FROM notification_policy WHERE id = 1")
    return Policy() if row is None else Policy(*(row[name] for name in FIELDS))


async def set_policy(conn: aiosqlite.Connection, changes: dict[str, Action]) -> None:
    """Change some of the policy's fields (names from FIELDS, values from ACTIONS)."""
    unknown = set(changes) - set(FIELDS)
    if unknown or not set(changes.values()) <= ACTIONS:
        raise ValueError(f"not a policy change: {changes}")
    if not changes:
        return
    await conn.execute("INSERT OR IGNORE INTO notification_policy (id) VALUES (1)")
    await conn.execute(
        f"UPDATE notification_policy SET {', '.join(f'{name} = ?' for name in changes)}"
        " WHERE id = 1",
        tuple(changes.values()),
    )


def _value(raw: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> object:
    row = raw.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _policy(raw: sqlite3.Connection) -> Policy:
    sql = f"SELECT {', '.join(FIELDS)} FROM notification_policy WHERE id = 1"
    row = raw.execute(sql).fetchone()
    return Policy() if row is None else Policy(*row)


class _Facts:
    """What the rules ask about the sender, each read only when a rule needs it."""

    def __init__(self, raw: sqlite3.Connection, actor_id: int) -> None:
        self.raw = raw
        self.actor_id = actor_id
        self.now = time.time()

    def following(self) -> bool:
        return (
            _value(
                self.raw,
                "SELECT 1 FROM follows WHERE direction = 'out' AND actor_id = ?"
                " AND state = 'accepted'",
                (self.actor_id,),
            )
            is not None
        )

    def follower(self) -> bool:
        return (
            _value(
                self.raw,
                "SELECT 1 FROM follows WHERE direction = 'in' AND actor_id = ?"
                " AND state = 'accepted' AND created_at <= ?",
                (self.actor_id, self.now - NEW_FOLLOWER_AGE),
            )
            is not None
        )

    def new_account(self) -> bool:
        row = self.raw.execute(
            "SELECT raw, first_seen_at FROM actors WHERE id = ?", (self.actor_id,)
        ).fetchone()
        if row is None:
            return True
        created = published_at(row[0]) or row[1] or self.now
        return bool(created > self.now - NEW_ACCOUNT_AGE)

    def private_mention(self, kind: str, status_id: int | None) -> bool:
        """A direct message that does not answer us (see the module's docstring)."""
        if kind != "mention" or status_id is None:
            return False
        row = self.raw.execute(
            "SELECT s.visibility, s.in_reply_to_id, a.ap_id FROM statuses s"
            " JOIN actors a ON a.id = s.actor_id WHERE s.id = ?",
            (status_id,),
        ).fetchone()
        if row is None or row[0] != "direct":
            return False
        if row[1] is None:
            return True
        answered = _value(
            self.raw,
            "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL"
            " SELECT s.in_reply_to_id, up.depth + 1 FROM up JOIN statuses s ON s.id = up.id"
            " WHERE s.in_reply_to_id IS NOT NULL AND up.depth < ?)"
            " SELECT 1 FROM up JOIN statuses s ON s.id = up.id WHERE s.actor_id IS NULL"
            " AND (up.depth = 0 OR (s.visibility = 'direct' AND json_valid(s.raw)"
            "  AND EXISTS (SELECT 1 FROM json_each(s.raw, '$.tag') t"
            "   WHERE json_extract(t.value, '$.href') = ?)))"
            " LIMIT 1",
            (row[1], THREAD_DEPTH, row[2]),
        )
        return answered is None


def policy_verdict(
    raw: sqlite3.Connection, kind: str, actor_id: int | None, status_id: int | None
) -> Action:
    """What becomes of a new notification of `kind` from `actor_id` (None: ourselves) about
    `status_id`: shown ("accept"), held back as a request ("filter"), or never made ("drop").
    Read on the writer's connection, inside the transaction that would add it (on its
    thread: a few reads in a row, without a hop each)."""
    if actor_id is None or kind not in FILTERABLE:
        return "accept"
    if _value(raw, "SELECT 1 FROM notification_permissions WHERE actor_id = ?", (actor_id,)):
        return "accept"
    policy = _policy(raw)
    facts = _Facts(raw, actor_id)
    verdicts: set[Action] = set()
    following: bool | None = None
    if policy.for_not_following != "accept" or policy.for_private_mentions != "accept":
        following = facts.following()
    if policy.for_not_following != "accept" and not following:
        verdicts.add(policy.for_not_following)
    if policy.for_not_followers != "accept" and not facts.follower():
        verdicts.add(policy.for_not_followers)
    if policy.for_new_accounts != "accept" and facts.new_account():
        verdicts.add(policy.for_new_accounts)
    if (
        policy.for_private_mentions != "accept"
        and not following
        and facts.private_mention(kind, status_id)
    ):
        verdicts.add(policy.for_private_mentions)
    if "drop" in verdicts:
        return "drop"
    return "filter" if "filter" in verdicts else "accept"
