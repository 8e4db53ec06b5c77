"""Remote actors and their keys: from the cache, else fetched (signed as the instance actor).

Rule 6 of FEDERATION.md: a keyId is fetched without its fragment; a Key document leads to its
`owner`; the actor's `publicKey.id` must equal the keyId. Rule 15: handles resolve through
WebFinger, and the actor found must name the same handle back.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urldefrag

import httpx

from solo import urls
from solo.db import Database
from solo.federation.activitystreams import ACTOR_TYPES, id_of, types_of
from solo.federation.fetch import Fetcher, FetchError, HTTPStatusError
from solo.federation.remote_actors import InvalidActor, parse_actor, same_origin
from solo.federation.signatures import HTTPSignatureAuth
from solo.instance import Instance
from solo.store import actors as actor_store
from solo.store.actors import RemoteActor

# A cached actor older than this is fetched again when next needed (its key on a failure).
ACTOR_MAX_AGE = 24 * 3600


class ResolveError(Exception):
    """An actor, key or handle could not be resolved; the message says why.

    `temporary` is True when trying again later may succeed (the server was down); `gone` when
    the server answered 410 (the actor was deleted)."""

    def __init__(self, message: str, *, temporary: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.gone = gone


class Resolver:
    def __init__(self, instance: Instance, fetcher: Fetcher) -> None:
        self.db: Database = instance.db
        self.settings = instance.settings
        self.fetcher = fetcher
        self.auth: httpx.Auth = HTTPSignatureAuth(
            urls.instance_key_id(instance.settings), instance.instance_keys.private_key()
        )

    async def fetch(self, url: str) -> dict[str, Any]:
        """A signed GET of an ActivityStreams document whose id its origin vouches for."""
        return await self.fetcher.get_activity(url, auth=self.auth)

    async def _store(self, document: dict[str, Any]) -> RemoteActor:
        try:
            actor = parse_actor(document)
        except InvalidActor as error:
            raise ResolveError(str(error)) from None
        async with self.db.transaction() as conn:
            row_id = await actor_store.upsert_actor(conn, actor)
        stored = await actor_store.get_actor_by_id(self.db, row_id)
        assert stored is not None
        return stored

    async def actor(self, ap_id: str, *, refresh: bool = False) -> RemoteActor:
        """The actor with this id, from the cache unless stale or `refresh`."""
        if not refresh:
            cached = await actor_store.get_actor(self.db, ap_id)
            age = await actor_store.fetched_at(self.db, ap_id)
            if cached is not None and age is not None and time.time() - age < ACTOR_MAX_AGE:
                return cached
        try:
            document = await self.fetch(ap_id)
        except FetchError as error:
            raise ResolveError(
                f"cannot fetch {ap_id}: {error}", temporary=error.temporary
            ) from None
        if document.get("id") != ap_id:
            raise ResolveError(f"{ap_id} is known by another id, {document.get('id')}")
        return await self._store(document)

    async def cached_actor_for_key(self, key_id: str) -> RemoteActor | None:
        return await actor_store.get_actor_by_key_id(self.db, key_id)

    async def actor_for_key(self, key_id: str) -> RemoteActor:
        """Fetch the owner of `key_id` (fresh) and require that it names this very key."""
        url, _ = urldefrag(key_id)
        try:
            document = await self.fetch(url)
            if not types_of(document) & ACTOR_TYPES:
                # A Key document (GoToSocial): its owner is the actor, on the same host.
                owner = id_of(document.get("owner"))
                if owner is None or not same_origin(owner, key_id):
                    raise ResolveError(f"the key {key_id} has no owner on its own host")
                document = await self.fetch(owner)
        except FetchError as error:
            raise ResolveError(
                f"cannot fetch the key {key_id}: {error}",
                temporary=error.temporary,
                gone=isinstance(error, HTTPStatusError) and error.status == 410,
            ) from None
        actor = await self._store(document)
        if actor.key_id != key_id:
            raise ResolveError(f"{actor.ap_id} does not own the key {key_id}")
        return actor

    async def webfinger(self, username: str, domain: str) -> RemoteActor:
        """`user@domain` → the actor, checked to name the same handle back."""
        resource = quote(f"acct:{username}@{domain}", safe=":@")
        schemes = ["https", "http"] if self.settings.allow_private_addresses else ["https"]
        last_error: FetchError | None = None
        for scheme in schemes:
            try:
                jrd = await self.fetcher.get_json(
                    f"{scheme}://{domain}/.well-known/webfinger?resource={resource}"
                )
                break
            except FetchError as error:
                last_error = error
        else:
            raise ResolveError(
                f"cannot look up @{username}@{domain}: {last_error}",
                temporary=last_error is not None and last_error.temporary,
            )
        actor_url = _self_link(jrd)
        if actor_url is None:
            raise ResolveError(f"@{username}@{domain} has no ActivityPub actor")
        actor = await self.actor(actor_url)
        if actor.username.lower() != username.lower() or actor.domain != domain.lower():
            # The subject could be another domain's (WebFinger delegation): accept only when
            # the actor's own host fingers back to the same actor.
            if actor.domain != domain.lower():
                again = await self.webfinger(actor.username, actor.domain)
                if again.ap_id == actor.ap_id:
                    return actor
            raise ResolveError(f"@{username}@{domain} points at {actor.handle}, not itself")
        return actor


def _self_link(jrd: dict[str, Any]) -> str | None:
    for link in jrd.get("links") or []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        kind = str(link.get("type", ""))
        if kind.startswith(("application/activity+json", "application/ld+json")):
            href = link.get("href")
            if isinstance(href, str):
                return href
    return None
