"""Relays: subscribing to them as the instance actor, their answers, and their shares.

Two dialects (as Mastodon and Pleroma speak them):
- Mastodon's: a `Follow` of the Public collection, sent to the relay's inbox; the relay answers
  Accept and from then on sends the public posts it gets (as Announces of their ids).
- LitePub's: a `Follow` of the relay's actor, which answers Accept and follows back; its Follow
  of our instance actor is accepted at once.
A relay's Announce is a share, not a boost: the post is fetched from its origin and goes into
the federated timeline alone, with no boost by the relay shown anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from solo import urls
from solo.activitystreams import AS_CONTEXT, PUBLIC, id_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_recorded, record_activity
from solo.federation.remote_actors import authority
from solo.federation.resolver import ResolveError
from solo.store import relays as store
from solo.store.actors import RemoteActor
from solo.store.relays import Dialect, Relay

# Beyond this many shares a minute from one relay, the rest are dropped and counted: a busy
# relay sends a few a second at most; a flood would otherwise fill the database and the fetcher.
SHARES_PER_MINUTE: Final = 120
MAX_URL: Final = 2048


class RelayError(Exception):
    """A relay that cannot be added or removed as asked; the message is for the user."""


@dataclass(frozen=True)
class Target:
    dialect: Dialect
    inbox: str
    actor_ap_id: str | None


def _checked_url(federation: Federation, typed: str) -> str:
    url = typed.strip()
    if not url:
        raise RelayError(
            "Give the relay's inbox or actor address, such as https://relay.example/inbox."
        )
    if len(url) > MAX_URL:
        raise RelayError(f"That address is longer than {MAX_URL} characters.")
    host = authority(url)
    if host is None or urlsplit(url).scheme not in ("https", "http"):
        raise RelayError("A relay's address starts with https:// and names its server.")
    if host == federation.settings.domain:
        raise RelayError("That address is this server.")
    return url


async def _target(federation: Federation, url: str) -> Target:
    """Mastodon's relays are given by their inbox (…/inbox); anything else is taken as a
    LitePub relay actor, which must answer as one."""
    if urlsplit(url).path.rstrip("/").endswith("/inbox"):
        return Target("mastodon", url, None)
    try:
        actor = await federation.resolver.actor(url, refresh=True)
    except ResolveError as error:
        raise RelayError(
            f"{url} does not answer as a relay actor. A Mastodon-style relay is added by its"
            f" inbox address, which ends in /inbox. (What went wrong: {error}.)"
        ) from None
    return Target("litepub", actor.inbox, actor.ap_id)


def _follow(federation: Federation, follow_id: str, target: Target) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": follow_id,
        "type": "Follow",
        "actor": urls.instance_actor(federation.settings),
        "object": target.actor_ap_id or PUBLIC,
    }


async def subscribe(federation: Federation, typed: str) -> Relay:
    """Store the relay as pending and send it our Follow, signed as the instance actor."""
    url = _checked_url(federation, typed)
    db = federation.db
    if await store.by_url(db, url) is not None:
        raise RelayError(f"You already subscribe to {url}.")
    if await store.count(db) >= store.MAX_RELAYS:
        raise RelayError(f"At most {store.MAX_RELAYS} relays; remove one first.")
    target = await _target(federation, url)
    instance = urls.instance_actor(federation.settings)
    follow_id = f"{instance}#relay-follows/{federation.ids.next()}"
    follow = _follow(federation, follow_id, target)
    async with db.transaction() as conn:
        relay_id = await store.insert(
            conn,
            url=url,
            dialect=target.dialect,
            inbox=target.inbox,
            actor_ap_id=target.actor_ap_id,
            follow_ap_id=follow_id,
        )
        ref = await record_activity(conn, follow)
        await enqueue_recorded(conn, ref, [_inbox(target.inbox)], as_instance=True)
    federation.push.wake.set()
    relay = await store.get_relay(db, relay_id)
    assert relay is not None
    return relay


def _inbox(inbox: str) -> tuple[str, str]:
    return (inbox, authority(inbox) or "")


async def unsubscribe(federation: Federation, relay_id: int) -> Relay:
    """Forget the relay and send it an Undo of our Follow (whatever its state: a pending
    Follow may yet be accepted)."""
    db = federation.db
    relay = await store.get_relay(db, relay_id)
    if relay is None:
        raise RelayError("That relay is not among yours (removed already?).")
    target = Target(
        relay.dialect, relay.inbox, relay.actor_ap_id if relay.dialect == "litepub" else None
    )
    follow = _follow(federation, relay.follow_ap_id, target)
    instance = urls.instance_actor(federation.settings)
    undo = {
        "@context": AS_CONTEXT,
        "id": f"{instance}#relay-undos/{federation.ids.next()}",
        "type": "Undo",
        "actor": instance,
        "object": {key: value for key, value in follow.items() if key != "@context"},
    }
    async with db.transaction() as conn:
        await store.delete(conn, relay.id)
        ref = await record_activity(conn, undo)
        await enqueue_recorded(conn, ref, [_inbox(relay.inbox)], as_instance=True)
    federation.push.wake.set()
    return relay


async def answered_relay(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> Relay | None:
    """The relay whose Follow this Accept or Reject answers, when it is one of ours and comes
    from the relay's own server (its actor, once known)."""
    obj = activity.get("object")
    follow_id = id_of(obj)
    if follow_id is None:
        return None
    relay = await store.by_follow(federation.db, follow_id)
    if relay is None:
        return None
    if isinstance(obj, dict) and id_of(obj.get("actor")) not in (
        None,
        urls.instance_actor(federation.settings),
    ):
        return None
    if relay.actor_ap_id is not None:
        return relay if relay.actor_ap_id == actor.ap_id else None
    return relay if authority(actor.ap_id) == authority(relay.inbox) else None


async def on_relay_answer(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor, accepted: bool
) -> bool:
    """Apply a relay's Accept or Reject of our Follow; False when it is about no relay."""
    relay = await answered_relay(federation, activity, actor)
    if relay is None:
        return False
    async with federation.db.transaction() as conn:
        if accepted:
            await store.set_state(conn, relay.id, "accepted", actor_ap_id=actor.ap_id)
        else:
            await store.set_state(
                conn, relay.id, "failed", error="The relay refused the subscription."
            )
    return True


async def on_relay_follow(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> bool:
    """A LitePub relay following our instance actor back: accepted at once, as the instance
    actor. False when the Follow is not a relay's."""
    instance = urls.instance_actor(federation.settings)
    if id_of(activity.get("object")) != instance:
        return False
    relay = await store.by_actor(federation.db, actor.ap_id)
    follow_id = activity.get("id")
    if relay is None or relay.state == "failed" or not isinstance(follow_id, str):
        return False
    accept = {
        "@context": AS_CONTEXT,
        "id": f"{instance}#relay-accepts/{federation.ids.next()}",
        "type": "Accept",
        "actor": instance,
        "object": {"id": follow_id, "type": "Follow", "actor": actor.ap_id, "object": instance},
    }
    async with federation.db.transaction() as conn:
        ref = await record_activity(conn, accept)
        await enqueue_recorded(
            conn, ref, [_inbox(actor.shared_inbox or actor.inbox)], as_instance=True
        )
    return True


async def sharing_relay(federation: Federation, actor: RemoteActor) -> Relay | None:
    """The accepted relay `actor` is, if any: what it announces is a share."""
    relay = await store.by_actor(federation.db, actor.ap_id)
    return relay if relay is not None and relay.state == "accepted" else None
