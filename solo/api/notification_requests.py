"""The notification policy and requests of Mastodon 4.3:

    GET/PATCH /api/v2/notifications/policy      NotificationPolicy (for_* = accept|filter|drop)
    GET/PUT/PATCH /api/v1/notifications/policy  its first shape (filter_* booleans)
    GET  /api/v1/notifications/requests         NotificationRequest, paged (40, at most 80)
    GET  /api/v1/notifications/requests/:id
    POST /api/v1/notifications/requests/:id/accept, /:id/dismiss
    POST /api/v1/notifications/requests/accept, /dismiss   with id[]
    GET  /api/v1/notifications/requests/merged  {"merged": true}: accepting merges at once

These routes come before `/api/v1/notifications/:id`, which would take "requests" for an id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import notification_requests as actions
from solo.api.account_entities import render_accounts
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import id_of, path_id
from solo.api.paging import NOTIFICATIONS_MAX_LIMIT, PageRequest, paged
from solo.api.params import Params
from solo.api.refusals import refusals
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.store import notification_policy as policy_store
from solo.store import notification_requests as request_store
from solo.store.notification_policy import FIELDS, Policy
from solo.store.notification_requests import NotificationRequest

# The first (4.3 beta) shape: filter_x true means for_x "filter", false "accept".
V1_FIELDS = {
    "filter_not_following": "for_not_following",
    "filter_not_followers": "for_not_followers",
    "filter_new_accounts": "for_new_accounts",
    "filter_private_mentions": "for_private_mentions",
}


async def _summary(federation: Federation) -> dict[str, int]:
    requests, held = await request_store.summary(federation.db)
    return {"pending_requests_count": requests, "pending_notifications_count": held}


async def policy_entity(federation: Federation, policy: Policy) -> dict[str, Any]:
    entity: dict[str, Any] = {name: getattr(policy, name) for name in FIELDS}
    entity["summary"] = await _summary(federation)
    return entity


async def v1_policy_entity(federation: Federation, policy: Policy) -> dict[str, Any]:
    entity: dict[str, Any] = {
        old: getattr(policy, new) != "accept" for old, new in V1_FIELDS.items()
    }
    entity["summary"] = await _summary(federation)
    return entity


@api("read:notifications")
async def policy(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    current = await policy_store.get_policy(federation.db)
    return JSONResponse(await policy_entity(federation, current))


@api("write:notifications")
async def update_policy(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    values = {name: params.string(name, max_length=20) for name in FIELDS}
    with refusals():
        changed = await actions.change_policy(federation, actions.parse_changes(values))
    return JSONResponse(await policy_entity(federation, changed))


@api("read:notifications")
async def v1_policy(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    current = await policy_store.get_policy(federation.db)
    return JSONResponse(await v1_policy_entity(federation, current))


@api("write:notifications")
async def v1_update_policy(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    values: dict[str, str | None] = {}
    for old, new in V1_FIELDS.items():
        chosen = params.optional_boolean(old)
        values[new] = None if chosen is None else "filter" if chosen else "accept"
    with refusals():
        changed = await actions.change_policy(federation, actions.parse_changes(values))
    return JSONResponse(await v1_policy_entity(federation, changed))


async def render_requests(
    federation: Federation, found: Sequence[NotificationRequest], caller: Caller
) -> list[dict[str, Any]]:
    """NotificationRequest entities in the order given (Mastodon's shape: `account`, and the
    count as a string); those whose account is gone are left out. A fixed number of queries."""
    accounts = {
        int(entity["id"]): entity
        for entity in await render_accounts(federation, [r.actor_id for r in found])
    }
    status_ids = [r.last_status_id for r in found if r.last_status_id is not None]
    statuses = {
        int(entity["id"]): entity
        for entity in await render_statuses(federation, status_ids, caller)
    }
    entities = []
    for item in found:
        account = accounts.get(item.actor_id)
        if account is None:
            continue
        last = None if item.last_status_id is None else statuses.get(item.last_status_id)
        entities.append(
            {
                "id": str(item.id),
                "created_at": iso(item.created_at),
                "updated_at": iso(item.updated_at),
                "notifications_count": str(item.notifications_count),
                "account": account,
                "last_status": last,
            }
        )
    return entities


@api("read:notifications")
async def requests(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    page = PageRequest.of(params, default=40, maximum=NOTIFICATIONS_MAX_LIMIT)
    found = page.arrange(await request_store.requests_page(federation.db, page))
    return paged(request, await render_requests(federation, found, caller), [r.id for r in found])


async def _one(request: Request) -> NotificationRequest:
    federation = federation_of(request)
    found = await request_store.requests_by_ids(federation.db, [path_id(request, "id")])
    if not found:
        raise RecordNotFound()
    return found[0]


@api("read:notifications")
async def one_request(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    rendered = await render_requests(federation, [await _one(request)], caller)
    if not rendered:
        raise RecordNotFound()
    return JSONResponse(rendered[0])


@api("write:notifications")
async def accept_one(request: Request, caller: Caller) -> Response:
    found = await _one(request)
    await actions.accept_requests(federation_of(request), [found.id])
    return JSONResponse({})


@api("write:notifications")
async def dismiss_one(request: Request, caller: Caller) -> Response:
    found = await _one(request)
    await actions.dismiss_requests(federation_of(request), [found.id])
    return JSONResponse({})


async def _ids(request: Request) -> list[int]:
    params = await Params.of(request)
    raw = params.strings("id", max_items=actions.MAX_AT_ONCE)
    if not raw:
        raise ValidationFailed("id", "can't be blank")
    ids = [id_of(value) for value in raw]
    # Ids that name no request are passed over, as Mastodon does; a malformed one is refused.
    if any(found is None for found in ids):
        raise ValidationFailed("id", "must be a list of request ids")
    return [found for found in ids if found is not None]


@api("write:notifications")
async def accept_many(request: Request, caller: Caller) -> Response:
    ids = await _ids(request)
    with refusals():
        await actions.accept_requests(federation_of(request), ids)
    return JSONResponse({})


@api("write:notifications")
async def dismiss_many(request: Request, caller: Caller) -> Response:
    ids = await _ids(request)
    with refusals():
        await actions.dismiss_requests(federation_of(request), ids)
    return JSONResponse({})


@api("read:notifications")
async def merged(request: Request, caller: Caller) -> Response:
    return JSONResponse({"merged": True})


_GET = ["GET", "HEAD"]
routes: list[BaseRoute] = [
    Route("/api/v2/notifications/policy", policy, methods=_GET),
    Route("/api/v2/notifications/policy", update_policy, methods=["PATCH"]),
    Route("/api/v1/notifications/policy", v1_policy, methods=_GET),
    Route("/api/v1/notifications/policy", v1_update_policy, methods=["PUT", "PATCH"]),
    Route("/api/v1/notifications/requests", requests, methods=_GET),
    Route("/api/v1/notifications/requests/merged", merged, methods=_GET),
    Route("/api/v1/notifications/requests/accept", accept_many, methods=["POST"]),
    Route("/api/v1/notifications/requests/dismiss", dismiss_many, methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}", one_request, methods=_GET),
    Route("/api/v1/notifications/requests/{id}/accept", accept_one, methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}/dismiss", dismiss_one, methods=["POST"]),
]
