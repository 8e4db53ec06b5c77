"""What an address names, for the search box and the client API's search: a stored post or
account, else fetched from its origin and kept when it is an account or a public post, with
the checks ingress makes (the id rule, the author's host, blocks, the sanitizer in
`parse_post`)."""

from __future__ import annotations

from typing import Any, Final

from solo.actions import ActionError
from solo.activitystreams import ACTOR_TYPES, types_of
from solo.federation import polls
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.handlers.create import blocked_by_us
from solo.federation.notes import POST_TYPES, author_of, parse_post
from solo.federation.remote_actors import authority, same_origin
from solo.federation.resolver import ResolveError
from solo.net.fetch import FetchError
from solo.store import actors as actor_store
from solo.store import hosts
from solo.store import statuses as status_store
from solo.store.actors import RemoteActor
from solo.store.statuses import Status

SHAREABLE: Final = ("public", "unlisted")


async def fetched_post(federation: Federation, document: dict[str, Any]) -> Status:
    """Keep a post fetched from its origin, as ingress would; ActionError when refused."""
    object_id = str(document.get("id"))
    author_id = author_of(document)
    if author_id is None or not same_origin(author_id, object_id):
        raise ActionError("%(object_id)s is not on its author's server.", object_id=object_id)
    try:
        author = await federation.resolver.actor(author_id)
    except ResolveError as error:
        raise ActionError(
            "Could not find the author of %(object_id)s: %(error)s",
            object_id=object_id,
            error=error,
        ) from None
    if await hosts.is_blocked(federation.db, author.domain.split(":")[0]) or (
        await blocked_by_us(federation, author)
    ):
        raise ActionError("You blocked %(handle)s.", handle=author.handle)
    try:
        status = parse_post(
            document,
            author,
            federation.ids,
            allow_private=federation.settings.allow_private_addresses,
        )
    except Ignored as reason:
        raise ActionError(
            "Solo cannot show %(object_id)s: %(reason)s", object_id=object_id, reason=reason
        ) from None
    if status.visibility not in SHAREABLE:
        raise ActionError("%(object_id)s is not public.", object_id=object_id)
    if await status_store.is_tombstoned(federation.db, status.ap_id):
        raise ActionError("%(object_id)s was deleted.", object_id=object_id)
    async with federation.db.transaction() as conn:
        row_id = await status_store.insert_remote_status(conn, status)
        if row_id is not None:
            await polls.store_remote(conn, row_id, status)
    if row_id is not None:
        await federation.feeds.status_added(row_id)
    found = await status_store.get_status_by_ap_id(federation.db, status.ap_id)
    if found is None:
        raise ActionError("%(object_id)s was deleted.", object_id=object_id)
    return found


async def resolve_url(federation: Federation, url: str) -> RemoteActor | Status:
    """What an address names: a stored post or account, else fetched from its origin."""
    db = federation.db
    status = await status_store.get_status_by_url(db, url)
    if status is not None and status.deleted_at is None:
        return status
    actor = await actor_store.get_actor_by_url(db, url)
    if actor is not None:
        return actor
    if authority(url) == federation.settings.domain:
        raise ActionError("There is nothing at that address on this server.")
    try:
        document = await federation.resolver.fetch(url)
    except FetchError as error:
        raise ActionError("Could not fetch %(url)s: %(error)s", url=url, error=error) from None
    kinds = types_of(document)
    if kinds & ACTOR_TYPES:
        try:
            return await federation.resolver.actor(str(document["id"]))
        except ResolveError as error:
            raise ActionError(
                "Could not read the account at %(url)s: %(error)s", url=url, error=error
            ) from None
    if kinds & POST_TYPES:
        return await fetched_post(federation, document)
    raise ActionError("%(url)s is neither an account nor a post.", url=url)
