"""Block of us: follows end in both directions (rule 30) and the block is remembered."""

from __future__ import annotations

from typing import Any

from solo import urls
from solo.activitystreams import id_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored, own_id
from solo.federation.notes import first
from solo.store import follows, interactions
from solo.store.actors import RemoteActor


async def on_block(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    if id_of(first(activity.get("object"))) != urls.actor(federation.settings):
        raise Ignored("a Block of someone else")
    block_id = own_id(activity, actor)
    assert actor.id is not None
    async with federation.db.transaction() as conn:
        await follows.remove_follow(conn, "in", actor.id)
        await follows.remove_follow(conn, "out", actor.id)
        await interactions.add(
            conn,
            "block",
            actor_id=actor.id,
            ap_id=block_id,
        )
    # Their posts and boosts leave the home timeline, as after an unfollow.
    await federation.feeds.rebuild_timeline("home")
