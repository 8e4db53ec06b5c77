"""Follow: accept at once, or keep as a request when the account is locked."""

from __future__ import annotations

from typing import Any

import aiosqlite

from solo import urls
from solo.activitystreams import id_of
from solo.federation import relays, vocab
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.federation.handlers import Ignored
from solo.federation.moves import followed_moved_alias
from solo.store import follows, notifications
from solo.store.account import get_account
from solo.store.actors import RemoteActor


async def on_follow(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    settings = federation.settings
    if await relays.on_relay_follow(federation, activity, actor):
        return  # a LitePub relay following back our instance actor
    if id_of(activity.get("object")) != urls.actor(settings):
        raise Ignored("a Follow of someone else")
    follow_id = activity.get("id")
    if not isinstance(follow_id, str):
        raise Ignored("a Follow without an id")
    account = await get_account(federation.db)
    assert account is not None and actor.id is not None
    if account.moved_to is not None:
        # Mastodon refuses new followers to an account that moved away.
        async with federation.db.transaction() as conn:
            await send_answer(federation, conn, "Reject", follow_id, actor)
        return
    existing = await follows.get_follow(federation.db, "in", actor.id)
    already = existing is not None and existing.state == "accepted"
    state = "accepted" if already or not account.locked else "pending"
    if state == "pending" and await followed_moved_alias(federation, account, actor):
        state = "accepted"  # they followed an account of ours that moved here
    notification = None
    async with federation.db.transaction() as conn:
        await follows.put_follow(conn, "in", actor.id, follow_id, state)
        if existing is None:
            kind = "follow" if state == "accepted" else "follow_request"
            notification = await notifications.add(conn, kind, actor.id)
        if state == "accepted":
            await send_answer(federation, conn, "Accept", follow_id, actor)
    if notification is not None:
        await federation.feeds.notification_added(notification)


async def send_answer(
    federation: Federation,
    conn: aiosqlite.Connection,
    kind: str,
    follow_id: str,
    actor: RemoteActor,
) -> None:
    """Accept or Reject a follower's Follow, delivered to their own inbox."""
    settings = federation.settings
    answer_id = vocab.activity_id(settings, kind, federation.ids.next())
    activity = vocab.answer_follow(settings, kind, answer_id, follow_id, actor.ap_id)
    await enqueue_delivery(conn, activity, [(actor.inbox, actor.domain)])
