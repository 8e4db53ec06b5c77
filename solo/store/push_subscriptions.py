"""Web Push subscriptions (an app's, per token; the web interface's, per browser) and the
`webpush` jobs queued for them when a notification is created."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Final

import aiosqlite

from solo.db import Database

QUEUE: Final = "webpush"
POLICIES: Final = ("all", "followed", "follower", "none")
# The alerts Mastodon's WebPushSubscription names; each false unless asked for.
ALERTS: Final = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "quote",
    "quoted_update",
    "admin.sign_up",
    "admin.report",
)


@dataclass(frozen=True)
class PushSubscription:
    id: int
    token_id: int | None
    access_token: str | None
    endpoint: str
    p256dh: str
    auth: str
    standard: bool
    alerts: dict[str, bool]
    policy: str


def _subscription(row: sqlite3.Row) -> PushSubscription:
    return PushSubscription(
        id=row["id"],
        token_id=row["token_id"],
        access_token=row["access_token"],
        endpoint=row["endpoint"],
        p256dh=row["p256dh"],
        auth=row["auth"],
        standard=bool(row["standard"]),
        alerts={name: bool(value) for name, value in json.loads(row["alerts"]).items()},
        policy=row["policy"],
    )


@dataclass(frozen=True)
class NewSubscription:
    endpoint: str
    host: str
    p256dh: str
    auth: str
    standard: bool
    alerts: dict[str, bool]
    policy: str


async def save_for_token(
    conn: aiosqlite.Connection, token_id: int, access_token: str, new: NewSubscription
) -> int:
    """An app's subscription, replacing the one its token had (one per token, as Mastodon)."""
    await conn.execute("DELETE FROM push_subscriptions WHERE token_id = ?", (token_id,))
    return await _insert(conn, new, token_id=token_id, access_token=access_token)


async def save_for_browser(conn: aiosqlite.Connection, new: NewSubscription) -> int:
    """The web interface's subscription of one browser, replacing one with the same endpoint."""
    await conn.execute(
        "DELETE FROM push_subscriptions WHERE token_id IS NULL AND endpoint = ?", (new.endpoint,)
    )
    return await _insert(conn, new, token_id=None, access_token=None)


