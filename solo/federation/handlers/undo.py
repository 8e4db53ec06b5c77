"""Undo of Follow, Like (and EmojiReact), Announce, Block and Accept (FEDERATION.md rule 28)."""

from __future__ import annotations

import time
from typing import Any

from solo.activitystreams import id_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.store import follows, interactions, notifications, statuses
from solo.store.actors import RemoteActor

# An Undo may overtake what it undoes; it is remembered this long (Mastodon: 6 hours).
EARLY_REMOVAL_SECONDS = 6 * 3600


async def remember_early(
    federation: Federation, object_ap_id: str, actor: RemoteActor, kind: str
) -> None:
    now = time.time()
    async with federation.db.transaction() as conn:
        await conn.execute("DELETE FROM early_removals WHERE expires_at <= ?", (now,))
        await conn.execute(
            "INSERT OR REPLACE INTO early_removals (object_ap_id, actor_ap_id, kind, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (object_ap_id, actor.ap_id, kind, now + EARLY_REMOVAL_SECONDS),
        )


async def removed_early(federation: Federation, object_ap_id: str, actor_ap_id: str) -> bool:
    """True (and forgotten) when a Delete or Undo of this object arrived before it. There is
    almost never one: a read says so, and only one found is deleted (in a transaction)."""
    where = "object_ap_id = ? AND actor_ap_id = ? AND expires_at > ?"
    params = (object_ap_id, actor_ap_id, time.time())
    if await federation.db.fetchone(f"SELECT 1 FROM early_removals WHERE {where}", params) is None:
        return False
    async with federation.db.transaction() as conn:
        cursor = await conn.execute(f"DELETE FROM early_removals WHERE {where}", params)
        return cursor.rowcount > 0


async def on_undo(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    obj = activity.get("object")
    undone_id = id_of(obj)
    if undone_id is None:
        raise Ignored("an Undo of nothing")
    kind = obj.get("type") if isinstance(obj, dict) else None
    if isinstance(obj, dict) and id_of(obj.get("actor")) not in (None, actor.ap_id):
        raise Ignored("an Undo of someone else's activity")
    assert actor.id is not None
    if kind == "Follow" or (kind is None and await _is_follow(federation, undone_id)):
        await _undo_follow(federation, actor)
    elif kind in ("Like", "EmojiReact", "Announce") or kind is None:
        if await _undo_interaction(federation, undone_id, actor):
            return
        if (
            kind in ("Like", "EmojiReact")
            and isinstance(obj, dict)
            and await _undo_like_of(federation, obj, actor)
        ):
            return
        if kind is not None:
            await remember_early(federation, undone_id, actor, kind)
    elif kind == "Block":
        async with federation.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM interactions WHERE kind = 'block' AND actor_id = ?", (actor.id,)
            )
    elif kind == "Accept":
        # They take back their acceptance: our follow of them is over.
        async with federation.db.transaction() as conn:
            await follows.remove_follow(conn, "out", actor.id)
        await federation.feeds.rebuild_timeline("home")
    else:
        raise Ignored(f"an Undo of {kind}")


async def _undo_like_of(federation: Federation, like: dict[str, Any], actor: RemoteActor) -> bool:
    """Undo a Like by what it liked: some servers' Undo carries another id than their Like
    (or their Like had none), and Mastodon matches by the liked post too."""
    liked = id_of(like.get("object"))
    status = await statuses.get_status_by_ap_id(federation.db, liked) if liked else None
    if status is None:
        return False
    async with federation.db.transaction() as conn:
        removed = await interactions.remove(conn, "like", actor_id=actor.id, status_id=status.id)
        if removed is None:
            return False
        await notifications.remove(conn, "favourite", actor.id or 0, status.id)
    await federation.feeds.rebuild_notifications()
    return True


async def _is_follow(federation: Federation, ap_id: str) -> bool:
    return await follows.get_follow_by_ap_id(federation.db, ap_id) is not None


async def _undo_follow(federation: Federation, actor: RemoteActor) -> None:
    assert actor.id is not None
    async with federation.db.transaction() as conn:
        if await follows.remove_follow(conn, "in", actor.id):
            await notifications.remove(conn, "follow", actor.id)
            await notifications.remove(conn, "follow_request", actor.id)
    await federation.feeds.rebuild_notifications()


async def _undo_interaction(federation: Federation, ap_id: str, actor: RemoteActor) -> bool:
    """Remove a Like or Announce by `actor`; False when we never had it."""
    assert actor.id is not None
    async with federation.db.transaction() as conn:
        async with conn.execute(
            "DELETE FROM interactions WHERE ap_id = ? AND actor_id = ?"
            " AND kind IN ('like', 'announce') RETURNING kind, status_id",
            (ap_id, actor.id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        kind = "favourite" if row[0] == "like" else "reblog"
        await notifications.remove(conn, kind, actor.id, row[1])
        boost_id = None
        if row[0] == "announce":
            # The boost's own status row goes with it.
            async with conn.execute(
                "DELETE FROM statuses WHERE ap_id = ? AND actor_id = ? RETURNING id",
                (ap_id, actor.id),
            ) as cursor:
                boost = await cursor.fetchone()
            boost_id = boost[0] if boost else None
    if boost_id is not None:
        federation.feeds.status_removed(boost_id)
    await federation.feeds.rebuild_notifications()
    return True
