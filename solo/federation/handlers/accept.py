"""Accept and Reject of our Follow (FEDERATION.md rule 27)."""

from __future__ import annotations

from typing import Any

from solo import urls
from solo.activitystreams import id_of
from solo.federation import backfill, relays
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.store import follows
from solo.store.actors import RemoteActor
from solo.store.follows import Follow


async def _our_follow(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> Follow:
    """Our Follow of `actor` that the answer is about: by its id, else by the embedded Follow."""
    assert actor.id is not None
    obj = activity.get("object")
    follow = await follows.get_follow(federation.db, "out", actor.id)
    if follow is None:
        raise Ignored(f"{actor.ap_id} answered a Follow we did not send")
    if id_of(obj) == follow.ap_id:
        return follow
    if (
        isinstance(obj, dict)
        and obj.get("type") == "Follow"
        and id_of(obj.get("actor")) == urls.actor(federation.settings)
        and id_of(obj.get("object")) == actor.ap_id
    ):
        return follow
    raise Ignored("the answer is about another Follow")


async def on_accept(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    if await relays.on_relay_answer(federation, activity, actor, accepted=True):
        return
    follow = await _our_follow(federation, activity, actor)
    if follow.state != "accepted":
        async with federation.db.transaction() as conn:
            await follows.set_follow_state(conn, follow.id, "accepted")
        # Their recent posts fill the home feed at once rather than as they post. Awaited here,
        # but within the backfill's own deadline (seconds), so the job is not held for long.
        await backfill.after_follow_accepted(federation, actor)
        # Posts of theirs stored before (a profile opened, a boost seen) join home too.
        await federation.feeds.rebuild_timeline("home")


async def on_reject(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    if await relays.on_relay_answer(federation, activity, actor, accepted=False):
        return
    follow = await _our_follow(federation, activity, actor)
    async with federation.db.transaction() as conn:
        await follows.remove_follow(conn, "out", follow.actor_id)
