"""What both sides of an account move share: the Move document, reading `alsoKnownAs` and
`movedTo` from actor documents, and the rule that lets an old account's followers past a lock.

Mastodon authorizes, without asking, the follows that a Move brings to a target on the same
server (`MoveWorker`: `bypass_locked` when the target is local). A single-user server knows no
one else's follows, so Solo asks the old account's server: when an alias of ours has moved to
us (its actor, refetched, says `movedTo` us), a Follow from an actor listed in that alias's
followers collection is accepted even when the account is locked. What was read is kept (a
follower leaves the old account's list as it moves), and read again at most once a minute.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from solo import urls
from solo.activitystreams import AS_CONTEXT, as_list, id_of
from solo.config import Settings
from solo.federation.collections import Budget, read_items
from solo.federation.context import Federation
from solo.federation.resolver import ResolveError
from solo.store import moves
from solo.store.account import Account
from solo.store.actors import RemoteActor

# How often an alias's followers may be read again, at most.
REREAD_SECONDS: Final = 60.0
# Bounds of one read of a followers collection (Mastodon pages hold a dozen followers).
FOLLOWER_PAGES: Final = 200
MAX_FOLLOWERS: Final = 10_000
READ_SECONDS: Final = 60.0


def move_document(settings: Settings, move_id: str, target: str) -> dict[str, Any]:
    """Move of our account to `target`: actor and object are both us (Mastodon's shape)."""
    actor = urls.actor(settings)
    return {
        "@context": AS_CONTEXT,
        "id": move_id,
        "type": "Move",
        "actor": actor,
        "object": actor,
        "target": target,
    }


def _document(actor: RemoteActor) -> dict[str, Any]:
    try:
        document = json.loads(actor.raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def also_known_as(actor: RemoteActor) -> set[str]:
    """The accounts an actor says it also is (its `alsoKnownAs`)."""
    names = as_list(_document(actor).get("alsoKnownAs"))
    return {name for value in names if (name := id_of(value)) is not None}


def moved_to(actor: RemoteActor) -> str | None:
    """The account an actor's own document says it moved to."""
    return id_of(_document(actor).get("movedTo"))


async def read_alias_followers(federation: Federation, alias: RemoteActor) -> int:
    """Read and keep the followers an alias lists; returns how many were read."""
    budget = Budget(federation.resolver, fetches=FOLLOWER_PAGES + 1, seconds=READ_SECONDS)
    items = await read_items(
        budget,
        alias.followers_url,
        owner=alias.ap_id,
        refetch=True,
        pages=FOLLOWER_PAGES,
        limit=MAX_FOLLOWERS,
    )
    followers = [found for item in items if (found := id_of(item)) is not None]
    async with federation.db.transaction() as conn:
        await moves.add_alias_followers(conn, alias.ap_id, followers)
    return len(followers)


async def _alias_moved_here(federation: Federation, alias_ap_id: str) -> RemoteActor | None:
    """The alias's actor, refetched, when it says it moved to us; else None."""
    try:
        alias = await federation.resolver.actor(alias_ap_id, refresh=True)
    except ResolveError:
        return None
    return alias if moved_to(alias) == urls.actor(federation.settings) else None


async def followed_moved_alias(
    federation: Federation, account: Account, follower: RemoteActor
) -> bool:
    """Whether `follower` followed an alias of ours that has moved to us (module docstring)."""
    db = federation.db
    for alias in account.aliases:
        if await moves.is_alias_follower(db, alias.ap_id, follower.ap_id):
            return True
        read_at = await moves.alias_read_at(db, alias.ap_id)
        if read_at is not None and time.time() - read_at < REREAD_SECONDS:
            continue
        moved = await _alias_moved_here(federation, alias.ap_id)
        if moved is None:
            async with db.transaction() as conn:  # asked again only after REREAD_SECONDS
                await moves.add_alias_followers(conn, alias.ap_id, [])
            continue
        await read_alias_followers(federation, moved)
        if await moves.is_alias_follower(db, alias.ap_id, follower.ap_id):
            return True
    return False
