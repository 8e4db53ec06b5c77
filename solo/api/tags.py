"""Hashtags in the client API: the Tag entity, followed hashtags and featured hashtags.

GET               /api/v1/tags/:name             the Tag, with `following`
POST              /api/v1/tags/:name/follow      follow it (its public posts enter home)
POST              /api/v1/tags/:name/unfollow
GET               /api/v1/followed_tags          paged by when they were followed
GET/POST          /api/v1/featured_tags          ours; feature one (`name`)
DELETE            /api/v1/featured_tags/:id
GET               /api/v1/featured_tags/suggestions  our most used tags, not yet featured
GET               /api/v1/accounts/:id/featured_tags ours; a remote account's: empty
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo import hashtags
from solo.actions import tag_follows as actions
from solo.api.account_entities import account_by_id
from solo.api.auth import Caller, api
from solo.api.entities import day
from solo.api.errors import RecordNotFound
from solo.api.ids import path_id
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.federation.context import Federation, federation_of
from solo.store import tag_follows as store
from solo.store import tag_usage
from solo.store.tag_follows import FeaturedTag

_GET: Final = ["GET", "HEAD"]
FOLLOWED_LIMIT: Final = 100
FOLLOWED_MAX: Final = 200
SUGGESTIONS: Final = 10


def tag_url(federation: Federation, name: str) -> str:
    return f"{federation.settings.base_url}/tags/{quote(name, safe='')}"


async def tag_entity(
    federation: Federation, name: str, following: bool | None, *, history: bool = True
) -> dict[str, Any]:
    """Mastodon's Tag; `following` None leaves it out (for readers without a user)."""
    uses = await tag_usage.daily_uses(federation.db, name) if history else []
    entity: dict[str, Any] = {
        "name": name,
        "url": tag_url(federation, name),
        "history": [
            {"day": str(when), "uses": str(count), "accounts": str(accounts)}
            for when, count, accounts in uses
        ],
    }
    if following is not None:
        entity["following"] = following
    return entity


def featured_entity(federation: Federation, tag: FeaturedTag) -> dict[str, Any]:
    return {
        "id": str(tag.id),
        "name": tag.display,
        "url": tag_url(federation, tag.name),
        "statuses_count": str(tag.statuses_count),  # a string, as Mastodon's (and Mastodon.py's)
        "last_status_at": day(tag.last_status_at),
    }


def _path_name(request: Request) -> str:
    name = hashtags.parse(str(request.path_params["name"]))
    if name is None:
        raise RecordNotFound()
    return name


@api("read:statuses", public=True)
async def tag(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    name = _path_name(request)
    following = None
    if caller is not None and caller.user:
        following = bool(await store.followed_names(federation.db, [name]))
    return JSONResponse(await tag_entity(federation, name, following))


@api("write:follows")
async def follow(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    name = await actions.follow(federation, _path_name(request))
    return JSONResponse(await tag_entity(federation, name, True))


@api("write:follows")
async def unfollow(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    name = await actions.unfollow(federation, _path_name(request))
    return JSONResponse(await tag_entity(federation, name, False))


@api("read:follows")
async def followed(request: Request, caller: Caller) -> Response:
    """Followed tags, newest follow first, paged by their row ids (as Mastodon's)."""
    federation = federation_of(request)
    params = await Params.of(request)
    page = PageRequest.of(params, default=FOLLOWED_LIMIT, maximum=FOLLOWED_MAX)
    rows = page.arrange(await store.followed_page(federation.db, page))
    tags = [await tag_entity(federation, row.name, True, history=False) for row in rows]
    return paged(request, tags, [row.id for row in rows])


@api("read:accounts")
async def featured(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    tags = await store.featured(federation.db)
    return JSONResponse([featured_entity(federation, tag) for tag in tags])


@api("write:accounts")
async def feature(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    text = params.required("name", max_length=hashtags.MAX_NAME + 1)
    return JSONResponse(featured_entity(federation, await actions.feature(federation, text)))


@api("write:accounts")
async def unfeature(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    await actions.unfeature(federation, path_id(request, "id"))
    return JSONResponse({})


@api("read:accounts")
async def suggestions(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    names = await store.most_used_own(federation.db, SUGGESTIONS)
    following = await store.followed_names(federation.db, names)
    return JSONResponse([await tag_entity(federation, name, name in following) for name in names])


@api("read:accounts", public=True)
async def featured_of(request: Request, caller: Caller | None) -> Response:
    """Ours for our account; a remote account's would need a fetch of its collection, which
    a profile view does not wait for: empty."""
    federation = federation_of(request)
    actor = await account_by_id(federation, str(request.path_params["id"]))
    if actor is not None:
        return JSONResponse([])
    tags = await store.featured(federation.db)
    return JSONResponse([featured_entity(federation, tag) for tag in tags])


routes: list[BaseRoute] = [
    Route("/api/v1/tags/{name}", tag, methods=_GET),
    Route("/api/v1/tags/{name}/follow", follow, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/followed_tags", followed, methods=_GET),
    Route("/api/v1/featured_tags", featured, methods=_GET),
    Route("/api/v1/featured_tags", feature, methods=["POST"]),
    Route("/api/v1/featured_tags/suggestions", suggestions, methods=_GET),
    Route("/api/v1/featured_tags/{id}", unfeature, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/featured_tags", featured_of, methods=_GET),
]
