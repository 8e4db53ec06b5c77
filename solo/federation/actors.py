"""Our actors and their collections: the user's Person, the instance actor, outbox and follows.

All of these are public: Mastodon fetches them unsigned (or signed by a server we do not know
yet), and the instance actor must be readable without a signature, or signed fetches recurse.
In secure mode the collections need a signature and the actor is shown whole only to a verified
signer (`fetch_gate`); blocked domains get 403 in every mode. The actor is what a stampede of
peers fetches after a big account boosts us: it is kept serialized in memory (`served`) and,
outside secure mode, carries a strong ETag and may sit in shared caches for a few minutes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.activitystreams import activity_response
from solo.errors import BadRequest, NotFound
from solo.federation import fetch_gate, served, vocab
from solo.federation.context import federation_of
from solo.instance import Instance, instance_of
from solo.store import follows as follow_store
from solo.store import pins as pin_store
from solo.store import statuses as status_store
from solo.store import tag_follows
from solo.store.account import Account, get_account

PAGE_SIZE = 20

# A page fetcher takes (max_id, limit) and returns (cursor, item) pairs, newest first.
PageFetcher = Callable[[int | None, int], Awaitable[Sequence[tuple[int, Any]]]]


async def _account(request: Request) -> tuple[Instance, Account]:
    """The instance and its account, when the path's username is ours (else NotFound) and the
    requester may read our collections (`fetch_gate`)."""
    instance = instance_of(request)
    username = request.path_params["username"]
    account = await get_account(instance.db) if username == instance.settings.username else None
    if account is None:
        raise NotFound(f"There is no account called {username} here.")
    await fetch_gate.admit(request, federation_of(request))
    return instance, account


def _answer(request: Request, document: vocab.Document) -> Response:
    return fetch_gate.private(activity_response(document), federation_of(request))


def _max_id(request: Request) -> int | None:
    raw = request.query_params.get("max_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadRequest("max_id must be a whole number.")
    return int(raw)


def _wants_page(request: Request) -> bool:
    # Mastodon writes `?page=true`; `?page=1` is the other common spelling.
    return request.query_params.get("page", "").lower() in ("true", "1")


async def _collection(
    request: Request, collection: str, total: int, fetch: PageFetcher
) -> Response:
    """The collection's front, or (with `?page=`) one page of it, cursor-paged by `max_id`."""
    if not _wants_page(request):
        return _answer(request, vocab.ordered_collection(collection, total))
    max_id = _max_id(request)
    # One more than a page tells us whether a next page exists without a second query.
    rows = list(await fetch(max_id, PAGE_SIZE + 1))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    document = vocab.ordered_collection_page(
        collection,
        [item for _, item in rows],
        max_id=max_id,
        next_max_id=rows[-1][0] if more else None,
        total=total,
    )
    return _answer(request, document)


async def person(request: Request) -> Response:
    """`GET /users/{username}` for ActivityPub peers (app.py picks this by Accept). Readable
    unsigned even in secure mode, for our key; then only a verified signer sees it whole."""
    instance = instance_of(request)
    federation = federation_of(request)
    username = request.path_params["username"]
    account = await get_account(instance.db) if username == instance.settings.username else None
    if account is None:
        raise NotFound(f"There is no account called {username} here.")
    signer = await fetch_gate.admit(request, federation, open_to_all=True)
    secure = instance.settings.secure_fetch
    minimal = secure and signer is None
    # The account row is all the actor is made from (besides settings and key, fixed while
    # running): while it is unchanged, so is the document.
    cache = served.cache_of(request)
    key = "actor:minimal" if minimal else "actor"
    entry = cache.get(key)
    if entry is None or entry.source != account:
        document = vocab.person(instance.settings, account, instance.user_keys.public_pem)
        if minimal:
            document = fetch_gate.minimal_actor(document)
        entry = cache.put(key, account, document)
    return served.answer(request, entry, shared=not secure)


