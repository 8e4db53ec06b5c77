"""Blocking and muting remote accounts.

A block ends follows both ways and tells the blocked account's server (a `Block`, which
Mastodon and Solo take as the end of both follows); their posts leave the timelines and their
notifications the list. Unblocking sends an `Undo` with the Block embedded. A mute is ours
alone: nothing is sent, their posts leave the timelines, and (unless asked otherwise) their
notifications the list.
"""

from __future__ import annotations

import time

from solo import urls
from solo.activitystreams import AS_CONTEXT
from solo.federation import vocab
from solo.federation.audience import inbox_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.store import follows, interactions, mutes
from solo.store.actors import RemoteActor


def _block(federation: Federation, block_id: str, actor: RemoteActor) -> vocab.Document:
    return {
        "@context": AS_CONTEXT,
        "id": block_id,
        "type": "Block",
        "actor": urls.actor(federation.settings),
        "object": actor.ap_id,
    }


async def _timelines_changed(federation: Federation) -> None:
    for name in ("home", "federated"):
        await federation.feeds.rebuild_timeline(name)
    await federation.feeds.recount_unread()


async def block(federation: Federation, actor: RemoteActor) -> None:
    """Block an account; blocking twice sends one Block."""
    assert actor.id is not None
    block_id = vocab.activity_id(federation.settings, "Block", federation.ids.next())
    async with federation.db.transaction() as conn:
        new = await interactions.add(
            conn, "block", actor_id=None, target_actor_id=actor.id, ap_id=block_id
        )
        if new:
            await follows.remove_follow(conn, "out", actor.id)
            await follows.remove_follow(conn, "in", actor.id)
            await enqueue_delivery(conn, _block(federation, block_id, actor), [inbox_of(actor)])
    if new:
        federation.push.wake.set()
        await _timelines_changed(federation)


async def unblock(federation: Federation, actor: RemoteActor) -> None:
    """Lift a block; nothing happens when there was none."""
    assert actor.id is not None
    settings = federation.settings
    async with federation.db.transaction() as conn:
        block_id = await interactions.remove(conn, "block", actor_id=None, target_actor_id=actor.id)
        if block_id:
            undo_id = vocab.activity_id(settings, "Undo", federation.ids.next())
            undo = vocab.undo(settings, undo_id, _block(federation, block_id, actor))
            await enqueue_delivery(conn, undo, [inbox_of(actor)])
    if block_id is not None:
        federation.push.wake.set()
        await _timelines_changed(federation)


async def mute(
    federation: Federation, actor: RemoteActor, *, notifications: bool, duration: int
) -> None:
    """Mute an account, for `duration` seconds (0: until unmuted); with `notifications`, its
    notifications are suppressed too. The web and the client API both come here."""
    assert actor.id is not None
    expires_at = time.time() + duration if duration > 0 else None
    async with federation.db.transaction() as conn:
        await mutes.mute(conn, actor.id, notifications=notifications, expires_at=expires_at)
    await _timelines_changed(federation)


async def unmute(federation: Federation, actor: RemoteActor) -> None:
    assert actor.id is not None
    async with federation.db.transaction() as conn:
        removed = await mutes.unmute(conn, actor.id)
    if removed:
        await _timelines_changed(federation)
