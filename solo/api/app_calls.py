"""Endpoints that apps call at start-up or on their main screens (Elk, Phanpy, Tusky, Ice
Cubes) for features a single-user server has little of: answered with real data where Solo has
some (known peers), empty otherwise, never 404, so that an app awaiting one carries on.
Lists (`solo.api.lists`) and hashtags (`solo.api.tags`) have modules of their own."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api.auth import Caller, api
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import tag_usage

MAX_IDS: Final = 40
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


routes: list[BaseRoute] = [
    Route("/api/v2/suggestions", _empty("read"), methods=_GET),
    Route("/api/v1/suggestions", _empty("read"), methods=_GET),
    Route("/api/v1/accounts/familiar_followers", familiar_followers, methods=_GET),
    Route("/api/v1/instance/peers", peers, methods=_GET),
    Route("/api/v1/instance/rules", _empty(public=True), methods=_GET),
]
