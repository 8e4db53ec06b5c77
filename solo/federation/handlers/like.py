"""Like of one of our posts: a favourite. Misskey's reactions arrive as Likes too."""

from __future__ import annotations

from typing import Any

from solo.federation.activitystreams import id_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored, own_id
from solo.federation.handlers.create import blocked_by_us
from solo.federation.handlers.undo import removed_early
from solo.federation.notes import first
from solo.store import interactions, notifications, statuses
from solo.store.actors import RemoteActor


async def on_like(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    object_id = id_of(first(activity.get("object")))
    if object_id is None:
        raise Ignored("a Like of nothing")
    liked = await statuses.get_status_by_ap_id(federation.db, object_id)
    if (
        liked is None
        or liked.actor_id is not None
        or liked.reblog_of_id is not None
        or liked.deleted_at is not None
    ):
        raise Ignored(f"a Like of {object_id}, which is not a post of ours")
    if await blocked_by_us(federation, actor):
        raise Ignored(f"{actor.ap_id} is blocked")
    like_id = own_id(activity, actor)
    if like_id is not None and await removed_early(federation, like_id, actor.ap_id):
        raise Ignored("the Like was undone before it arrived")
    notification = None
    async with federation.db.transaction() as conn:
        if await interactions.add(
            conn, "like", actor_id=actor.id, status_id=liked.id, ap_id=like_id
        ):
            notification = await notifications.add(conn, "favourite", actor.id, liked.id)
    if notification is not None:
        federation.feeds.notification_added(notification)
