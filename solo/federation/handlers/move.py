"""Move: an account we follow, block or mute moved to another (FEDERATION.md rule 29).

The Move is believed only as far as the target, fetched fresh (never the copy embedded in the
activity), names the origin in its `alsoKnownAs`. Then, as Mastodon's `MoveWorker` does for its
local users: a follow moves to the target (Follow sent now, Undo of the old one a little later,
so that the target's server can still find us among the old account's followers), a block or a
mute carries over unless we already follow the target, and a `move` notification says so. One
Move per account is processed per 7 days (Mastodon's `PROCESSING_COOLDOWN`).

A Move whose target is us (an alias of ours arriving) lets the old account's followers past a
lock: their servers' Follows are coming (`solo.federation.moves`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

import aiosqlite

from solo import urls
from solo.activitystreams import AS_CONTEXT, id_of
from solo.federation import vocab
from solo.federation.audience import inbox_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery, record_activity
from solo.federation.handlers import Ignored
from solo.federation.handlers.follow import send_answer
from solo.federation.moves import also_known_as, read_alias_followers
from solo.federation.notes import first
from solo.federation.resolver import ResolveError
from solo.jobs import enqueue
from solo.store import follows, interactions, moves, mutes, notifications
from solo.store.account import get_account
from solo.store.actors import RemoteActor, get_actor_by_id

log = logging.getLogger(__name__)

PROCESSING_COOLDOWN: Final = 7 * 86400.0
# The Undo of the old follow waits this long: the target's server may read the old account's
# followers to let us past its lock.
UNFOLLOW_DELAY: Final = 300.0


async def on_move(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    origin = actor.ap_id
    if id_of(first(activity.get("object"))) != origin:
        raise Ignored("a Move of another account than its sender")
    target_ap_id = id_of(first(activity.get("target")))
    if target_ap_id is None:
        raise Ignored("a Move without a target")
    if target_ap_id == origin:
        raise Ignored("a Move of an account to itself")
    if target_ap_id == urls.actor(federation.settings):
        await _moved_to_us(federation, actor)
        return
    assert actor.id is not None
    db = federation.db
    previous = await moves.last_move_at(db, actor.id)
    if previous is not None and time.time() - previous < PROCESSING_COOLDOWN:
        raise Ignored(f"{origin} already moved in the last 7 days; one Move a week is processed")
    following = await follows.get_follow(db, "out", actor.id)
    blocked = await interactions.exists(db, "block", actor_id=None, target_actor_id=actor.id)
    muted = (await mutes.mutes_of(db, [actor.id])).get(actor.id)
    if following is None and not blocked and muted is None:
        raise Ignored("a Move of an account we neither follow, block nor mute")
    # Fresh, whatever the cache holds: the alias must be there now.
    target = await federation.resolver.actor(target_ap_id, refresh=True)
    if origin not in also_known_as(target):
        raise Ignored(f"the target {target_ap_id} does not name {origin} in its alsoKnownAs")
    assert target.id is not None
    await _refresh(federation, origin)
    target_follow = await follows.get_follow(db, "out", target.id)
    target_blocked = await interactions.exists(
        db, "block", actor_id=None, target_actor_id=target.id
    )
    notification = None
    async with db.transaction() as conn:
        await moves.record_actor_move(conn, actor.id, target.id)
        if following is not None:
            await _unfollow_later(federation, conn, actor, following.ap_id)
            if target_follow is None and not target_blocked:
                await _follow(federation, conn, target)
            notification = await notifications.add(conn, "move", actor.id)
        elif blocked and target_follow is None and not target_blocked:
            await _block(federation, conn, target)
        elif muted is not None and target_follow is None:
            await mutes.mute(
                conn, target.id, notifications=muted.notifications, expires_at=muted.expires_at
            )
    federation.push.wake.set()
    if following is not None or blocked or muted is not None:
        for name in ("home", "federated"):
            await federation.feeds.rebuild_timeline(name)
    if notification is not None:
        await federation.feeds.notification_added(notification)


async def _refresh(federation: Federation, origin: str) -> None:
    """Refetch the origin too, so that its profile here shows its `movedTo` now; the Move
    stands on the target's word alone, so an origin that does not answer changes nothing."""
    try:
        await federation.resolver.actor(origin, refresh=True)
    except ResolveError as error:
        log.info("move: could not refetch %s: %s", origin, error)


