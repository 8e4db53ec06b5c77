"""Favourites and boosts of any post, ours or remote, and taking them back.

Each interaction is stored with the id of the activity that announced it (`interactions.ap_id`),
so that its Undo embeds the very Like or Announce peers received (FEDERATION.md rule 28):
Mastodon finds what to undo by that id and dispatches on the embedded type.
"""

from __future__ import annotations

import time

from solo import urls
from solo.actions import ActionError
from solo.actions.statuses import new_status_id
from solo.federation import vocab
from solo.federation.audience import FOLLOWERS, Inbox, inbox_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.store import actors as actor_store
from solo.store import interactions
from solo.store import statuses as status_store
from solo.store.statuses import NewStatus, Status

BOOSTABLE = frozenset({"public", "unlisted"})


async def target_post(federation: Federation, status_id: int) -> Status:
    """The post acted on; a boost stands for the post it boosts."""
    status = await status_store.get_status(federation.db, status_id)
    if status is not None and status.reblog_of_id is not None:
        status = await status_store.get_status(federation.db, status.reblog_of_id)
    if status is None or status.deleted_at is not None:
        raise ActionError("That post no longer exists.")
    return status


async def _author(federation: Federation, status: Status) -> tuple[str, list[Inbox]]:
    """The author's actor id and where to tell them (nowhere when the post is ours)."""
    if status.actor_id is None:
        return urls.actor(federation.settings), []
    actor = await actor_store.get_actor_by_id(federation.db, status.actor_id)
    if actor is None:
        raise ActionError("That post's author is no longer known here.")
    return actor.ap_id, [inbox_of(actor)]


async def favourite(federation: Federation, status_id: int) -> Status:
    """Like a post; the author's server is told. Favouriting twice sends one Like."""
    status = await target_post(federation, status_id)
    _, inboxes = await _author(federation, status)
    settings = federation.settings
    like_id = vocab.activity_id(settings, "Like", federation.ids.next())
    async with federation.db.transaction() as conn:
        new = await interactions.add(
            conn, "like", actor_id=None, status_id=status.id, ap_id=like_id
        )
        if new:
            activity = vocab.like(settings, like_id, status.ap_id)
            await enqueue_delivery(conn, activity, inboxes, object_ap_id=status.ap_id)
    federation.push.wake.set()
    return status


async def unfavourite(federation: Federation, status_id: int) -> Status:
    """Take a favourite back: Undo with the original Like embedded. Nothing to undo is fine."""
    status = await target_post(federation, status_id)
    _, inboxes = await _author(federation, status)
    settings = federation.settings
    undo_id = vocab.activity_id(settings, "Undo", federation.ids.next())
    async with federation.db.transaction() as conn:
        like_id = await interactions.remove(conn, "like", actor_id=None, status_id=status.id)
        if like_id:  # None: never liked; "": a like without an activity, nothing to undo
            original = vocab.like(settings, like_id, status.ap_id)
            activity = vocab.undo(settings, undo_id, original)
            await enqueue_delivery(conn, activity, inboxes, object_ap_id=status.ap_id)
    federation.push.wake.set()
    return status


async def boost(federation: Federation, status_id: int) -> Status:
    """Boost a public or unlisted post: an Announce to our followers and the author. Returns
    the boost's own row (`reblog_of_id` set), which timelines show; boosting twice sends once."""
    status = await target_post(federation, status_id)
    if status.visibility not in BOOSTABLE:
        raise ActionError("Only public and unlisted posts can be boosted.")
    existing = await status_store.get_local_boost(federation.db, status.id)
    if existing is not None:
        return existing
    author, named = await _author(federation, status)
    audience = FOLLOWERS.plus(named)
    settings = federation.settings
    now = time.time()
    async with federation.db.transaction() as conn:
        boost_id = await new_status_id(federation, conn)
        # The Announce's id is where Mastodon puts its own: the boost's URL plus /activity.
        announce_id = f"{urls.status(settings, boost_id)}/activity"
        if await interactions.add(
            conn, "announce", actor_id=None, status_id=status.id, ap_id=announce_id
        ):
            row = NewStatus(
                id=boost_id,
                ap_id=announce_id,
                actor_id=None,
                visibility="public",
                content_html="",
                published_at=now,
                reblog_of_id=status.id,
            )
            await status_store.insert_status(conn, row)
            activity = vocab.announce(settings, announce_id, status.ap_id, author, now)
            await enqueue_delivery(conn, activity, audience, object_ap_id=status.ap_id)
    federation.push.wake.set()
    found = await status_store.get_local_boost(federation.db, status.id)
    assert found is not None
    await federation.feeds.status_added(found.id)
    return found


async def unboost(federation: Federation, status_id: int) -> Status:
    """Take a boost back: its row goes, and an Undo embedding the original Announce (rebuilt
    from the boost's row: same id, same time) goes where the Announce went."""
    status = await target_post(federation, status_id)
    boosted = await status_store.get_local_boost(federation.db, status.id)
    if boosted is None:
        return status
    author, named = await _author(federation, status)
    audience = FOLLOWERS.plus(named)
    settings = federation.settings
    undo_id = vocab.activity_id(settings, "Undo", federation.ids.next())
    async with federation.db.transaction() as conn:
        # None: an unboost running alongside took it back first.
        removed = await interactions.remove(conn, "announce", actor_id=None, status_id=status.id)
        if removed is not None:
            await status_store.delete_local_boost(conn, boosted.id)
            original = vocab.announce(
                settings, boosted.ap_id, status.ap_id, author, boosted.published_at
            )
            activity = vocab.undo(settings, undo_id, original)
            await enqueue_delivery(conn, activity, audience, object_ap_id=status.ap_id)
    federation.push.wake.set()
    federation.feeds.status_removed(boosted.id)
    return status
