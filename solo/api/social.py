"""Lists of what the user keeps about others: follow requests (with authorize and reject),
bookmarks, favourites, blocks and mutes. Each pages by the id of its own rows (a bookmark's,
a follow's), as Mastodon's do, so the `Link` header carries those ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, follows
from solo.api.account_entities import account_by_id, relationships, render_accounts
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import RecordNotFound
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.store import listings, mutes
from solo.store.interactions import Kind


async def _page(request: Request, *, default: int = 40, maximum: int = 80) -> PageRequest:
    return PageRequest.of(await Params.of(request), default=default, maximum=maximum)


@api("read:follows")
async def follow_requests(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    page = await _page(request)
    rows = page.arrange(await listings.follows(federation.db, "in", "pending", page))
    found = await render_accounts(federation, [row.actor_id for row in rows])
    return paged(request, found, [row.id for row in rows])


def _answer(
    answer: Callable[[Federation, str], Awaitable[None]],
) -> Callable[[Request], Awaitable[Response]]:
    @api("write:follows")
    async def endpoint(request: Request, caller: Caller) -> Response:
        federation = federation_of(request)
        actor = await account_by_id(federation, str(request.path_params["id"]))
        if actor is None:
            raise RecordNotFound()
        try:
            await answer(federation, actor.ap_id)
        except ActionError:
            raise RecordNotFound() from None  # no request from them
        (relationship,) = await relationships(federation, [actor])
        return JSONResponse(relationship)

    endpoint.__name__ = answer.__name__
    return endpoint


def _statuses(kind: Kind, scope: str) -> Callable[[Request], Awaitable[Response]]:
    @api(scope)
    async def endpoint(request: Request, caller: Caller) -> Response:
        federation = federation_of(request)
        page = await _page(request, default=20, maximum=40)
        rows = page.arrange(await listings.our_interactions(federation.db, kind, page))
        found = await render_statuses(federation, [status for _, status in rows], caller)
        return paged(request, found, [row for row, _ in rows])

    endpoint.__name__ = "bookmarks" if kind == "bookmark" else "favourites"
    return endpoint


@api("read:blocks")
async def blocks(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    page = await _page(request)
    rows = page.arrange(await listings.our_interactions(federation.db, "block", page))
    found = await render_accounts(federation, [actor for _, actor in rows])
    return paged(request, found, [row for row, _ in rows])


@api("read:mutes")
async def muted(request: Request, caller: Caller) -> Response:
    """The accounts muted; the list pages by account id."""
    federation = federation_of(request)
    page = await _page(request)
    where, args, order = page.sql("actor_id")
    rows = page.arrange(await mutes.mutes_page(federation.db, where, args, order, page.limit))
    found = await render_accounts(federation, [row.actor_id for row in rows])
    expiring = {row.actor_id: row.expires_at for row in rows}
    for entity in found:
        expires_at = expiring.get(int(entity["id"]))
        entity["mute_expires_at"] = None if expires_at is None else iso(expires_at)
    return paged(request, found, [row.actor_id for row in rows])


routes: list[BaseRoute] = [
    Route("/api/v1/follow_requests", follow_requests, methods=["GET", "HEAD"]),
    Route("/api/v1/follow_requests/{id}/authorize", _answer(follows.approve), methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", _answer(follows.reject), methods=["POST"]),
    Route("/api/v1/bookmarks", _statuses("bookmark", "read:bookmarks"), methods=["GET", "HEAD"]),
    Route("/api/v1/favourites", _statuses("like", "read:favourites"), methods=["GET", "HEAD"]),
    Route("/api/v1/blocks", blocks, methods=["GET", "HEAD"]),
    Route("/api/v1/mutes", muted, methods=["GET", "HEAD"]),
]
