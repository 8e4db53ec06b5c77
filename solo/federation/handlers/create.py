"""Create of a post (Note, Article, Page, Question): stored when it concerns us (rule 24);
or of a vote in one of our polls (a Note naming an option), recorded."""

from __future__ import annotations

from typing import Any

from solo import urls
from solo.federation import cards, poll_tasks, polls
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.handlers.undo import removed_early
from solo.federation.notes import audience, mentioned, object_of, parse_post
from solo.federation.quotes import with_quote
from solo.store import follows, interactions, notifications, statuses
from solo.store.actors import RemoteActor


async def follows_actor(federation: Federation, actor: RemoteActor) -> bool:
    """True when our follow of `actor` was accepted (a pending one is no follow yet)."""
    assert actor.id is not None
    follow = await follows.get_follow(federation.db, "out", actor.id)
    return follow is not None and follow.state == "accepted"


async def blocked_by_us(federation: Federation, actor: RemoteActor) -> bool:
    return await interactions.exists(
        federation.db, "block", actor_id=None, target_actor_id=actor.id
    )


async def on_create(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    document = await object_of(federation, activity, actor)
    vote = await polls.vote_of(federation, document)
    if vote is not None:
        poll_id = await polls.record_vote(federation, activity, document, actor, vote)
        poll_tasks.schedule_update(federation, poll_id)
        federation.feeds.status_edited(poll_id)
        return
    status = parse_post(
        document,
        actor,
        federation.ids,
        fallback_addressing=activity,
        allow_private=federation.settings.allow_private_addresses,
    )
    me = urls.actor(federation.settings)
    mentions_us = me in mentioned(document)
    addressed = me in audience(document) | audience(activity)
    parent = (
        await statuses.get_status_by_ap_id(federation.db, status.in_reply_to_ap_id)
        if status.in_reply_to_ap_id
        else None
    )
    reply_to_us = parent is not None and parent.actor_id is None
    if not (
        mentions_us or addressed or parent is not None or await follows_actor(federation, actor)
    ):
        raise Ignored("a post that neither follows, mentions nor answers anything of ours")
    if status.visibility == "direct" and not (mentions_us or addressed):
        raise Ignored("a direct message to others")
    if await blocked_by_us(federation, actor):
        raise Ignored(f"{actor.ap_id} is blocked")
    if await statuses.is_tombstoned(federation.db, status.ap_id):
        raise Ignored(f"{status.ap_id} was deleted")
    if await removed_early(federation, status.ap_id, actor.ap_id):
        raise Ignored(f"{status.ap_id} was deleted before it arrived")
    status = await with_quote(federation, status)
    notification = None
    async with federation.db.transaction() as conn:
        row_id = await statuses.insert_remote_status(conn, status)
        has_poll = row_id is not None and await polls.store_remote(conn, row_id, status)
        # A reply to one of our posts is a mention too, in Mastodon's terms.
        if row_id is not None and (
            mentions_us or reply_to_us or (addressed and status.visibility == "direct")
        ):
            notification = await notifications.add(conn, "mention", actor.id, row_id)
    if row_id is not None:
        await federation.feeds.status_added(row_id)
        cards.start(federation, row_id)
        if has_poll:
            poll_tasks.wake(federation)
    if notification is not None:
        await federation.feeds.notification_added(notification)
