"""RSS and Atom feeds of our posts: `/@user.rss|.atom` and `/tags/NAME.rss|.atom`.

Public to anyone, as the profile page is; answered from the last 20 posts (`?limit` up to 40)
with a validator pair so that readers polling every few minutes mostly get 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from email.utils import parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo import hashtags, urls
from solo.config import Settings
from solo.errors import BadRequest, NotFound
from solo.instance import instance_of
from solo.store import feed_posts
from solo.store import media as media_store
from solo.store.account import Account, get_account
from solo.store.statuses import Status
from solo.web.feed_xml import Channel, Enclosure, Entry, atom, rfc822, rss

Endpoint = Callable[[Request], Awaitable[Response]]

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
CACHE_CONTROL = "public, max-age=60"
FORMATS: dict[str, tuple[Callable[[Channel], bytes], str]] = {
    "rss": (rss, "application/rss+xml; charset=utf-8"),
    "atom": (atom, "application/atom+xml; charset=utf-8"),
}


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(
            "limit must be a whole number from 1 to %(max_limit)s.", max_limit=MAX_LIMIT
        ) from None
    return max(1, min(value, MAX_LIMIT))


def feed_links(settings: Settings, page: str) -> list[tuple[str, str, str]]:
    """(type, title, href) of the feeds mirroring `page` (a path without a suffix), for the
    page's `<link rel="alternate">`."""
    return [
        ("application/rss+xml", "RSS", f"{settings.base_url}{page}.rss"),
        ("application/atom+xml", "Atom", f"{settings.base_url}{page}.atom"),
    ]


async def _entries(request: Request, posts: Sequence[Status]) -> list[Entry]:
    instance = instance_of(request)
    settings = instance.settings
    media = await media_store.media_of(instance.db, [post.id for post in posts])
    return [
        Entry(
            id=post.ap_id,
            url=post.url or urls.status_page(settings, post.id),
            content_html=post.content_html,
            summary=post.summary,
            published=post.published_at,
            updated=post.edited_at or post.published_at,
            enclosures=tuple(
                Enclosure(urls.media(settings, item.storage_key), item.media_type, item.size)
                for item in media.get(post.id, [])
                if item.storage_key is not None
            ),
        )
        for post in posts
    ]


def _not_modified(request: Request, etag: str, updated: float) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent; If-Modified-Since only without it."""
    wanted = request.headers.get("if-none-match")
    if wanted is not None:
        tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        stamp = parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False  # a date we cannot read validates nothing: the full answer
    return int(updated) <= stamp


def _answer(request: Request, kind: str, channel: Channel) -> Response:
    build, media_type = FORMATS[kind]
    body = build(channel)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Last-Modified": rfc822(channel.updated),
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, etag, channel.updated):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def _updated(request: Request, account: Account, entries: Sequence[Entry]) -> float:
    instance = instance_of(request)
    ours = urls.status(instance.settings, 0).removesuffix("0")  # where our posts' ids start
    removed = await feed_posts.last_removal(instance.db, ours)
    return max([account.updated_at, removed, *(entry.updated for entry in entries)])


async def _account(request: Request) -> Account:
    instance = instance_of(request)
    name = str(request.path_params["username"])
    account = await get_account(instance.db)
    if account is None or name != instance.settings.username:
        raise NotFound("There is no account called %(name)s here.", name=name)
    return account


def _name(account: Account, settings: Settings) -> str:
    return account.display_name or settings.username


async def profile_feed(request: Request, kind: str) -> Response:
    account = await _account(request)
    instance = instance_of(request)
    settings = instance.settings
    entries = await _entries(request, await feed_posts.profile_posts(instance.db, _limit(request)))
    handle = urls.handle(settings)
    channel = Channel(
        title=f"{_name(account, settings)} (@{handle})",
        description=f"Public posts from @{handle}",
        page=urls.profile(settings),
        self_url=f"{urls.profile(settings)}.{kind}",
        author_name=_name(account, settings),
        author_uri=urls.actor(settings),
        updated=await _updated(request, account, entries),
        language=None,
        entries=entries,
    )
    return _answer(request, kind, channel)


async def tag_feed(request: Request, kind: str) -> Response:
    name = hashtags.parse(str(request.path_params["tag"]))
    if name is None:
        raise NotFound("That is not a hashtag: tags are letters, digits and underscores.")
    instance = instance_of(request)
    settings = instance.settings
    account = await get_account(instance.db)
    assert account is not None  # an initialised instance always has its account
    posts = await feed_posts.tagged_posts(instance.db, name, _limit(request))
    entries = await _entries(request, posts)
    page = f"{settings.base_url}/tags/{name}"
    channel = Channel(
        title=f"#{name} · @{urls.handle(settings)}",
        description=f"Public posts with #{name} from @{urls.handle(settings)}",
        page=page,
        self_url=f"{page}.{kind}",
        author_name=_name(account, settings),
        author_uri=urls.actor(settings),
        updated=await _updated(request, account, entries),
        language=None,
        entries=entries,
    )
    return _answer(request, kind, channel)


def _as(kind: str, build: Callable[[Request, str], Awaitable[Response]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return await build(request, kind)

    return endpoint


# Before the profile's and the tag page's routes, which would take `alice.rss` as a name.
routes: list[BaseRoute] = [
    Route(f"{path}.{kind}", _as(kind, build), methods=["GET", "HEAD"])
    for path, build in (("/@{username}", profile_feed), ("/tags/{tag}", tag_feed))
    for kind in FORMATS
]
