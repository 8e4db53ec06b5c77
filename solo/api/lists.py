"""Lists in the client API, as Mastodon's:

    GET/POST          /api/v1/lists                 the lists; create one (title,
                                                    replies_policy, exclusive)
    GET/PUT/DELETE    /api/v1/lists/:id             one list; change it; delete it
    GET               /api/v1/lists/:id/accounts    its members, paged (limit=0: all)
    POST/DELETE       /api/v1/lists/:id/accounts    add or remove `account_ids[]`
    GET               /api/v1/timelines/list/:id    its timeline, paged
    GET               /api/v1/accounts/:id/lists    the lists an account is on

Refusals are 422 with a sentence (`solo.actions.lists.InvalidList`); an unknown list is 404.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import lists as actions
from solo.api.account_entities import account_by_id, render_accounts
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import id_of, path_id
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.store import lists as store
from solo.store.lists import List

_GET: Final = ["GET", "HEAD"]
MEMBERS_LIMIT: Final = 40
MEMBERS_MAX: Final = 80


def entity(found: List) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "title": found.title,
        "replies_policy": found.replies_policy,
        "exclusive": found.exclusive,
    }


async def _list(federation: Federation, request: Request, key: str = "id") -> List:
    found = await store.get_list(federation.db, path_id(request, key))
    if found is None:
        raise RecordNotFound()
    return found


@api("read:lists")
async def index(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    return JSONResponse([entity(found) for found in await store.all_lists(federation.db)])


@api("write:lists")
async def create(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    created = await actions.create(
        federation_of(request),
        params.string("title", max_length=actions.MAX_TITLE) or "",
        params.string("replies_policy"),
        params.boolean("exclusive"),
    )
    return JSONResponse(entity(created))


@api("read:lists")
async def show(request: Request, caller: Caller) -> Response:
    return JSONResponse(entity(await _list(federation_of(request), request)))


@api("write:lists")
async def update(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _list(federation, request)
    params = await Params.of(request)
    changed = await actions.change(
        federation,
        found,
        title=params.string("title", max_length=actions.MAX_TITLE),
        policy=params.string("replies_policy"),
        exclusive=params.optional_boolean("exclusive"),
    )
    return JSONResponse(entity(changed))


@api("write:lists")
async def delete(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    await actions.delete(federation, await _list(federation, request))
    return JSONResponse({})


@api("read:lists")
async def members(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _list(federation, request)
    params = await Params.of(request)
    if params.integer("limit", MEMBERS_LIMIT) == 0:  # Mastodon: every member at once
        rows = await store.members_page(federation.db, found.id, None)
        return JSONResponse(await render_accounts(federation, [a for _, a in rows]))
    page = PageRequest.of(params, default=MEMBERS_LIMIT, maximum=MEMBERS_MAX)
    rows = page.arrange(await store.members_page(federation.db, found.id, page))
    accounts = await render_accounts(federation, [actor_id for _, actor_id in rows])
    return paged(request, accounts, [row_id for row_id, _ in rows])


async def _account_ids(federation: Federation, params: Params) -> list[int]:
    raw = params.strings("account_ids", max_items=actions.MAX_CHANGE)
    if not raw:
        raise ValidationFailed("account_ids", "is missing")
    ids = []
    for text in raw:
        actor = await account_by_id(federation, text) if id_of(text) is not None else None
        if actor is None or actor.id is None:
            raise RecordNotFound()
        ids.append(actor.id)
    return ids


@api("write:lists")
async def add_members(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _list(federation, request)
    params = await Params.of(request)
    await actions.add_members(federation, found, await _account_ids(federation, params))
    return JSONResponse({})


@api("write:lists")
async def remove_members(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _list(federation, request)
    params = await Params.of(request)
    await actions.remove_members(federation, found, await _account_ids(federation, params))
    return JSONResponse({})


@api("read:lists")
async def timeline(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _list(federation, request, "list_id")
    page = PageRequest.of(await Params.of(request))
    ids = page.arrange(await store.timeline(federation.db, found.id, page))
    # Mastodon applies the filters of the `home` context to lists.
    return paged(request, await render_statuses(federation, ids, caller, "home"), ids)


@api("read:lists")
async def lists_of(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    actor = await account_by_id(federation, str(request.path_params["id"]))
    if actor is None or actor.id is None:
        return JSONResponse([])  # we are on none of our lists
    found = await store.lists_with(federation.db, actor.id)
    return JSONResponse([entity(each) for each in found])


routes: list[BaseRoute] = [
    Route("/api/v1/lists", index, methods=_GET),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=_GET),
    Route("/api/v1/lists/{id}", update, methods=["PUT", "PATCH"]),
    Route("/api/v1/lists/{id}", delete, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", members, methods=_GET),
    Route("/api/v1/lists/{id}/accounts", add_members, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_members, methods=["DELETE"]),
    Route("/api/v1/timelines/list/{list_id}", timeline, methods=_GET),
    Route("/api/v1/accounts/{id}/lists", lists_of, methods=_GET),
]
