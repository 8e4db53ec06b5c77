"""Backfill: what Mastodon leaves empty — a new follow's recent posts, a remote profile's posts
and pinned posts, a thread's missing ancestors and replies.

Every object fetched passes the checks ingress applies (`notes.parse_post`: the id on its
author's host, sanitized content), plus blocks, tombstones and Deletes that overtook their post;
only public and unlisted posts are kept, except the ancestors of a thread, which are fetched
signed as our user and kept when they are followers-only posts of someone we follow or name us.
Ingress's relevance rule (rule 24) does not apply: the user asked for these posts by following,
or by opening a profile or a thread. Posts are stored in one transaction per batch and then
handed to the feeds, as ingress does.

Every walk is bounded by a `Budget` (collections.py). A profile or thread backfill runs as a
background task: the page waits at most `wait` seconds for it, and what arrives later shows on
the next load. One task runs per profile or thread at a time, and the same one is not started
again within `COOLDOWN_SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from solo.activitystreams import id_of, types_of
from solo.federation import fetched_posts, polls
from solo.federation.collections import Budget, read_items, total_of
from solo.federation.context import Federation
from solo.federation.handlers.create import blocked_by_us
from solo.federation.notes import POST_TYPES, first
from solo.federation.per_federation import PerFederation, cancel_all
from solo.federation.remote_actors import authority, same_origin
from solo.store import actors as actor_store
from solo.store import pins, statuses
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus, Status

log = logging.getLogger(__name__)

OUTBOX_ITEMS: Final = 20  # the newest posts of an outbox's first page
OUTBOX_FETCHES: Final = 50  # the collection, its page, and each post given by id only
FEATURED_ITEMS: Final = 5  # pinned posts read from a profile's `featured` (Mastodon pins 5)
ANCESTORS: Final = 20
REPLY_DEPTH: Final = 3  # replies, replies to replies, and one level more
REPLY_PAGES: Final = 2  # per post (Mastodon: the author's own replies, then the others')
REPLY_ITEMS: Final = 40  # per post
THREAD_FETCHES: Final = 100
FOLLOW_SECONDS: Final = 15.0  # awaited by the ingress job of the Accept: kept short
BACKGROUND_SECONDS: Final = 20.0
COOLDOWN_SECONDS: Final = 300.0
REMEMBERED: Final = 1000  # keys whose start time is kept for the cooldown


async def after_follow_accepted(federation: Federation, actor: RemoteActor) -> int:
    """Store the newest posts of the first page of `actor`'s outbox; returns how many."""
    budget = Budget(federation.resolver, fetches=OUTBOX_FETCHES, seconds=FOLLOW_SECONDS)
    return len(await _outbox(federation, budget, actor))


async def profile(federation: Federation, actor_ap_id: str, *, wait: float = 2.0) -> None:
    """Fetch a remote profile's recent posts; returns within `wait` seconds, the rest continues
    in the background."""
    if authority(actor_ap_id) in (None, federation.settings.domain):
        return

    async def work() -> None:
        budget = Budget(federation.resolver, fetches=OUTBOX_FETCHES, seconds=BACKGROUND_SECONDS)
        actor = await budget.actor(actor_ap_id, refresh=True)
        if actor is not None:
            await _counts(federation, budget, actor)
            await _outbox(federation, budget, actor)
            await _featured(federation, budget, actor)

    await _in_background(federation, f"profile {actor_ap_id}", work, wait)


async def thread(federation: Federation, status_id: int, *, wait: float = 2.0) -> None:
    """Fetch a thread's missing ancestors and replies; returns within `wait` seconds, the rest
    continues in the background."""

    async def work() -> None:
        budget = Budget(federation.resolver, fetches=THREAD_FETCHES, seconds=BACKGROUND_SECONDS)
        status = await statuses.get_status(federation.db, status_id)
        if status is not None and status.reblog_of_id is not None:
            status = await statuses.get_status(federation.db, status.reblog_of_id)
        if status is None or status.deleted_at is not None:
            return
        chain = await _ancestors(federation, budget, status)
        await _descendants(federation, budget, chain)

    await _in_background(federation, f"thread {status_id}", work, wait)


async def shutdown(federation: Federation) -> None:
    """Cancel the instance's backfills still running; for the lifespan, before the fetcher and
    the database close under them."""
    await cancel_all(_backfills_of(federation).running.values())


# Running in the background


@dataclass
class _Backfills:
    """One instance's background backfills in this process."""

    running: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # also keeps them alive
    started: dict[str, float] = field(default_factory=dict)  # loop time, oldest first

    def remember(self, key: str, now: float) -> None:
        self.started.pop(key, None)
        self.started[key] = now
        while len(self.started) > REMEMBERED:
            del self.started[next(iter(self.started))]


_backfills_of = PerFederation(_Backfills)


