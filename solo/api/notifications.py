"""Notifications: the Notification entity and GET /api/v1/notifications (with `types[]`,
`exclude_types[]`, `account_id`, `include_filtered` and paging up to 80), GET /:id, POST /clear,
POST /:id/dismiss.

    await render_notifications(federation, notification_ids, caller)   # also for streaming

Notifications of accounts we block, or mute with their notifications, are left out; so are those
the notification policy holds back, unless `include_filtered=true`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api.account_entities import account_by_id, own_account, render_accounts
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import RecordNotFound
from solo.api.ids import path_id
from solo.api.paging import NOTIFICATIONS_MAX_LIMIT, PageRequest, paged
from solo.api.params import Params
from solo.api.reports import render_reports
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.store import listings
from solo.store import notifications as notification_store
from solo.store import reports as report_store

MAX_TYPES = 20
REPORT = "admin.report"


async def render_notifications(
    federation: Federation, notification_ids: Sequence[int], caller: Caller
) -> list[dict[str, Any]]:
    """The Notification entities, in the order given; those whose account or post is gone
    (or whose post a `hide` filter of the notifications context removes) are left out. A
    fixed number of queries, whatever their number."""
    if not notification_ids:
        return []
    found = {
        n.id: n
        for n in await notification_store.notifications_by_ids(federation.db, notification_ids)
    }
    actor_ids = list(dict.fromkeys(n.actor_id for n in found.values() if n.actor_id is not None))
    accounts = {
        int(entity["id"]): entity for entity in await render_accounts(federation, actor_ids)
    }
    own = await own_account(federation) if any(n.actor_id is None for n in found.values()) else None
    status_ids = list(dict.fromkeys(n.status_id for n in found.values() if n.status_id is not None))
    statuses = {
        int(entity["id"]): entity
        for entity in await render_statuses(federation, status_ids, caller, "notifications")
    }
    reports = await _reports(federation, [n.id for n in found.values() if n.type == REPORT])
    entities = []
    for notification_id in notification_ids:
        notification = found.get(notification_id)
        if notification is None:
            continue
        account = own if notification.actor_id is None else accounts.get(notification.actor_id)
        status = None if notification.status_id is None else statuses.get(notification.status_id)
        if account is None or (notification.status_id is not None and status is None):
            continue  # its account or post is gone
        entity = {
            "id": str(notification.id),
            "type": notification.type,
            "created_at": iso(notification.created_at),
            "group_key": f"ungrouped-{notification.id}",
            "account": account,
            "status": status,
        }
        if notification.type == "move":
            # The old account is `account`; where it went is its `moved` (and `target`).
            entity["target"] = account.get("moved")
        if notification.type == REPORT:  # Mastodon adds `report` to these only
            entity["report"] = reports.get(notification.id)
            if entity["report"] is None:
                continue
        entities.append(entity)
    return entities


async def _reports(federation: Federation, notification_ids: list[int]) -> dict[int, Any]:
    """The Report entities of `admin.report` notifications, by notification id."""
    if not notification_ids:
        return {}
    found = await report_store.by_notifications(federation.db, notification_ids)
    rendered = {int(e["id"]): e for e in await render_reports(federation, list(found.values()))}
    return {n: rendered[r.id] for n, r in found.items() if r.id in rendered}


@api("read:notifications")
async def notifications(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    page = PageRequest.of(params, default=40, maximum=NOTIFICATIONS_MAX_LIMIT)
    types = params.strings("types", max_items=MAX_TYPES)
    exclude = params.strings("exclude_types", max_items=MAX_TYPES)
    account_id = params.string("account_id")
    include_filtered = params.boolean("include_filtered")
    actor_id = None
    if account_id:
        try:
            actor = await account_by_id(federation, account_id)
        except RecordNotFound:
            return paged(request, [], [])
        if actor is None:  # ours: only the end of our own polls, which Solo does not list
            return paged(request, [], [])
        actor_id = actor.id
    ids = page.arrange(
        await listings.notifications(
            federation.db,
            page,
            types=types,
            exclude_types=exclude,
            actor_id=actor_id,
            include_filtered=include_filtered,
        )
    )
    return paged(request, await render_notifications(federation, ids, caller), ids)


def _notification_id(request: Request) -> int:
    return path_id(request, "id")


@api("read:notifications")
async def notification(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await render_notifications(federation, [_notification_id(request)], caller)
    if not found:
        raise RecordNotFound()
    return JSONResponse(found[0])


@api("write:notifications")
async def clear(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    async with federation.db.transaction() as conn:
        await notification_store.clear(conn)
    await federation.feeds.rebuild_notifications()
    return JSONResponse({})


@api("write:notifications")
async def dismiss(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    notification_id = _notification_id(request)
    async with federation.db.transaction() as conn:
        removed = await notification_store.dismiss(conn, notification_id)
    if not removed:
        raise RecordNotFound()
    await federation.feeds.rebuild_notifications()
    return JSONResponse({})


routes: list[BaseRoute] = [
    Route("/api/v1/notifications", notifications, methods=["GET", "HEAD"]),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{id}", notification, methods=["GET", "HEAD"]),
    Route("/api/v1/notifications/{id}/dismiss", dismiss, methods=["POST"]),
]
