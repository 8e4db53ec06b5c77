"""Bookmarks: private marks on posts, for the user alone. Nothing is sent to anyone."""

from __future__ import annotations

from solo.actions.interactions import target_post
from solo.federation.context import Federation
from solo.store import interactions
from solo.store.statuses import Status


async def bookmark(federation: Federation, status_id: int) -> Status:
    """Bookmark a post; bookmarking twice keeps one."""
    status = await target_post(federation, status_id)
    async with federation.db.transaction() as conn:
        await interactions.add(conn, "bookmark", actor_id=None, status_id=status.id)
    return status


async def unbookmark(federation: Federation, status_id: int) -> Status:
    """Take a bookmark away; a post that was not bookmarked is fine."""
    status = await target_post(federation, status_id)
    async with federation.db.transaction() as conn:
        await interactions.remove(conn, "bookmark", actor_id=None, status_id=status.id)
    return status
