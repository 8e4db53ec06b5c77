"""Bookmarks: private marks on posts, for the user alone. Nothing is sent to anyone."""

from __future__ import annotations

from solo.actions import ActionError
from solo.federation.context import Federation
from solo.store import interactions
from solo.store import statuses as status_store
from solo.store.statuses import Status


async def _post(federation: Federation, status_id: int) -> Status:
    """The post meant; a boost stands for the post it boosts, as for favourites."""
    status = await status_store.get_status(federation.db, status_id)
    if status is not None and status.reblog_of_id is not None:
        status = await status_store.get_status(federation.db, status.reblog_of_id)
    if status is None or status.deleted_at is not None:
        raise ActionError("That post no longer exists.")
    return status


async def bookmark(federation: Federation, status_id: int) -> Status:
    """Bookmark a post; bookmarking twice keeps one."""
    status = await _post(federation, status_id)
    async with federation.db.transaction() as conn:
        await interactions.add(conn, "bookmark", actor_id=None, status_id=status.id)
    return status


async def unbookmark(federation: Federation, status_id: int) -> Status:
    """Take a bookmark away; a post that was not bookmarked is fine."""
    status = await _post(federation, status_id)
    async with federation.db.transaction() as conn:
        await interactions.remove(conn, "bookmark", actor_id=None, status_id=status.id)
    return status
