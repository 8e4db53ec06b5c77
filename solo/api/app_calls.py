"""Endpoints that apps call at start-up or on their main screens (Elk, Phanpy, Tusky, Ice
Cubes) for features a single-user server has little of: answered with real data where Solo has
some (known peers, hashtag use), empty otherwise, never 404, so that an app
awaiting one (Elk's "add to list" dialog awaits `accounts/:id/lists`) carries on."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api.account_entities import account_by_id
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import tag_usage

MAX_IDS: Final = 40
# Mastodon's hashtag names: letters, digits, marks and underscores (HASHTAG_NAME_PAT).
_TAG_NAME = re.compile(r"^[\w·・ー]+$")
_GET = ["GET", "HEAD"]


def _empty(*scopes: str, public: bool = False) -> Any:
    if public:

        @api(*scopes, public=True)
        async def anyone(request: Request, caller: Caller | None) -> Response:
            return JSONResponse([])

        return anyone

    @api(*scopes)
    async def user(request: Request, caller: Caller) -> Response:
        return JSONResponse([])

    return user


async def _empty_about(request: Request) -> Response:
    """An empty list about an account: still 404 when the account is unknown."""
    await account_by_id(federation_of(request), str(request.path_params["id"]))
    return JSONResponse([])


@api("read:accounts", public=True)
async def featured_tags_of(request: Request, caller: Caller | None) -> Response:
    return await _empty_about(request)


@api("read:lists")
async def lists_of(request: Request, caller: Caller) -> Response:
    """The lists an account is on: Solo has no lists."""
    return await _empty_about(request)


@api(public=True)
async def peers(request: Request, caller: Caller | None) -> Response:
    return JSONResponse(await tag_usage.peers(federation_of(request).db))


@api("read:follows")
async def familiar_followers(request: Request, caller: Caller) -> Response:
    """For each `id[]`: the accounts we follow that follow it. Solo does not know who follows
    a remote account, so each list is empty; the ids come back as asked, as Mastodon's do."""
    params = await Params.of(request)
    ids = params.strings("id", max_items=MAX_IDS)
    return JSONResponse([{"id": raw_id, "accounts": []} for raw_id in ids])


@api("read:statuses", public=True)
async def tag(request: Request, caller: Caller | None) -> Response:
    """The Tag entity: its use on each of the last seven days, and `following` (Solo has no
    followed hashtags yet)."""
    name = str(request.path_params["name"]).lstrip("#")
    if not _TAG_NAME.match(name):
        raise RecordNotFound()
    federation = federation_of(request)
    history = await tag_usage.daily_uses(federation.db, name)
    return JSONResponse(
        {
            "name": name.lower(),
            "url": f"{federation.settings.base_url}/tags/{quote(name.lower(), safe='')}",
            "history": [
                {"day": str(day), "uses": str(uses), "accounts": str(accounts)}
                for day, uses, accounts in history
            ],
            "following": False,
        }
    )


routes: list[BaseRoute] = [
    Route("/api/v2/suggestions", _empty("read"), methods=_GET),
    Route("/api/v1/suggestions", _empty("read"), methods=_GET),
    Route("/api/v1/featured_tags", _empty("read:accounts"), methods=_GET),
    Route("/api/v1/featured_tags/suggestions", _empty("read:accounts"), methods=_GET),
    Route("/api/v1/accounts/familiar_followers", familiar_followers, methods=_GET),
    Route("/api/v1/accounts/{id}/featured_tags", featured_tags_of, methods=_GET),
    Route("/api/v1/accounts/{id}/lists", lists_of, methods=_GET),
    Route("/api/v1/instance/peers", peers, methods=_GET),
    Route("/api/v1/instance/rules", _empty(public=True), methods=_GET),
    Route("/api/v1/tags/{name}", tag, methods=_GET),
]
