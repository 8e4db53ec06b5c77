"""Like of one of our posts: a favourite. Emoji reactions are favourites with their emoji:
Misskey's arrive as Likes with `content`, Pleroma's and Akkoma's as EmojiReact (rule 42)."""

from __future__ import annotations

from typing import Any

from solo.activitystreams import id_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored, own_id
from solo.federation.handlers.create import blocked_by_us
from solo.federation.handlers.undo import removed_early
from solo.federation.notes import first
from solo.federation.reactions import Reaction, reaction_of
from solo.store import interactions, notifications, statuses
from solo.store.actors import RemoteActor


async def on_like(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    # A Like whose reaction we cannot show is still a favourite, as Mastodon counts it.
    await _favourite(federation, activity, actor, reaction_of(activity))


async def on_emoji_react(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> None:
    reaction = reaction_of(activity)
    if reaction is None:
        content = activity.get("content")
        raise Ignored(f"an EmojiReact with {content!r}, which is not one emoji we can show")
    await _favourite(federation, activity, actor, reaction)


async def _favourite(
    federation: Federation,
    activity: dict[str, Any],
    actor: RemoteActor,
    reaction: Reaction | None,
) -> None:
    kind = activity.get("type")
    object_id = id_of(first(activity.get("object")))
    if object_id is None:
        raise Ignored(f"a {kind} of nothing")
    liked = await statuses.own_post_id(federation.db, object_id)
    if liked is None:
        raise Ignored(f"a {kind} of {object_id}, which is not a post of ours")
    if await blocked_by_us(federation, actor):
        raise Ignored(f"{actor.ap_id} is blocked")
    like_id = own_id(activity, actor)
    if like_id is not None and await removed_early(federation, like_id, actor.ap_id):
        raise Ignored(f"the {kind} was undone before it arrived")
    notification = None
    async with federation.db.transaction() as conn:
        if await interactions.add(
            conn,
            "like",
            actor_id=actor.id,
            status_id=liked,
            ap_id=like_id,
            reaction=None if reaction is None else reaction.text,
            reaction_emojis_json=None if reaction is None else reaction.emojis_json,
        ):
            notification = await notifications.add(conn, "favourite", actor.id, liked)
    if notification is not None:
        await federation.feeds.notification_added(notification)
