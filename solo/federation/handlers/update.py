"""Update of a post (same host and author) or of the actor itself (rule 26)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from solo.activitystreams import ACTOR_TYPES, id_of, types_of
from solo.federation import cards, poll_tasks, polls
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.notes import first, object_of, parse_post, parse_time
from solo.federation.remote_actors import InvalidActor, parse_actor
from solo.store import actors as actor_store
from solo.store import interactions, notifications, statuses
from solo.store import polls as poll_store
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus, Status


async def on_update(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    obj = first(activity.get("object"))
    object_id = id_of(obj)
    if object_id is None:
        raise Ignored("an Update of nothing")
    if object_id == actor.ap_id:
        if isinstance(obj, dict) and types_of(obj) & ACTOR_TYPES:
            await _update_actor(federation, obj, actor)
        else:
            # Only the id: what changed is at the origin.
            await federation.resolver.actor(actor.ap_id, refresh=True)
    elif isinstance(obj, dict) and types_of(obj) & ACTOR_TYPES:
        raise Ignored("an Update of another actor")
    else:
        await _update_post(federation, activity, actor)


async def _update_actor(
    federation: Federation, document: dict[str, Any], actor: RemoteActor
) -> None:
    """Take the new profile as sent, but a new key only from the origin (rule 8): the signature
    proves who sent the Update, not that the embedded key is theirs."""
    try:
        updated = parse_actor(document)
    except InvalidActor as error:
        raise Ignored(str(error)) from None
    if updated.key_id is None:
        updated = dataclasses.replace(
            updated, key_id=actor.key_id, public_key_pem=actor.public_key_pem
        )
    elif (updated.key_id, updated.public_key_pem) != (actor.key_id, actor.public_key_pem):
        await federation.resolver.actor(actor.ap_id, refresh=True)
        return
    async with federation.db.transaction() as conn:
        await actor_store.upsert_actor(conn, updated)


async def _update_post(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> None:
    document = await object_of(federation, activity, actor)
    edited = parse_post(
        document, actor, federation.ids, allow_private=federation.settings.allow_private_addresses
    )
    stored = await statuses.get_status_by_ap_id(federation.db, edited.ap_id)
    if stored is None:
        raise Ignored(f"an Update of {edited.ap_id}, which we do not have")
    if stored.actor_id != actor.id or stored.reblog_of_id is not None:
        raise Ignored(f"{actor.ap_id} is not the author of {edited.ap_id}")
    if stored.type == "Question" and await _poll_counts(federation, stored, edited, document):
        return
    now = time.time()
    # A date in the future would make every later edit look older than this one.
    edited_at = min(parse_time(document.get("updated")) or now, now)
    if stored.edited_at is not None and edited_at <= stored.edited_at:
        raise Ignored(f"{edited.ap_id} has a newer version already")
    we_boosted = await interactions.exists(
        federation.db, "announce", actor_id=None, status_id=stored.id
    )
    async with federation.db.transaction() as conn:
        await statuses.update_content(
            conn,
            stored.id,
            content_html=edited.content_html,
            summary=edited.summary,
            sensitive=edited.sensitive,
            edited_at=edited_at,
            raw=edited.raw,
            remote_media=edited.media,
            emojis_json=edited.emojis_json,
        )
        notification = None
        if we_boosted:
            # Mastodon tells those who boosted a post that it changed under them.
            notification = await notifications.add(conn, "update", actor.id, stored.id)
    federation.feeds.status_edited(stored.id)
    cards.start(federation, stored.id)
    if notification is not None:
        await federation.feeds.notification_added(notification)


async def _poll_counts(
    federation: Federation, stored: Status, edited: NewStatus, document: dict[str, Any]
) -> bool:
    """Take a Question's new counts; True when that is all the Update says (Mastodon sends
    them without a new `updated`), so that it is no edit."""
    state = polls.parse_question(document)
    if state is not None:
        async with federation.db.transaction() as conn:
            await poll_store.save(conn, stored.id, state, refreshed_at=time.time())
        poll_tasks.wake(federation)
    same = (edited.content_html, edited.summary, edited.sensitive) == (
        stored.content_html,
        stored.summary,
        stored.sensitive,
    )
    if "updated" in document and not same:
        return False
    federation.feeds.status_edited(stored.id)
    return True
