"""Delete of a post (tombstoned for good) or of the actor itself (everything of theirs goes)."""

from __future__ import annotations

from typing import Any

from solo.activitystreams import ACTOR_TYPES, id_of, types_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.handlers.undo import remember_early
from solo.federation.notes import first
from solo.federation.remote_actors import same_origin
from solo.store import actors as actor_store
from solo.store import statuses
from solo.store.actors import RemoteActor


async def on_delete(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    # The object is an id, a Tombstone, or (Mastodon's account deletion) the Person itself.
    obj = first(activity.get("object"))
    object_id = id_of(obj)
    if object_id is None:
        raise Ignored("a Delete of nothing")
    if object_id == actor.ap_id:
        # Statuses, follows, interactions and notifications follow through the foreign keys.
        async with federation.db.transaction() as conn:
            await actor_store.delete_actor(conn, actor.ap_id)
        await federation.feeds.rebuild()
        return
    if not same_origin(object_id, actor.ap_id):
        raise Ignored(f"{object_id} is not on {actor.domain}")
    if isinstance(obj, dict) and types_of(obj) & ACTOR_TYPES:
        raise Ignored("a Delete of another actor")
    stored = await statuses.get_status_by_ap_id(federation.db, object_id)
    if stored is not None and stored.actor_id != actor.id:
        raise Ignored(f"{object_id} is not by {actor.ap_id}")
    if stored is None:
        # Servers send Deletes of posts we never had far and wide: a permanent tombstone for
        # each would grow without bound. A Create overtaken by its Delete is caught by the
        # early-removal memory instead.
        await remember_early(federation, object_id, actor, "Delete")
        return
    boosts = await statuses.boost_ids(federation.db, stored.id)
    async with federation.db.transaction() as conn:
        await statuses.tombstone(conn, object_id)
    for status_id in (stored.id, *boosts):
        federation.feeds.status_removed(status_id)