async def outbox(request: Request) -> Response:
    instance, _ = await _account(request)
    settings, db = instance.settings, instance.db

    async def fetch(max_id: int | None, limit: int) -> list[tuple[int, Any]]:
        statuses = await status_store.outbox_page(db, max_id=max_id, limit=limit)
        raws = await status_store.raw_of(db, [status.id for status in statuses])
        return [
            (status.id, vocab.create(settings, status, vocab.stored_extras(raws.get(status.id))))
            for status in statuses
        ]

    total = await status_store.count_outbox(db)
    return await _collection(request, urls.outbox(settings), total, fetch)


def _follow_collection(
    direction: follow_store.Direction,
) -> Callable[[Request], Awaitable[Response]]:
    """The followers ('in') or following ('out') collection handler: accepted follows only."""

    async def endpoint(request: Request) -> Response:
        instance, _ = await _account(request)
        settings, db = instance.settings, instance.db

        async def fetch(max_id: int | None, limit: int) -> list[tuple[int, Any]]:
            page = await follow_store.accepted_page(db, direction, max_id=max_id, limit=limit)
            return [(follow.follow_id, follow.actor_ap_id) for follow in page]

        collection = urls.followers(settings) if direction == "in" else urls.following(settings)
        total = await follow_store.count_accepted(db, direction)
        return await _collection(request, collection, total, fetch)

    return endpoint


async def featured(request: Request) -> Response:
    """Our pinned posts, newest pin first, as whole Notes: Mastodon embeds them so and reads
    no pages of this collection (there are at most five)."""
    instance, _ = await _account(request)
    settings, db = instance.settings, instance.db
    pinned = [
        status
        for status_id in await pin_store.pinned_ids(db, None)
        if (status := await status_store.get_status(db, status_id)) is not None
    ]
    raws = await status_store.raw_of(db, [status.id for status in pinned])
    notes = [vocab.note(settings, s, vocab.stored_extras(raws.get(s.id))) for s in pinned]
    document = vocab.ordered_collection(urls.featured(settings), len(notes), paged=False)
    document["orderedItems"] = notes
    return _answer(request, document)


async def featured_tags(request: Request) -> Response:
    """Our featured hashtags, as Mastodon publishes them: Hashtag objects with name and href."""
    instance, _ = await _account(request)
    settings = instance.settings
    tags = await tag_follows.featured(instance.db)
    document = vocab.ordered_collection(urls.featured_tags(settings), len(tags), paged=False)
    document["orderedItems"] = [
        {
            "type": "Hashtag",
            "href": f"{settings.base_url}/tags/{quote(tag.name, safe='')}",
            "name": f"#{tag.display}",
        }
        for tag in tags
    ]
    return _answer(request, document)


async def instance_actor(request: Request) -> Response:
    """`GET /actor`: always AS2 and never behind a signature check (FEDERATION rule 11), even
    in secure mode, or signed fetches would recurse; only blocked domains are refused."""
    await fetch_gate.check_domain(request, federation_of(request))
    instance = instance_of(request)
    document = vocab.instance_actor(instance.settings, instance.instance_keys.public_pem)
    return activity_response(document)


async def instance_outbox(request: Request) -> Response:
    """The instance actor publishes nothing; its outbox exists because the actor names it."""
    await fetch_gate.check_domain(request, federation_of(request))
    collection = f"{urls.instance_actor(instance_of(request).settings)}/outbox"
    return activity_response(vocab.ordered_collection(collection, 0, paged=False))


routes: list[BaseRoute] = [
    Route(urls.INSTANCE_ACTOR_PATH, instance_actor, methods=["GET", "HEAD"]),
    Route(f"{urls.INSTANCE_ACTOR_PATH}/outbox", instance_outbox, methods=["GET", "HEAD"]),
    Route("/users/{username}/outbox", outbox, methods=["GET", "HEAD"]),
    Route("/users/{username}/followers", _follow_collection("in"), methods=["GET", "HEAD"]),
    Route("/users/{username}/following", _follow_collection("out"), methods=["GET", "HEAD"]),
    Route("/users/{username}/collections/featured", featured, methods=["GET", "HEAD"]),
    Route("/users/{username}/collections/tags", featured_tags, methods=["GET", "HEAD"]),
]
