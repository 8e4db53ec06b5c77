"""Following and followers: follow and unfollow, approve and reject requests, remove followers."""

from __future__ import annotations

import re

from solo import urls
from solo.actions import ActionError
from solo.federation import vocab
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.federation.handlers.follow import send_answer
from solo.federation.remote_actors import authority
from solo.federation.resolver import ResolveError
from solo.store import actors as actor_store
from solo.store import follows
from solo.store.actors import RemoteActor
from solo.store.follows import Follow

HANDLE_RE = re.compile(r"^@?([^@\s/]+)@([^@\s/]+)$")


async def find_account(federation: Federation, target: str) -> RemoteActor:
    """`@user@host`, `user@host` or an actor URL → the remote actor (fetched if needed)."""
    target = target.strip()
    match = HANDLE_RE.match(target)
    try:
        if match:
            username, host = match.group(1), match.group(2).lower()
            return await federation.resolver.webfinger(username, host)
        if authority(target):
            return await federation.resolver.actor(target)
    except ResolveError as error:
        raise ActionError(
            "Could not find %(target)s: %(error)s", target=target, error=error
        ) from None
    raise ActionError("%(target)s is neither @user@host nor an account URL.", target=repr(target))


async def follow(federation: Federation, target: str) -> Follow:
    """Send a Follow; the follow stays pending until the other side accepts it."""
    actor = await find_account(federation, target)
    if actor.ap_id == urls.actor(federation.settings):
        raise ActionError("You cannot follow yourself.")
    assert actor.id is not None
    existing = await follows.get_follow(federation.db, "out", actor.id)
    if existing is not None:
        return existing
    follow_id = vocab.activity_id(federation.settings, "Follow", federation.ids.next())
    async with federation.db.transaction() as conn:
        await follows.put_follow(conn, "out", actor.id, follow_id, "pending")
        activity = vocab.follow(federation.settings, actor.ap_id, follow_id)
        await enqueue_delivery(conn, activity, [(actor.inbox, actor.domain)])
    federation.push.wake.set()
    found = await follows.get_follow(federation.db, "out", actor.id)
    assert found is not None
    return found


async def _actor(federation: Federation, actor_ap_id: str) -> RemoteActor:
    actor = await actor_store.get_actor(federation.db, actor_ap_id)
    if actor is None or actor.id is None:
        raise ActionError("%(actor_ap_id)s is not an account Solo knows.", actor_ap_id=actor_ap_id)
    return actor


async def unfollow(federation: Federation, actor_ap_id: str) -> None:
    """Stop following: Undo of the original Follow, embedded whole."""
    actor = await _actor(federation, actor_ap_id)
    assert actor.id is not None
    existing = await follows.get_follow(federation.db, "out", actor.id)
    if existing is None:
        raise ActionError("You do not follow %(handle)s.", handle=actor.handle)
    settings = federation.settings
    undo_id = vocab.activity_id(settings, "Undo", federation.ids.next())
    original = vocab.follow(settings, actor.ap_id, existing.ap_id)
    async with federation.db.transaction() as conn:
        await follows.remove_follow(conn, "out", actor.id)
        await enqueue_delivery(
            conn, vocab.undo(settings, undo_id, original), [(actor.inbox, actor.domain)]
        )
    federation.push.wake.set()
    await federation.feeds.rebuild_timeline("home")  # their posts leave it


async def _follower(federation: Federation, actor_ap_id: str) -> tuple[RemoteActor, Follow]:
    actor = await _actor(federation, actor_ap_id)
    assert actor.id is not None
    existing = await follows.get_follow(federation.db, "in", actor.id)
    if existing is None:
        raise ActionError(
            "%(handle)s does not follow you and has not asked to.", handle=actor.handle
        )
    return actor, existing


async def approve(federation: Federation, actor_ap_id: str) -> None:
    """Accept a pending follow request."""
    actor, request = await _follower(federation, actor_ap_id)
    if request.state == "accepted":
        return
    async with federation.db.transaction() as conn:
        await follows.set_follow_state(conn, request.id, "accepted")
        await conn.execute(
            "UPDATE notifications SET type = 'follow' WHERE type = 'follow_request'"
            " AND actor_id = ?",
            (actor.id,),
        )
        await send_answer(federation, conn, "Accept", request.ap_id, actor)
    federation.push.wake.set()
    await federation.feeds.rebuild_notifications()


async def reject(federation: Federation, actor_ap_id: str) -> None:
    """Refuse a follow request, or remove a follower: both are a Reject of their Follow."""
    actor, request = await _follower(federation, actor_ap_id)
    assert actor.id is not None
    async with federation.db.transaction() as conn:
        await follows.remove_follow(conn, "in", actor.id)
        await conn.execute(
            "DELETE FROM notifications WHERE type = 'follow_request' AND actor_id = ?",
            (actor.id,),
        )
        await send_answer(federation, conn, "Reject", request.ap_id, actor)
    federation.push.wake.set()
    await federation.feeds.rebuild_notifications()


remove_follower = reject
