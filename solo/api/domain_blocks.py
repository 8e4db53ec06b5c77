"""`/api/v1/domain_blocks`: the domains we block, as Mastodon answers it (a list of strings,
paged by the block's id with `Link` headers), and blocking or unblocking one with `domain=`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import domain_blocks as actions
from solo.api.auth import Caller, api
from solo.api.errors import ValidationFailed
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import domain_blocks as store


@api("read:blocks")
async def listed(request: Request, caller: Caller) -> Response:
    page = PageRequest.of(await Params.of(request), default=100, maximum=200)
    rows = page.arrange(await store.page(federation_of(request).db, page))
    return paged(request, [row.domain for row in rows], [row.id for row in rows])


async def _domain(request: Request) -> str:
    params = await Params.of(request)
    text = params.required("domain", max_length=2 * actions.MAX_DOMAIN)
    try:
        return actions.normalize(text, federation_of(request).settings.domain)
    except actions.InvalidDomain as error:
        raise ValidationFailed("Domain", str(error)[:1].lower() + str(error)[1:]) from None


@api("write:blocks")
async def block(request: Request, caller: Caller) -> Response:
    """Mastodon answers an empty object; blocking twice is harmless."""
    domain = await _domain(request)
    await actions.block(federation_of(request), [(domain, "")])
    return JSONResponse({})


@api("write:blocks")
async def unblock(request: Request, caller: Caller) -> Response:
    domain = await _domain(request)
    await actions.unblock(federation_of(request), domain)
    return JSONResponse({})


routes: list[BaseRoute] = [
    Route("/api/v1/domain_blocks", listed, methods=["GET", "HEAD"]),
    Route("/api/v1/domain_blocks", block, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock, methods=["DELETE"]),
]