async def _in_background(
    federation: Federation, key: str, work: Callable[[], Awaitable[None]], wait: float
) -> None:
    """Run `work` as the one backfill for `key` (joining it when it already runs) and wait for
    it at most `wait` seconds."""
    backfills = _backfills_of(federation)
    task = backfills.running.get(key)
    if task is None:
        now = asyncio.get_running_loop().time()
        last = backfills.started.get(key)
        if last is not None and now - last < COOLDOWN_SECONDS:
            return
        backfills.remember(key, now)
        task = asyncio.create_task(_logged(key, work), name=f"solo-backfill {key}")
        backfills.running[key] = task
        task.add_done_callback(lambda _: backfills.running.pop(key, None))
    if wait > 0:
        await asyncio.wait({task}, timeout=wait)


async def _logged(key: str, work: Callable[[], Awaitable[None]]) -> None:
    try:
        # The budget stops each fetch at its deadline; this also bounds the database work.
        async with asyncio.timeout(BACKGROUND_SECONDS + 10):
            await work()
    except TimeoutError:
        log.info("backfill of %s ran out of time", key)
    except Exception:
        # Nobody awaits the task: an error must be seen in the log, never reach a page.
        log.exception("backfill of %s failed", key)


# Posts


@dataclass(frozen=True)
class _Post:
    """A post of a thread whose `replies` may be read; `fresh` when just fetched (a stored
    copy's embedded collection is as old as the copy)."""

    ap_id: str
    replies: Any
    fresh: bool


@dataclass(frozen=True)
class _Ref:
    """An item of a collection: the post's id, and its document when the item embeds a copy
    its collection's host vouches for."""

    object_id: str
    document: dict[str, Any] | None
    addressing: dict[str, Any] | None  # the Create's, for an object that has none


def _reference(item: Any, owner: str) -> _Ref | None:
    """What an item names: a post (bare, by id, or in a Create); None for anything else (an
    Announce is skipped for now, a Tombstone is no post)."""
    addressing = None
    if isinstance(item, dict) and "Create" in types_of(item):
        addressing = item
        item = first(item.get("object"))
    object_id = id_of(item)
    if object_id is None or authority(object_id) is None:
        return None
    if isinstance(item, dict) and types_of(item) - {"Link"} and not types_of(item) & POST_TYPES:
        return None
    if addressing is not None and not same_origin(id_of(addressing) or "", object_id):
        addressing = None
    embedded = isinstance(item, dict) and types_of(item) & POST_TYPES
    document = item if embedded and same_origin(object_id, owner) else None
    return _Ref(object_id, document, addressing)


async def _stored_post(federation: Federation, status: Status) -> _Post | None:
    """A stored remote post, with the `replies` of its stored document; None for ours (replies
    to our posts come to our inbox)."""
    if status.actor_id is None:
        return None
    raw = await statuses.get_raw(federation.db, status.id)
    try:
        document = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        document = {}
    replies = document.get("replies") if isinstance(document, dict) else None
    return _Post(status.ap_id, replies, fresh=False)


async def _resolve(
    federation: Federation, budget: Budget, ref: _Ref, *, as_user: bool = False
) -> tuple[_Post | None, NewStatus | None]:
    """The post `ref` names: (the post, None) when stored already; (the post, the status to
    store) when fetched and accepted; (None, None) when refused or out of reach. `as_user`
    signs the fetch as our user, who may be shown what the instance actor is not."""
    db = federation.db
    stored = await statuses.get_status_by_ap_id(db, ref.object_id)
    if stored is not None:
        return await _stored_post(federation, stored), None
    if authority(ref.object_id) == federation.settings.domain:
        return None, None  # ours, and gone
    if await statuses.is_tombstoned(db, ref.object_id):
        return None, None
    document = ref.document
    if document is None:
        auth = federation.user_auth if as_user else None
        document = await budget.fetch(ref.object_id, auth=auth)
        if document is None:
            return None, None
    status = await fetched_posts.accept(
        federation, budget, document, ref.addressing, purpose="backfill", for_user=as_user
    )
    if status is None:
        return None, None
    return _Post(status.ap_id, document.get("replies"), fresh=True), status


async def _store(federation: Federation, batch: list[NewStatus]) -> list[int]:
    """Store a batch in one transaction, then put each new status in the feeds."""
    if not batch:
        return []
    row_ids: list[int] = []
    async with federation.db.transaction() as conn:
        for status in batch:
            row_id = await statuses.insert_remote_status(conn, status)
            if row_id is not None:
                row_ids.append(row_id)
                await polls.store_remote(conn, row_id, status)
    for row_id in row_ids:
        await federation.feeds.status_added(row_id)
    return row_ids


# Outboxes and threads


