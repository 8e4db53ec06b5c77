"""Remote actors and their keys: from the cache, else fetched (signed as the instance actor).

Rule 6 of FEDERATION.md: a keyId is fetched without its fragment; a Key document leads to its
`owner`; the actor's `publicKey.id` must equal the keyId. Rule 15: handles resolve through
WebFinger, and the actor found must name the same handle back.

Actors found by key id are kept in memory with their parsed key (`cached_key`), at most
`KEY_CACHE_SIZE`, least recently used first out. An entry is dropped as soon as a transaction
that changes or deletes that actor's row commits (`Database.watch`), so a key replaced by an
`Update` or gone with a `Delete` is never used from memory. A key not in memory is looked for in
the database only when `known_keys` says it may have been stored.

A key not yet known is fetched once however many requests it signed arrive meanwhile (they
share the fetch under way), and the actor fetched is stored by group commit (`Database.write`)
with the other writes of the moment: a viral post's thousands of first contacts cost no fsync
each.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from solo import urls
from solo.activitystreams import ACTOR_TYPES, id_of, types_of
from solo.db import Database
from solo.federation import known_keys
from solo.federation.batch_signing import BatchSigner
from solo.federation.remote_actors import InvalidActor, parse_actor, same_origin
from solo.federation.signatures import HTTPSignatureAuth, PublicKeyInput
from solo.instance import Instance
from solo.lazy import lazy
from solo.net.fetch import Fetcher, FetchError, HTTPStatusError
from solo.store import actors as actor_store
from solo.store.actors import RemoteActor

if TYPE_CHECKING:
    from cryptography import exceptions
    from cryptography.hazmat.primitives import serialization
else:  # at the first key read, not at start (see solo.lazy)
    exceptions = lazy("cryptography.exceptions")
    serialization = lazy("cryptography.hazmat.primitives.serialization")

log = logging.getLogger(__name__)

# A cached actor older than this is fetched again when next needed (its key on a failure).
ACTOR_MAX_AGE = 24 * 3600
KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class CachedKey:
    """An actor found by its key id, with that key parsed once."""

    actor: RemoteActor
    public_key: PublicKeyInput
    # Fetched and not yet stored (`fetch_key(stored=False)`): the place in the group commit's
    # line of its row's write (`Database.writes_queued`); a write that needs the row must be
    # queued after it. 0 when the row is stored.
    row_queued: int = 0


def _parsed(pem: str) -> PublicKeyInput:
    try:
        return serialization.load_pem_public_key(pem.encode())
    except (ValueError, exceptions.UnsupportedAlgorithm):
        return pem  # verifying with it says why it cannot be read


class ResolveError(Exception):
    """An actor, key or handle could not be resolved; the message says why.

    `temporary` is True when trying again later may succeed (the server was down); `gone` when
    the server answered 410 (the actor was deleted)."""

    def __init__(self, message: str, *, temporary: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.gone = gone


# The fetch of a key's owner: the actor fetched and checked with its key parsed, and the write
# of its row.
_KeyFetch = asyncio.Future[tuple[CachedKey, asyncio.Future[RemoteActor]]]


class Resolver:
    def __init__(
        self,
        instance: Instance,
        fetcher: Fetcher,
        *,
        key_cache_size: int = KEY_CACHE_SIZE,
        signer: BatchSigner | None = None,
    ) -> None:
        self.db: Database = instance.db
        self.settings = instance.settings
        self.fetcher = fetcher
        # Signed on the signing threads: a burst of first contacts signs a key fetch each.
        self.auth: httpx.Auth = HTTPSignatureAuth(
            urls.instance_key_id(instance.settings),
            instance.instance_keys,
            sign=None if signer is None else signer.sign,
        )
        self._keys: OrderedDict[str, CachedKey] = OrderedDict()
        self._key_of: dict[str, str] = {}  # actor id → its key id, for each actor in `_keys`
        self._key_cache_size = key_cache_size
        self._watching: asyncio.Future[None] | None = None
        self._watched = False
        # Every key id stored, as a Bloom filter (`known_keys`): a key surely never stored is
        # not looked for in the database. None until loaded (the keys stored meanwhile wait),
        # or if it could not be: then every key not in memory is looked for.
        self._known: known_keys.KnownKeys | None = None
        self._stored_meanwhile: list[str] | None = []
        # keyId → the fetch of its owner under way: requests signed by a key not yet known
        # all wait for that one fetch (it goes on if they all go away; its limits bound it).
        self._key_fetches: dict[str, _KeyFetch] = {}

    async def fetch(
        self, url: str, *, auth: httpx.Auth | None = None, for_key: bool = False
    ) -> dict[str, Any]:
        """A signed GET of an ActivityStreams document whose id its origin vouches for; signed
        as the instance actor unless `auth` signs it as someone else; `for_key` when it
        verifies an incoming request (the key fetches' own limits)."""
        return await self.fetcher.get_activity(url, auth=auth or self.auth, for_key=for_key)

    async def _store(self, document: dict[str, Any]) -> RemoteActor:
        return await self._write(_parse(document))

    async def _write(
        self, actor: RemoteActor, public_key: PublicKeyInput | None = None
    ) -> RemoteActor:
        """Store `actor` and cache it with its key (`public_key` when already parsed)."""
        await self._watch()
        # Batched with the other writes of the moment (group commit): a burst of first
        # contacts costs one commit, not one fsync per sender.
        stored = await self.db.write(functools.partial(actor_store.store_actor, actor=actor))
        self._remember(stored, self.db.version("actors"), public_key)
        return stored

    def _stored(
        self, public_key: PublicKeyInput | None, write: asyncio.Future[RemoteActor]
    ) -> None:
        """Cache the actor a key fetch wrote (see `_write`); a failed write fails only in the
        callers that wait for it."""
        if not write.cancelled() and write.exception() is None:
            self._remember(write.result(), self.db.version("actors"), public_key)

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

    async def is_gone(self, url: str) -> bool:
        """Whether `url` answers 410 Gone to a fresh signed GET: nothing else proves it gone."""
        try:
            await self.fetch(url, for_key=True)
        except FetchError as error:
            return isinstance(error, HTTPStatusError) and error.status == 410
        return False

    async def stored_actor(self, ap_id: str) -> RemoteActor | None:
        """The stored actor with this id (None if unknown or deleted), from memory when its key
        is cached: the ingress worker asks this for every activity it applies, mostly signed by
        a key just used. (One read is not cached: that would parse its key.)"""
        key_id = self._key_of.get(ap_id)
        found = None if key_id is None else self._keys.get(key_id)
        if found is not None:
            return found.actor
        return await actor_store.get_actor(self.db, ap_id)

    async def cached_actor_for_key(self, key_id: str) -> RemoteActor | None:
        cached = await self.cached_key(key_id)
        return None if cached is None else cached.actor

    async def cached_key(self, key_id: str) -> CachedKey | None:
        """The stored actor owning `key_id` and its parsed key, from memory when possible;
        None when unknown or keyless."""
        found = self._keys.get(key_id)
        if found is not None:
            self._keys.move_to_end(key_id)
            return found
        if key_id in self._key_fetches:
            return None  # being fetched (and stored): the caller shares that fetch
        await self._watch()
        if self._known is not None and key_id not in self._known:
            return None  # never stored: a first contact
        version = self.db.version("actors")
        actor = await actor_store.get_actor_by_key_id(self.db, key_id)
        if actor is None:
            return None
        return self._remember(actor, version)

    async def _watch(self) -> None:
        """Listen to changes of actors before the first is cached, then load the known keys
        (once; callers share it)."""
        if self._watched:
            return
        if self._watching is None:
            self._watching = asyncio.ensure_future(self._start_watching())
        await asyncio.shield(self._watching)
        self._watched = True

    async def _start_watching(self) -> None:
        await self.db.watch("actors", "key_id", self._forget)
        # Loaded after the watch began: a key stored meanwhile is in the table or reported.
        try:
            known = await self.db.read(known_keys.load)
        except sqlite3.Error as error:
            log.warning("the stored key ids could not be read (%s): each key is looked for", error)
            self._stored_meanwhile = None
            return
        for key_id in self._stored_meanwhile or ():
            known.add(key_id)
        self._known, self._stored_meanwhile = known, None

    def _forget(self, key_ids: frozenset[Any]) -> None:
        known = self._known
        for key_id in key_ids:
            self._drop(self._keys.pop(key_id, None))
            if isinstance(key_id, str):
                if known is not None:
                    known.add(key_id)
                elif self._stored_meanwhile is not None:
                    self._stored_meanwhile.append(key_id)

    def _remember(
        self, actor: RemoteActor, version: int, public_key: PublicKeyInput | None = None
    ) -> CachedKey | None:
        """Cache `actor` as read when the actors table was at `version`, unless it changed
        since (the row read may already be stale); `public_key`: its key, already parsed."""
        if not actor.key_id or not actor.public_key_pem:
            return None
        cached = CachedKey(actor, public_key or _parsed(actor.public_key_pem))
        if self.db.version("actors") == version:
            self._drop(self._keys.get(actor.key_id))
            self._keys[actor.key_id] = cached
            self._keys.move_to_end(actor.key_id)
            self._key_of[actor.ap_id] = actor.key_id
            while len(self._keys) > self._key_cache_size:
                self._drop(self._keys.popitem(last=False)[1])
        return cached

    def _drop(self, cached: CachedKey | None) -> None:
        """Forget which key `cached`'s actor has, as it leaves `_keys`."""
        if cached is not None and self._key_of.get(cached.actor.ap_id) == cached.actor.key_id:
            del self._key_of[cached.actor.ap_id]

    async def actor_for_key(self, key_id: str, *, stored: bool = True) -> RemoteActor:
        """Fetch the owner of `key_id` (fresh) and require that it names this very key; see
        `fetch_key`."""
        return (await self.fetch_key(key_id, stored=stored)).actor

    async def fetch_key(self, key_id: str, *, stored: bool = True) -> CachedKey:
        """The owner of `key_id`, fetched fresh and required to name this very key, with that
        key parsed (once, however many callers share it).

        One fetch at a time per key: callers asking while it runs, or while the actor found is
        written, share its outcome. `stored=False` answers as soon as the actor is fetched and
        checked, its row still being written (without its row id, and with the place of that
        write in line, `row_queued`): for the inbox, which queues its write of the activity
        after it, so that both commit together or the actor first."""
        fetch = self._key_fetches.get(key_id)
        if fetch is None:
            fetch = asyncio.ensure_future(self._fetch_key_owner(key_id))
            self._key_fetches[key_id] = fetch
            fetch.add_done_callback(functools.partial(self._key_fetched, key_id))
        fetched, write = await asyncio.shield(fetch)
        if stored:
            return CachedKey(await asyncio.shield(write), fetched.public_key)
        return fetched

    def fetching(self, actor_id: str) -> bool:
        """Whether a key of `actor_id` is being fetched, or its row written: a request they
        signed is being verified, and the actors table does not show them yet."""
        for key_id in self._key_fetches:
            # Mastodon's `actor#main-key`, GoToSocial's `actor/main-key`, or the actor itself.
            owner, hash_mark, _ = key_id.partition("#")
            if owner == actor_id or (not hash_mark and owner.rpartition("/")[0] == actor_id):
                return True
        return False

    def _key_fetched(self, key_id: str, fetch: _KeyFetch) -> None:
        if fetch.cancelled() or fetch.exception() is not None:  # retrieved, even unawaited
            self._fetch_over(key_id, fetch)
        else:
            # Until the row is written, a request with this key would find it nowhere.
            fetch.result()[1].add_done_callback(functools.partial(self._fetch_over, key_id, fetch))

    def _fetch_over(self, key_id: str, fetch: _KeyFetch, _: object = None) -> None:
        if self._key_fetches.get(key_id) is fetch:
            del self._key_fetches[key_id]

    async def _fetch_key_owner(self, key_id: str) -> tuple[CachedKey, asyncio.Future[RemoteActor]]:
        """The actor fetched and checked with its key parsed, and the write of its row under
        way."""
        url = key_id.partition("#")[0]  # the fragment starts at the first '#' (RFC 3986)
        try:
            document = await self.fetch(url, for_key=True)
            if not types_of(document) & ACTOR_TYPES:
                # A Key document (GoToSocial): its owner is the actor, on the same host.
                owner = id_of(document.get("owner"))
                if owner is None or not same_origin(owner, key_id):
                    raise ResolveError(f"the key {key_id} has no owner on its own host")
                document = await self.fetch(owner, for_key=True)
        except FetchError as error:
            raise ResolveError(
                f"cannot fetch the key {key_id}: {error}",
                temporary=error.temporary,
                gone=isinstance(error, HTTPStatusError) and error.status == 410,
            ) from None
        actor = _parse(document)
        # Parsed once here: the waiting requests verify with it, and the cache keeps it.
        public_key = _parsed(actor.public_key_pem) if actor.public_key_pem else None
        await self._watch()
        # Queued now, before any caller of this fetch resumes: an inbox's write of the activity
        # always comes after it. A future, not a task: once written, `_stored` caches the actor
        # before anyone waiting for the write resumes (callbacks run in the order added).
        write = self.db.write_soon(functools.partial(actor_store.store_actor, actor=actor))
        row_queued = 0 if write.done() else self.db.writes_queued
        write.add_done_callback(functools.partial(self._stored, public_key))
        if actor.key_id != key_id:
            raise ResolveError(f"{actor.ap_id} does not own the key {key_id}")
        assert public_key is not None  # parse_actor gives a key id only with its PEM
        return CachedKey(actor, public_key, row_queued), write

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


def _parse(document: dict[str, Any]) -> RemoteActor:
    try:
        return parse_actor(document)
    except InvalidActor as error:
        raise ResolveError(str(error)) from None


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
