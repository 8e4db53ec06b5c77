"""Accounts and Relationships for the API's endpoints, loaded in a fixed number of queries.

    await own_account(federation, source=False)        # our Account
    await render_accounts(federation, actor_ids)       # remote Accounts, in the order given
    await account_by_id(federation, raw_id)            # the actor an id names; None: ours
    await relationships(federation, actor_ids)         # Relationship entities
    own_relationship(account_id)                       # ours with ourselves: nothing at all

An id that names no account, or a remote account whose actor is gone, is RecordNotFound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from solo import urls
from solo.api import entities
from solo.api.errors import RecordNotFound
from solo.api.ids import id_of
from solo.config import Settings
from solo.federation.context import Federation
from solo.store import account_notes, hosts, listings, mutes
from solo.store import actors as actor_store
from solo.store import follows as follow_store
from solo.store import moves as move_store
from solo.store.account import get_account
from solo.store.actors import RemoteActor
from solo.store.counts import account_counts, actor_post_counts


def is_us(settings: Settings, acct: str) -> bool:
    """Whether an `acct` (`user`, `user@host`, with or without `@`) names our account."""
    acct = acct.strip().lstrip("@").lower()
    return acct in (settings.username.lower(), urls.handle(settings).lower())


async def own_account(federation: Federation, *, source: bool = False) -> dict[str, Any]:
    account = await get_account(federation.db)
    assert account is not None, "an open instance has its account"
    counts = await account_counts(federation.db)
    entity = entities.local_account(federation.settings, account, counts, source=source)
    if account.moved_to is not None:
        target = await actor_store.get_actor(federation.db, account.moved_to)
        if target is not None:
            entity["moved"] = await render_account(federation, target, nested=True)
    return entity


async def own_account_id(federation: Federation) -> str:
    account = await get_account(federation.db)
    assert account is not None, "an open instance has its account"
    return entities.local_account_id(account)


def remote_entity(
    federation: Federation, actor: RemoteActor, posts: tuple[int, float | None] = (0, None)
) -> dict[str, Any]:
    return entities.remote_account(
        federation.settings,
        actor,
        federation.media.proxy_url,
        statuses=posts[0],
        last_status_at=posts[1],
    )


async def render_accounts(federation: Federation, actor_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The Accounts of these remote actors, in their order; unknown ones left out (two
    queries)."""
    if not actor_ids:
        return []
    found = await actor_store.actors_by_ids(federation.db, actor_ids)
    posts = await actor_post_counts(federation.db, found)
    rendered = [
        remote_entity(federation, found[i], posts.get(i, (0, None)))
        for i in actor_ids
        if i in found
    ]
    await _add_moved(federation, rendered)
    return rendered


async def _add_moved(federation: Federation, rendered: list[dict[str, Any]]) -> None:
    """`moved` on the Accounts of actors that moved (a verified Move): the new Account, itself
    without `moved` (Mastodon nests it once). Two queries, whatever their number."""
    targets = await move_store.moved_targets(federation.db, [int(e["id"]) for e in rendered])
    if not targets:
        return
    found = await actor_store.actors_by_ids(federation.db, list(targets.values()))
    for entity in rendered:
        target = found.get(targets.get(int(entity["id"]), -1))
        if target is not None:
            entity["moved"] = remote_entity(federation, target)


async def render_account(
    federation: Federation, actor: RemoteActor, *, nested: bool = False
) -> dict[str, Any]:
    assert actor.id is not None
    posts = await actor_post_counts(federation.db, [actor.id])
    rendered = [remote_entity(federation, actor, posts.get(actor.id, (0, None)))]
    if not nested:
        await _add_moved(federation, rendered)
    return rendered[0]


async def account_by_id(federation: Federation, raw_id: str) -> RemoteActor | None:
    """The remote actor an API account id names, or None when it names our account."""
    account = await get_account(federation.db)
    assert account is not None
    if entities.is_local_account_id(account, raw_id):
        return None
    actor_id = id_of(raw_id)
    if actor_id is None:
        raise RecordNotFound()
    actor = await actor_store.get_actor_by_id(federation.db, actor_id)
    if actor is None or await actor_store.get_actor(federation.db, actor.ap_id) is None:
        raise RecordNotFound()  # unknown, or its account was deleted
    return actor


def own_relationship(account_id: str) -> dict[str, Any]:
    return relationship_entity(account_id)


def relationship_entity(
    account_id: str,
    *,
    following: bool = False,
    followed_by: bool = False,
    requested: bool = False,
    requested_by: bool = False,
    blocking: bool = False,
    blocked_by: bool = False,
    muting: bool = False,
    muting_notifications: bool = False,
    domain_blocking: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """Mastodon's Relationship, every field present."""
    return {
        "id": account_id,
        "following": following,
        "showing_reblogs": following or requested,
        "notifying": False,
        "languages": None,
        "followed_by": followed_by,
        "blocking": blocking,
        "blocked_by": blocked_by,
        "muting": muting,
        "muting_notifications": muting_notifications,
        "requested": requested,
        "requested_by": requested_by,
        "domain_blocking": domain_blocking,
        "endorsed": False,
        "note": note,
    }


async def relationships(
    federation: Federation, actors: Sequence[RemoteActor]
) -> list[dict[str, Any]]:
    """Where we stand with each of these remote accounts, in their order."""
    ids = [actor.id for actor in actors if actor.id is not None]
    if not ids:
        return []
    db = federation.db
    states = await follow_store.follows_of(db, ids)
    blocking, blocked_by = await listings.blocks_between(db, ids)
    muted = await mutes.mutes_of(db, ids)
    notes = await account_notes.notes_of(db, ids)
    blocked_domains = {
        domain
        for domain in {actor.domain for actor in actors}
        if await hosts.is_blocked(db, domain.split(":")[0])
    }
    found = []
    for actor in actors:
        if actor.id is None:
            continue
        out, incoming = states.get(("out", actor.id)), states.get(("in", actor.id))
        mute = muted.get(actor.id)
        found.append(
            relationship_entity(
                str(actor.id),
                following=out == "accepted",
                requested=out == "pending",
                followed_by=incoming == "accepted",
                requested_by=incoming == "pending",
                blocking=actor.id in blocking,
                blocked_by=actor.id in blocked_by,
                muting=mute is not None,
                muting_notifications=mute is not None and mute.notifications,
                domain_blocking=actor.domain in blocked_domains,
                note=notes.get(actor.id, ""),
            )
        )
    return found