async def _counts(federation: Federation, budget: Budget, actor: RemoteActor) -> None:
    """Record what the actor's server says of their followers, following and posts."""
    if actor.id is None:
        return
    followers, following, posts = await asyncio.gather(
        total_of(budget, actor.followers_url, actor.ap_id),
        total_of(budget, actor.following_url, actor.ap_id),
        total_of(budget, actor.outbox, actor.ap_id),
    )
    async with federation.db.transaction() as conn:
        await actor_store.set_counts(
            conn, actor.id, followers=followers, following=following, statuses=posts
        )


async def _outbox(federation: Federation, budget: Budget, actor: RemoteActor) -> list[int]:
    """Store the newest posts of the first page of the actor's outbox; their row ids."""
    if actor.outbox is None or await blocked_by_us(federation, actor):
        return []
    items = await read_items(
        budget, actor.outbox, owner=actor.ap_id, refetch=True, pages=1, limit=2 * OUTBOX_ITEMS
    )
    refs = [ref for item in items if (ref := _reference(item, actor.ap_id)) is not None]
    batch: list[NewStatus] = []
    # Oldest first: posts published within the same millisecond get ids in their real order.
    for ref in reversed(refs[:OUTBOX_ITEMS]):
        _, status = await _resolve(federation, budget, ref)
        if status is not None:
            batch.append(status)
    return await _store(federation, batch)


async def _featured(federation: Federation, budget: Budget, actor: RemoteActor) -> None:
    """Record the actor's pinned posts from their `featured` collection (fetching the ones we
    lack), with the outbox's checks: on the actor's host, by the actor, public or unlisted."""
    if actor.featured_url is None or actor.id is None or await blocked_by_us(federation, actor):
        return
    items = await read_items(
        budget,
        actor.featured_url,
        owner=actor.ap_id,
        refetch=True,
        pages=1,
        limit=2 * FEATURED_ITEMS,
    )
    refs = [ref for item in items if (ref := _reference(item, actor.ap_id)) is not None]
    refs = refs[:FEATURED_ITEMS]
    batch: list[NewStatus] = []
    for ref in reversed(refs):
        _, status = await _resolve(federation, budget, ref)
        if status is not None:
            batch.append(status)
    await _store(federation, batch)
    pinned: list[int] = []
    for ref in refs:
        stored = await statuses.get_status_by_ap_id(federation.db, ref.object_id)
        if (
            stored is not None
            and stored.actor_id == actor.id
            and stored.reblog_of_id is None
            and stored.visibility in fetched_posts.SHAREABLE
        ):
            pinned.append(stored.id)
    async with federation.db.transaction() as conn:
        await pins.replace_remote(conn, actor.id, pinned)


async def _ancestors(federation: Federation, budget: Budget, status: Status) -> list[_Post]:
    """The post and its ancestors (nearest first) whose replies may be read; the ancestors we
    lacked are fetched and stored."""
    found = await _stored_post(federation, status)
    chain = [found] if found is not None else []
    batch: list[NewStatus] = []
    seen = {status.ap_id}
    parent = status.in_reply_to_ap_id
    for _ in range(ANCESTORS):
        if parent is None or parent in seen:
            break
        seen.add(parent)
        stored = await statuses.get_status_by_ap_id(federation.db, parent)
        if stored is not None:
            found = await _stored_post(federation, stored)
            parent = stored.in_reply_to_ap_id
        else:
            # Signed as our user: the instance actor cannot show the parent's server that we
            # follow its author or are addressed, so a followers-only or direct parent would be
            # refused to it (Mastodon serves such posts by `StatusPolicy#show?`). On a
            # single-user server the instance actor names the user's domain anyway.
            found, new = await _resolve(federation, budget, _Ref(parent, None, None), as_user=True)
            if new is None:
                break  # out of reach or refused: the thread starts below it
            batch.append(new)
            parent = new.in_reply_to_ap_id
        if found is not None:
            chain.append(found)
    await _store(federation, batch)
    return chain


async def _descendants(federation: Federation, budget: Budget, chain: list[_Post]) -> None:
    """Read the replies of the thread's posts, breadth first, `REPLY_DEPTH` levels down."""
    seen = {post.ap_id for post in chain}
    level = chain
    for _ in range(REPLY_DEPTH):
        below: list[_Post] = []
        for post in level:
            if budget.spent():
                return
            if post.replies is None:
                continue
            items = await read_items(
                budget,
                post.replies,
                owner=post.ap_id,
                refetch=not post.fresh,
                pages=REPLY_PAGES,
                limit=REPLY_ITEMS,
            )
            batch: list[NewStatus] = []
            for item in items:
                ref = _reference(item, post.ap_id)
                if ref is None or ref.object_id in seen:
                    continue
                if budget.spent():
                    break
                seen.add(ref.object_id)
                found, new = await _resolve(federation, budget, ref)
                if found is not None:
                    below.append(found)
                if new is not None:
                    batch.append(new)
            await _store(federation, batch)
        level = below
