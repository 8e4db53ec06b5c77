"""Reading remote collections (an outbox, a post's replies) within a fetch budget.

A backfill follows links that remote servers choose: replies of replies, ancestors of
ancestors, pages after pages. CVE-2022-46405 (recursion through wildcard DNS) is the lesson:
every walk gets a `Budget` — so many fetches, so many distinct hosts, one deadline — and stops
quietly when it is spent. Every fetch goes through `Resolver.fetch` (the guarded fetcher and
the id rule, rule 22), and blocked domains are never asked.

An (Ordered)Collection's `first` is a URL or an embedded page; pages carry `orderedItems` or
`items` and `next`. Every collection and page read must be on its owner's host: what an embedded
copy says is believed only because that host served it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import httpx

from solo.activitystreams import as_list, id_of, types_of
from solo.federation.remote_actors import authority, same_origin
from solo.federation.resolver import ResolveError, Resolver
from solo.net.fetch import FetchError
from solo.store import actors as actor_store
from solo.store import hosts
from solo.store.actors import RemoteActor

log = logging.getLogger(__name__)

COLLECTION_TYPES: Final = frozenset(
    {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
)
# Wildcard DNS makes every name a new host: a walk may touch only so many.
MAX_HOSTS: Final = 30


class Budget:
    """What one backfill may still fetch: `fetches` documents on at most `hosts` hosts, before
    `seconds` have passed. A spent budget makes every fetch answer None."""

    def __init__(
        self, resolver: Resolver, *, fetches: int, seconds: float, hosts: int = MAX_HOSTS
    ) -> None:
        self.resolver = resolver
        self.left = fetches
        self.max_hosts = hosts
        self.hosts: set[str] = set()
        self.deadline = asyncio.get_running_loop().time() + seconds

    @property
    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def spent(self) -> bool:
        return self.left <= 0 or self.remaining <= 0

    async def _take(self, url: str) -> bool:
        """Count one fetch of `url`; False when the budget or the host refuses it."""
        host = authority(url)
        if host is None or self.spent():
            return False
        if host not in self.hosts and len(self.hosts) >= self.max_hosts:
            log.info("backfill: not fetching %s, too many hosts in one walk", url)
            return False
        if await hosts.is_blocked(self.resolver.db, host.split(":")[0]):
            log.info("backfill: not fetching %s, its domain is blocked", url)
            return False
        self.left -= 1
        self.hosts.add(host)
        return True

    async def fetch(self, url: str, *, auth: httpx.Auth | None = None) -> dict[str, Any] | None:
        """The document at `url`, vouched for by its own host; None when it cannot be had.
        Signed as the instance actor unless `auth` signs it as someone else."""
        if not await self._take(url):
            return None
        try:
            async with asyncio.timeout(self.remaining):
                document = await self.resolver.fetch(url, auth=auth)
        except TimeoutError:
            log.info("backfill: out of time fetching %s", url)
            return None
        except FetchError as error:
            log.info("backfill: %s", error)
            return None
        # The id rule may have led to another URL: on another host it vouches for nothing here.
        if not same_origin(str(document["id"]), url):
            log.info("backfill: %s is served as %s", url, document["id"])
            return None
        return document

    async def actor(self, ap_id: str, *, refresh: bool = False) -> RemoteActor | None:
        """The actor, from the cache (free) or fetched (one fetch); None when it cannot be had."""
        cached = await actor_store.get_actor(self.resolver.db, ap_id)
        if (cached is None or refresh) and not await self._take(ap_id):
            return None
        try:
            async with asyncio.timeout(max(self.remaining, 0)):
                return await self.resolver.actor(ap_id, refresh=refresh)
        except TimeoutError:
            log.info("backfill: out of time fetching %s", ap_id)
        except ResolveError as error:
            log.info("backfill: %s", error)
        return None


def items_of(page: dict[str, Any]) -> list[Any]:
    for key in ("orderedItems", "items"):
        if key in page:
            return as_list(page[key])
    return []


def _has_content(document: dict[str, Any]) -> bool:
    return any(key in document for key in ("first", "orderedItems", "items"))


async def _open(budget: Budget, ref: Any, owner: str, *, refetch: bool) -> dict[str, Any] | None:
    """A collection or page: embedded (unless `refetch` and it has an id) or fetched by URL."""
    if isinstance(ref, dict):
        ref_id = id_of(ref)
        if ref_id is not None and not same_origin(ref_id, owner):
            return None
        if _has_content(ref) and (ref_id is None or not refetch):
            return ref if not types_of(ref) or types_of(ref) & COLLECTION_TYPES else None
        ref = ref_id
    if not isinstance(ref, str) or not same_origin(ref, owner):
        return None
    document = await budget.fetch(ref)
    if document is None or not types_of(document) & COLLECTION_TYPES:
        return None
    return document


async def total_of(budget: Budget, ref: Any, owner: str) -> int | None:
    """The `totalItems` of the collection `ref` on `owner`'s host (its front page only, fetched
    fresh); None when it is hidden or cannot be had. Mastodon gives totals even for the
    collections whose items it hides."""
    if ref is None:
        return None
    collection = await _open(budget, ref, owner, refetch=True)
    total = None if collection is None else collection.get("totalItems")
    if isinstance(total, int) and not isinstance(total, bool) and 0 <= total < 2**53:
        return total
    return None


async def read_items(
    budget: Budget, ref: Any, *, owner: str, refetch: bool, pages: int, limit: int
) -> list[Any]:
    """Up to `limit` items of the collection `ref` (its URL or an embedded copy), read from at
    most `pages` pages, in the collection's order; every part on the host of `owner` (the actor
    or post the collection belongs to). `refetch` asks for a fresh copy of an embedded
    collection that has an id (one stored long ago is stale)."""
    collection = await _open(budget, ref, owner, refetch=refetch)
    if collection is None:
        return []
    found = items_of(collection)
    seen = {id_of(collection)}
    page_ref = collection.get("first")
    read = 0
    while page_ref is not None and read < pages and len(found) < limit:
        if id_of(page_ref) in seen - {None}:
            break  # a page that leads back to itself
        seen.add(id_of(page_ref))
        page = await _open(budget, page_ref, owner, refetch=False)
        if page is None:
            break
        read += 1
        found.extend(items_of(page))
        page_ref = page.get("next")
    return found[:limit]
