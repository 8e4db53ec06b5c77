"""GET /api/v1/timelines/home, /public and /tag/:hashtag.

A page comes from the in-memory feed (`solo.feeds`) when memory can answer it, as the web's
timelines do, and from SQLite by the same rule otherwise (an older page, or a filter such as
`only_media` the feeds do not keep). Paging is Mastodon's: `max_id`, `since_id`, `min_id`,
`limit` and the `Link` header.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo import hashtags
from solo.api.auth import Caller, api
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.feeds import RULES, Feed
from solo.store import listings

MAX_TAGS = 4  # `any[]` beside the tag itself, as Mastodon's limit


def from_memory(feed: Feed, page: PageRequest) -> list[int] | None:
    """This page of a feed held in memory; None when it may reach past what memory keeps."""
    ids = feed.ids()
    chosen = page.window(ids)
    if not feed.full:
        return chosen  # memory holds the whole timeline
    if not page.ascending and len(chosen) == page.limit:
        return chosen  # the newest entries matching: memory keeps the newest
    lower = [cursor for cursor in (page.since_id, page.min_id) if cursor is not None]
    if lower and ids and max(lower) >= ids[-1]:
        return chosen  # everything after the cursor is in memory
    return None


async def timeline_page(
    federation: Federation, name: str, page: PageRequest, *extra: str
) -> list[int]:
    """Entry ids of a timeline (`home`, `local`, `federated`), newest first; `extra` are
    more conditions on the status `s`, which send the page to SQLite."""
    if not extra:
        await federation.feeds.expire_mutes()
        ids = from_memory(federation.feeds.timelines[name], page)
        if ids is not None:
            return ids
    return page.arrange(await listings.timeline(federation.db, RULES[name], page, *extra))


@api("read:statuses")
async def home(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    page = PageRequest.of(await Params.of(request))
    ids = await timeline_page(federation, "home", page)
    return paged(request, await render_statuses(federation, ids, caller, "home"), ids)


@api("read:statuses", public=True)
async def public(request: Request, caller: Caller | None) -> Response:
    """Public posts: ours (`local`), others' (`remote`), or every one we know of."""
    federation = federation_of(request)
    params = await Params.of(request)
    page = PageRequest.of(params)
    extra = [listings.ONLY_MEDIA] if params.boolean("only_media") else []
    if params.boolean("local"):
        ids = await timeline_page(federation, "local", page, *extra)
    elif params.boolean("remote"):
        ids = await timeline_page(federation, "federated", page, listings.REMOTE_ONLY, *extra)
    else:
        ids = await timeline_page(federation, "federated", page, *extra)
    return paged(request, await render_statuses(federation, ids, caller, "public"), ids)


@api("read:statuses", public=True)
async def tag(request: Request, caller: Caller | None) -> Response:
    """Public posts with the tag or any of `any[]`; without a user token, ours only (as the
    web's tag pages show visitors)."""
    federation = federation_of(request)
    params = await Params.of(request)
    page = PageRequest.of(params)
    given = [str(request.path_params["hashtag"]), *params.strings("any", max_items=MAX_TAGS)]
    # As Mastodon: a name that is no hashtag has no posts (and never reaches the query).
    names = [name for name in map(hashtags.parse, given) if name is not None]
    local_only = params.boolean("local") or caller is None or not caller.user
    found = (
        await listings.hashtag(
            federation.db,
            names,
            page,
            local_only=local_only,
            only_media=params.boolean("only_media"),
        )
        if names
        else []
    )
    ids = page.arrange(found)
    return paged(request, await render_statuses(federation, ids, caller, "public"), ids)


routes: list[BaseRoute] = [
    Route("/api/v1/timelines/home", home, methods=["GET", "HEAD"]),
    Route("/api/v1/timelines/public", public, methods=["GET", "HEAD"]),
    Route("/api/v1/timelines/tag/{hashtag}", tag, methods=["GET", "HEAD"]),
]
