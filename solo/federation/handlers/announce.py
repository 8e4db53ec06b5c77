"""Announce (a boost) of one of our posts, or by someone we follow.

The boosted post is believed only as its origin serves it (rule 21): an embedded copy is used
as is only when it is the booster's own post. Blocked domains and blocked authors are refused
on this path too (CVE-2026-23961: suspended accounts got in through boosts).
"""

from __future__ import annotations

import json
import time
from typing import Any

from solo.activitystreams import id_of, types_of
from solo.federation import polls, relays
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.handlers.create import blocked_by_us, follows_actor
from solo.federation.handlers.undo import removed_early
from solo.federation.notes import (
    POST_TYPES,
    author_of,
    fetch_object,
    first,
    parse_post,
    parse_time,
    visibility_of,
)
from solo.federation.remote_actors import authority, same_origin
from solo.store import actors as actor_store
from solo.store import hosts, interactions, notifications, statuses
from solo.store import relays as relay_store
from solo.store.actors import RemoteActor
from solo.store.relays import Relay
from solo.store.statuses import NewStatus, Status

_SHAREABLE = ("public", "unlisted")


async def on_announce(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    relay = await relays.sharing_relay(federation, actor)
    if relay is not None:
        await _relay_share(federation, activity, actor, relay)
        return
    announce_id = activity.get("id")
    # The boost is stored under this id, beside posts: another host's id could shadow a post.
    if not isinstance(announce_id, str) or not same_origin(announce_id, actor.ap_id):
        raise Ignored("an Announce without an id on the booster's host")
    visibility = visibility_of(activity, actor.followers_url)
    if visibility not in _SHAREABLE:
        raise Ignored("a followers-only or direct boost")  # Mastodon refuses them as well
    obj = first(activity.get("object"))
    object_id = id_of(obj)
    if object_id is None:
        raise Ignored("an Announce of nothing")
    if isinstance(obj, dict) and types_of(obj) and not types_of(obj) & POST_TYPES:
        raise Ignored(f"a boost of a {obj.get('type')!r}")
    await _check_author(federation, actor)
    boosted = await _boosted(federation, obj, object_id, actor)
    if await removed_early(federation, announce_id, actor.ap_id):
        raise Ignored("the boost was undone before it arrived")
    now = time.time()
    published = min(parse_time(activity.get("published")) or now, now)
    assert actor.id is not None
    boost = NewStatus(
        id=federation.ids.next(at=published),
        ap_id=announce_id,
        actor_id=actor.id,
        visibility=visibility,
        content_html="",
        published_at=published,
        reblog_of_id=boosted.id,
        raw=json.dumps(activity, ensure_ascii=False, separators=(",", ":")),
    )
    notification = None
    async with federation.db.transaction() as conn:
        # One boost per account and post, as Mastodon keeps them, whatever the Announce's id.
        if await statuses.has_boost(conn, actor.id, boosted.id):
            return
        boost_id = await statuses.insert_status(conn, boost)
        if boost_id is None:
            return  # seen before (or deleted): nothing more to record
        new = await interactions.add(
            conn, "announce", actor_id=actor.id, status_id=boosted.id, ap_id=announce_id
        )
        if new and boosted.actor_id is None:
            notification = await notifications.add(conn, "reblog", actor.id, boosted.id)
    await federation.feeds.status_added(boost_id)
    if notification is not None:
        await federation.feeds.notification_added(notification)


async def _relay_share(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor, relay: Relay
) -> None:
    """A relay's Announce: the public post alone, fetched from its origin, into the federated
    timeline; no boost by the relay is stored (Mastodon hides relays' Announces too)."""
    obj = first(activity.get("object"))
    object_id = id_of(obj)
    if object_id is None:
        raise Ignored("a relay's Announce of nothing")
    if not await relay_store.take_share(federation.db, relay.id, relays.SHARES_PER_MINUTE):
        raise Ignored(
            f"over the limit of {relays.SHARES_PER_MINUTE} shares a minute from the relay"
            f" {relay.url}: dropped"
        )
    await shared_post(federation, obj, object_id, actor, ("public",))


async def _boosted(federation: Federation, obj: Any, object_id: str, actor: RemoteActor) -> Status:
    """The boosted post as stored, fetched from its origin first when we lack it."""
    db = federation.db
    stored = await statuses.get_status_by_ap_id(db, object_id)
    if stored is not None and stored.actor_id is None:
        _check_shareable(stored)
        return stored  # ours: a boost of it always concerns us
    if not await follows_actor(federation, actor):
        raise Ignored("a boost of someone else's post by an account we do not follow")
    return await shared_post(federation, obj, object_id, actor, _SHAREABLE)


async def shared_post(
    federation: Federation,
    obj: Any,
    object_id: str,
    actor: RemoteActor,
    shareable: tuple[str, ...],
) -> Status:
    """A remote post shared by `actor` (a boost, or a relay's Announce), as stored: fetched
    from its origin first when we lack it, and refused unless its visibility is `shareable`."""
    db = federation.db
    stored = await statuses.get_status_by_ap_id(db, object_id)
    if stored is None and same_origin(object_id, federation.settings.base_url):
        # Not fetched from ourselves: what is not stored here is not a post here. (This also
        # keeps the boosts of our posts free of the network, so they are applied in batches.)
        raise Ignored(f"{object_id} is not a post here")
    if stored is not None:
        if stored.actor_id is not None:
            author = await actor_store.get_actor_by_id(db, stored.actor_id)
            assert author is not None
            await _check_author(federation, author)
        _check_shareable(stored, shareable)
        return stored
    document, author = await _origin_copy(federation, obj, object_id, actor)
    post = parse_post(
        document, author, federation.ids, allow_private=federation.settings.allow_private_addresses
    )
    if post.visibility not in shareable:
        raise Ignored(f"{post.ap_id} is not public")
    async with db.transaction() as conn:
        stored_id = await statuses.insert_remote_status(conn, post)
        if stored_id is not None:
            await polls.store_remote(conn, stored_id, post)
    if stored_id is not None:
        await federation.feeds.status_added(stored_id)  # the federated timeline may show it
    found = await statuses.get_status_by_ap_id(db, post.ap_id)
    if found is None:
        raise Ignored(f"{post.ap_id} was deleted")
    _check_shareable(found, shareable)
    return found


def _check_shareable(status: Status, shareable: tuple[str, ...] = _SHAREABLE) -> None:
    if status.reblog_of_id is not None:
        raise Ignored("a boost of a boost")
    if status.deleted_at is not None or status.visibility not in shareable:
        raise Ignored(f"{status.ap_id} cannot be boosted")


async def _origin_copy(
    federation: Federation, obj: Any, object_id: str, actor: RemoteActor
) -> tuple[dict[str, Any], RemoteActor]:
    """The boosted object and its author, as their own hosts vouch for them."""
    if (
        isinstance(obj, dict)
        and types_of(obj) & POST_TYPES
        and same_origin(object_id, actor.ap_id)
        and author_of(obj) == actor.ap_id
    ):
        return obj, actor  # the booster's own post, under the booster's signature
    await _check_host(federation, object_id)
    document = await fetch_object(federation, object_id)
    document_id = str(document["id"])
    await _check_host(federation, document_id)
    if not types_of(document) & POST_TYPES:
        raise Ignored(f"a boost of a {document.get('type')!r}")
    author_id = author_of(document)
    if author_id is None or not same_origin(author_id, document_id):
        raise Ignored(f"{document_id} is not on its author's host")
    author = actor if author_id == actor.ap_id else await federation.resolver.actor(author_id)
    await _check_author(federation, author)
    return document, author


async def _check_host(federation: Federation, url: str) -> None:
    host = authority(url)
    if host is None:
        raise Ignored(f"{url} is not an http(s) URL")
    if await hosts.is_blocked(federation.db, host.split(":")[0]):
        raise Ignored(f"{host} is blocked")


async def _check_author(federation: Federation, author: RemoteActor) -> None:
    if await hosts.is_blocked(federation.db, author.domain.split(":")[0]):
        raise Ignored(f"{author.domain} is blocked")
    if await blocked_by_us(federation, author):
        raise Ignored(f"{author.ap_id} is blocked")
