"""Notification requests and the notification policy on the web.

    GET  /notifications/requests              every account with held-back notifications
    POST /notifications/requests/:id/accept   their notifications join the list
    POST /notifications/requests/:id/dismiss  their notifications are deleted
    GET/POST /settings/notifications          the policy form

The notifications page shows the first few requests itself (`held_requests`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError
from solo.actions import notification_requests as actions
from solo.edge.i18n import gettext_for
from solo.edge.templating import flash, render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.store import notification_policy as policy_store
from solo.store import notification_requests as request_store
from solo.store.account import Account
from solo.web.common import (
    Cursor,
    form_page,
    id_from,
    login_required,
    older_link,
    page_loader,
    safe_back,
)
from solo.web.views import AuthorView, NotificationView

SHOWN_EACH: Final = 3  # held notifications shown under each request
ON_NOTIFICATIONS_PAGE: Final = 5  # requests shown atop the notifications page

# The policy form: each field with what it is about, in the order shown.
POLICY_ROWS: Final = (
    ("for_not_following", "People you don't follow", ""),
    ("for_not_followers", "People who don't follow you", "or followed you less than 3 days ago"),
    ("for_new_accounts", "New accounts", "created in the last 30 days"),
    (
        "for_private_mentions",
        "Unsolicited private mentions",
        "direct messages from people you don't follow, unless they answer you",
    ),
)
CHOICES: Final = (
    ("accept", "Show"),
    ("filter", "Hold back as a request"),
    ("drop", "Ignore"),
)


@dataclass(frozen=True)
class RequestView:
    id: int
    account: AuthorView
    count: int
    notifications: list[NotificationView]


async def held_requests(
    request: Request, account: Account, found: list[request_store.NotificationRequest]
) -> list[RequestView]:
    """The requests with their latest held notifications: a fixed number of queries."""
    if not found:
        return []
    federation = federation_of(request)
    held = await request_store.held_notifications(
        federation.db, [r.actor_id for r in found], SHOWN_EACH
    )
    views = {
        view.id: view
        for view in await page_loader(request, account).notifications([n for n, _ in held])
    }
    by_actor: dict[int, list[NotificationView]] = {}
    for notification_id, actor_id in held:
        view = views.get(notification_id)
        if view is not None:
            by_actor.setdefault(actor_id, []).append(view)
    return [
        RequestView(r.id, shown[0].account, r.notifications_count, shown)
        for r in found
        if (shown := by_actor.get(r.actor_id))
    ]


async def summary_context(request: Request, account: Account, *, first: bool) -> dict[str, Any]:
    """What the notifications page shows of the requests: on its first page, the newest few
    and how many accounts have some."""
    if not first:
        return {"held_requests": [], "pending_requests": 0}
    federation = federation_of(request)
    found = await request_store.requests_page(federation.db, _Newest(ON_NOTIFICATIONS_PAGE))
    if not found:  # the usual case costs the page one query
        return {"held_requests": [], "pending_requests": 0}
    pending, _ = await request_store.summary(federation.db)
    return {
        "held_requests": await held_requests(request, account, found),
        "pending_requests": pending,
    }


@dataclass(frozen=True)
class _Newest:
    """A paging window: the newest requests, older than `max_id` when given."""

    limit: int
    max_id: int | None = None

    def sql(self, column: str) -> tuple[str, list[int], str]:
        if self.max_id is None:
            return "1", [], "DESC"
        return f"{column} < ?", [self.max_id], "DESC"


@login_required
async def requests_page(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    cursor = Cursor.of(request)
    found = await request_store.requests_page(federation.db, _Newest(cursor.fetch, cursor.max_id))
    shown, more = cursor.split(found)
    pending, held = await request_store.summary(federation.db)
    context = {
        "requests": await held_requests(request, account, shown),
        "pending": pending,
        "held": held,
        "older": older_link(request, shown[-1].id) if more else None,
    }
    return render(request, "notification_requests.html", context)


def _answer(accept: bool) -> Route:
    async def answer(request: Request, account: Account, form: FormData) -> Response:
        federation = federation_of(request)
        request_id = id_from(str(request.path_params["id"]), "request")
        found = await request_store.requests_by_ids(federation.db, [request_id or 0])
        if not found:
            raise NotFound("That request is gone: it was answered already, or its account left.")
        view = await held_requests(request, account, found)
        _ = gettext_for(request)
        who = f"@{view[0].account.handle}" if view else _("that account")
        if accept:
            await actions.accept_requests(federation, [found[0].id])
            flash(
                request,
                "Notifications from %(who)s are in your list now, and will come at once.",
                who=who,
            )
        else:
            await actions.dismiss_requests(federation, [found[0].id])
            flash(request, "Dismissed the notifications from %(who)s.", who=who)
        return RedirectResponse(safe_back(form, "/notifications/requests"), status_code=303)

    name = "accept" if accept else "dismiss"
    answer.__name__ = f"{name}_request"
    return Route(f"/notifications/requests/{{id}}/{name}", form_page(answer), methods=["POST"])


async def _policy_page(
    request: Request, *, error: str | None = None, status: int = 200
) -> Response:
    federation = federation_of(request)
    pending, held = await request_store.summary(federation.db)
    context = {
        "policy": await policy_store.get_policy(federation.db),
        "rows": POLICY_ROWS,
        "choices": CHOICES,
        "pending": pending,
        "held": held,
        "error": error,
    }
    return render(request, "notification_policy.html", context, status=status)


@login_required
async def policy_page(request: Request, account: Account) -> Response:
    return await _policy_page(request)


@form_page
async def save_policy(request: Request, account: Account, form: FormData) -> Response:
    values = {name: str(form.get(name, "")) for name in policy_store.FIELDS}
    try:
        await actions.change_policy(federation_of(request), actions.parse_changes(values))
    except ActionError as error:
        return await _policy_page(request, error=error.message, status=error.status)
    flash(request, "Your notification policy is saved; it applies to notifications from now on.")
    return RedirectResponse("/settings/notifications", status_code=303)


routes: list[BaseRoute] = [
    Route("/notifications/requests", requests_page, methods=["GET", "HEAD"]),
    _answer(accept=True),
    _answer(accept=False),
    Route("/settings/notifications", policy_page, methods=["GET", "HEAD"]),
    Route("/settings/notifications", save_policy, methods=["POST"]),
]