async def _insert(
    conn: aiosqlite.Connection,
    new: NewSubscription,
    *,
    token_id: int | None,
    access_token: str | None,
) -> int:
    now = time.time()
    async with conn.execute(
        "INSERT INTO push_subscriptions (token_id, access_token, endpoint, host, p256dh, auth,"
        " standard, alerts, policy, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            token_id,
            access_token,
            new.endpoint,
            new.host,
            new.p256dh,
            new.auth,
            int(new.standard),
            json.dumps(new.alerts, separators=(",", ":")),
            new.policy,
            now,
            now,
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def update(
    conn: aiosqlite.Connection, subscription_id: int, alerts: dict[str, bool], policy: str
) -> None:
    await conn.execute(
        "UPDATE push_subscriptions SET alerts = ?, policy = ?, updated_at = ? WHERE id = ?",
        (json.dumps(alerts, separators=(",", ":")), policy, time.time(), subscription_id),
    )


async def for_token(db: Database, token_id: int) -> PushSubscription | None:
    row = await db.fetchone("SELECT * FROM push_subscriptions WHERE token_id = ?", (token_id,))
    return None if row is None else _subscription(row)


async def for_browser(db: Database, endpoint: str) -> PushSubscription | None:
    row = await db.fetchone(
        "SELECT * FROM push_subscriptions WHERE token_id IS NULL AND endpoint = ?", (endpoint,)
    )
    return None if row is None else _subscription(row)


async def browser_count(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM push_subscriptions WHERE token_id IS NULL"))


async def get(db: Database, subscription_id: int) -> PushSubscription | None:
    """A subscription that may still be used: gone with a revoked token."""
    row = await db.fetchone(
        "SELECT s.* FROM push_subscriptions s LEFT JOIN oauth_tokens t ON t.id = s.token_id"
        " WHERE s.id = ? AND (s.token_id IS NULL OR t.revoked_at IS NULL)",
        (subscription_id,),
    )
    return None if row is None else _subscription(row)


async def delete(conn: aiosqlite.Connection, subscription_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM push_subscriptions WHERE id = ?", (subscription_id,))
    return cursor.rowcount > 0


async def delete_for_token(conn: aiosqlite.Connection, token_id: int) -> None:
    await conn.execute("DELETE FROM push_subscriptions WHERE token_id = ?", (token_id,))


async def delete_for_browser(conn: aiosqlite.Connection, endpoint: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM push_subscriptions WHERE token_id IS NULL AND endpoint = ?", (endpoint,)
    )
    return cursor.rowcount > 0


async def delete_all_browsers(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute("DELETE FROM push_subscriptions WHERE token_id IS NULL")
    return cursor.rowcount


def enqueue_pushes(
    raw: sqlite3.Connection, notification_id: int, kind: str, actor_id: int | None
) -> int:
    """One `webpush` job per subscription that wants this notification, inside the caller's
    transaction: its alert for `kind` is on and its policy admits the sender (`followed`:
    someone the user follows; `follower`: someone following the user; a notification with no
    sender, such as a poll of one's own ending, passes every policy but `none`). On the
    connection's thread."""
    now = time.time()
    cursor = raw.execute(
        "INSERT INTO jobs (queue, payload, host, ref, next_attempt_at, created_at, updated_at)"
        " SELECT ?, json_object('subscription', s.id, 'notification', ?), s.host, NULL, ?, ?, ?"
        " FROM push_subscriptions s LEFT JOIN oauth_tokens t ON t.id = s.token_id"
        " WHERE (s.token_id IS NULL OR t.revoked_at IS NULL)"
        " AND json_extract(s.alerts, '$.\"' || ? || '\"') = 1"
        " AND (s.policy = 'all' OR (s.policy != 'none' AND (? IS NULL OR EXISTS ("
        "   SELECT 1 FROM follows f WHERE f.actor_id = ? AND f.state = 'accepted'"
        "   AND f.direction = CASE s.policy WHEN 'followed' THEN 'out' ELSE 'in' END))))"
        " ORDER BY s.id",
        (QUEUE, notification_id, now, now, now, kind, actor_id, actor_id),
    )
    return cursor.rowcount


WEB_PREFERENCES: Final = "web_push"  # the meta row of the web interface's alerts and policy
WEB_DEFAULT_ALERTS: Final = ("mention", "follow", "follow_request", "favourite", "reblog", "poll")


@dataclass(frozen=True)
class WebPreferences:
    """What every browser of the web interface is sent: the same for all of them."""

    alerts: dict[str, bool]
    policy: str


async def web_preferences(db: Database) -> WebPreferences:
    raw = await db.fetchval("SELECT value FROM meta WHERE key = ?", (WEB_PREFERENCES,))
    alerts = {name: name in WEB_DEFAULT_ALERTS for name in ALERTS}
    policy = "all"
    if raw is not None:
        saved = json.loads(str(raw))
        alerts.update(
            {name: bool(value) for name, value in saved.get("alerts", {}).items() if name in alerts}
        )
        if saved.get("policy") in POLICIES:
            policy = saved["policy"]
    return WebPreferences(alerts, policy)


async def set_web_preferences(conn: aiosqlite.Connection, preferences: WebPreferences) -> None:
    """Keep the web interface's choice and apply it to every browser subscribed."""
    alerts = json.dumps(preferences.alerts, separators=(",", ":"))
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (WEB_PREFERENCES, json.dumps({"alerts": preferences.alerts, "policy": preferences.policy})),
    )
    await conn.execute(
        "UPDATE push_subscriptions SET alerts = ?, policy = ?, updated_at = ?"
        " WHERE token_id IS NULL",
        (alerts, preferences.policy, time.time()),
    )
