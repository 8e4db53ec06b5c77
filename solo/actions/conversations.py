"""Muting a conversation: its replies, favourites, boosts and poll ends stop notifying us
(`solo.store.suppression`). Ours alone: nothing is sent."""

from __future__ import annotations

from solo.actions.interactions import target_post
from solo.federation.context import Federation
from solo.store import conversation_mutes
from solo.store.statuses import Status


async def mute(federation: Federation, status_id: int) -> Status:
    """Mute the thread `status_id` is in; muting twice is harmless."""
    status = await target_post(federation, status_id)
    root = await conversation_mutes.thread_root(federation.db, status.id)
    async with federation.db.transaction() as conn:
        await conversation_mutes.mute(conn, root)
    await federation.feeds.recount_unread()
    return status


async def unmute(federation: Federation, status_id: int) -> Status:
    """Hear from the thread again; a thread that was not muted is fine."""
    status = await target_post(federation, status_id)
    root = await conversation_mutes.thread_root(federation.db, status.id)
    async with federation.db.transaction() as conn:
        await conversation_mutes.unmute(conn, root)
    await federation.feeds.recount_unread()
    return status