async def _follow(federation: Federation, conn: aiosqlite.Connection, target: RemoteActor) -> None:
    assert target.id is not None
    follow_id = vocab.activity_id(federation.settings, "Follow", federation.ids.next())
    await follows.put_follow(conn, "out", target.id, follow_id, "pending")
    activity = vocab.follow(federation.settings, target.ap_id, follow_id)
    await enqueue_delivery(conn, activity, [(target.inbox, target.domain)])


async def _unfollow_later(
    federation: Federation, conn: aiosqlite.Connection, old: RemoteActor, follow_ap_id: str
) -> None:
    """End the follow of the old account now; its server hears of it after UNFOLLOW_DELAY."""
    assert old.id is not None
    settings = federation.settings
    await follows.remove_follow(conn, "out", old.id)
    undo_id = vocab.activity_id(settings, "Undo", federation.ids.next())
    undo = vocab.undo(settings, undo_id, vocab.follow(settings, old.ap_id, follow_ap_id))
    ref = await record_activity(conn, undo)
    await enqueue(
        conn,
        "push",
        [({"inbox": old.inbox}, old.domain)],
        ref=ref,
        at=time.time() + UNFOLLOW_DELAY,
    )


async def _block(federation: Federation, conn: aiosqlite.Connection, target: RemoteActor) -> None:
    assert target.id is not None
    block_id = vocab.activity_id(federation.settings, "Block", federation.ids.next())
    if not await interactions.add(
        conn, "block", actor_id=None, target_actor_id=target.id, ap_id=block_id
    ):
        return
    await follows.remove_follow(conn, "in", target.id)
    block = {
        "@context": AS_CONTEXT,
        "id": block_id,
        "type": "Block",
        "actor": urls.actor(federation.settings),
        "object": target.ap_id,
    }
    await enqueue_delivery(conn, block, [inbox_of(target)])


async def _moved_to_us(federation: Federation, origin: RemoteActor) -> None:
    """An alias of ours moved here: keep its followers, and let those already waiting in."""
    account = await get_account(federation.db)
    assert account is not None
    if origin.ap_id not in {alias.ap_id for alias in account.aliases}:
        raise Ignored(f"a Move to us from {origin.ap_id}, which is not one of our aliases")
    await read_alias_followers(federation, origin)
    waiting = await follows.pending_requests(federation.db)
    if not waiting:
        return
    await approve_alias_followers(federation, origin.ap_id, [r.actor_id for r in waiting])


async def approve_alias_followers(
    federation: Federation, alias_ap_id: str, actor_ids: list[int]
) -> None:
    """Accept the pending follow requests of those of `actor_ids` who followed the alias."""
    db = federation.db
    approved = False
    for actor_id in actor_ids:
        follower = await get_actor_by_id(db, actor_id)
        if follower is None or not await moves.is_alias_follower(db, alias_ap_id, follower.ap_id):
            continue
        request = await follows.get_follow(db, "in", actor_id)
        if request is None or request.state == "accepted":
            continue
        async with db.transaction() as conn:
            await follows.set_follow_state(conn, request.id, "accepted")
            await conn.execute(
                "UPDATE notifications SET type = 'follow' WHERE type = 'follow_request'"
                " AND actor_id = ?",
                (actor_id,),
            )
            await send_answer(federation, conn, "Accept", request.ap_id, follower)
        approved = True
    if approved:
        federation.push.wake.set()
        await federation.feeds.rebuild_notifications()
