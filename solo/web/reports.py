"""Reports on the web: the form that reports a remote account (and chosen posts of it) at
/@user@host/report, and /reports, which lists the reports other servers sent about us and the
ones we made, each with what it names and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, reports
from solo.edge.templating import flash, render
from solo.errors import NotFound
from solo.federation.context import Federation, federation_of
from solo.store import actors as actor_store
from solo.store import reports as report_store
from solo.store import statuses as status_store
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.store.reports import Delivery, Report
from solo.web.common import form_page, login_required
from solo.web.views import AuthorView, Page, StatusView, local_author, remote_author

RECENT_POSTS: Final = 20  # the account's posts offered as checkboxes
LISTED: Final = 50  # reports shown each way
CATEGORY_LABELS: Final = {
    "spam": "Spam",
    "legal": "Illegal content",
    "violation": "Breaks server rules",
    "other": "Something else",
}
DELIVERY_LABELS: Final[dict[Delivery, str]] = {
    "kept": "Kept here only",
    "sending": "Being sent to {host}",
    "delivered": "Sent to {host}",
    "failed": "Could not be delivered to {host}",
}


@dataclass(frozen=True)
class ReportView:
    report: Report
    account: AuthorView  # who sent it ('in'), or who is reported ('out')
    posts: list[StatusView]
    delivery: str  # where a report we made stands; '' for one we received

    @property
    def category(self) -> str:
        return CATEGORY_LABELS.get(self.report.category, self.report.category)


async def _actor(federation: Federation, request: Request) -> RemoteActor:
    handle = str(request.path_params["username"]).lstrip("@")
    username, _, host = handle.partition("@")
    actor = await actor_store.get_actor_by_handle(federation.db, username, host) if host else None
    if actor is None:
        raise NotFound("There is no account @%(handle)s known here to report.", handle=handle)
    return actor


def _chosen(values: list[str]) -> list[int]:
    chosen = []
    for value in values:
        if not value.isdigit() or len(value) > 19:
            raise ActionError("%(value)s is not a post id.", value=repr(value[:40]))
        chosen.append(int(value))
    return chosen


async def _form(
    request: Request,
    account: Account,
    actor: RemoteActor,
    *,
    chosen: list[int],
    typed: reports.ReportRequest | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    federation = federation_of(request)
    assert actor.id is not None
    recent = await status_store.actor_posts_page(
        federation.db, actor.id, max_id=None, limit=RECENT_POSTS
    )
    page = Page(federation, local_author(federation.settings, account))
    ids = [*(i for i in chosen if i not in recent), *recent]
    posts = [
        view
        for view in await page.statuses(ids)
        if view.boosted_by is None and view.status.actor_id == actor.id
    ]
    context: dict[str, Any] = {
        "target": remote_author(actor),
        "host": actor.domain,
        "posts": posts,
        "chosen": set(chosen),
        "form": typed or reports.ReportRequest(forward=True),
        "categories": CATEGORY_LABELS,
        "max_comment": reports.MAX_COMMENT,
        "error": error,
    }
    return render(request, "report.html", context, status=status)


@login_required
async def report_form(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    actor = await _actor(federation, request)
    chosen = _chosen(request.query_params.getlist("status"))
    return await _form(request, account, actor, chosen=chosen)


@form_page
async def send_report(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    actor = await _actor(federation, request)
    chosen = _chosen([str(v) for v in form.getlist("status")])
    typed = reports.ReportRequest(
        comment=str(form.get("comment", "")).replace("\r\n", "\n"),
        status_ids=chosen,
        forward=bool(form.get("forward")),
        category=str(form.get("category", "other")),
    )
    try:
        await reports.report(federation, actor, typed)
    except ActionError as error:
        return await _form(
            request,
            account,
            actor,
            chosen=chosen,
            typed=typed,
            error=error.message,
            status=error.status,
        )
    if typed.forward:
        flash(
            request,
            "Your report about @%(handle)s is kept here and sent to %(server)s.",
            handle=actor.handle,
            server=actor.domain,
        )
    else:
        flash(request, "Your report about @%(handle)s is kept here.", handle=actor.handle)
    return RedirectResponse("/reports", status_code=303)


async def _views(federation: Federation, page: Page, found: list[Report]) -> list[ReportView]:
    actors = await actor_store.actors_by_ids(federation.db, (r.actor_id for r in found))
    cards = {v.entry_id: v for v in await page.statuses([i for r in found for i in r.status_ids])}
    states = await report_store.delivery_states(federation.db, found)
    views = []
    for report in found:
        actor = actors.get(report.actor_id)
        if actor is None:
            continue
        label = DELIVERY_LABELS[states[report.id]] if report.direction == "out" else ""
        views.append(
            ReportView(
                report=report,
                account=remote_author(actor),
                posts=[cards[i] for i in report.status_ids if i in cards],
                delivery=label.format(host=actor.domain),
            )
        )
    return views


@login_required
async def reports_page(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    page = Page(federation, local_author(federation.settings, account))
    received = await report_store.reports_page(federation.db, "in", max_id=None, limit=LISTED)
    sent = await report_store.reports_page(federation.db, "out", max_id=None, limit=LISTED)
    context = {
        "received": await _views(federation, page, received),
        "sent": await _views(federation, page, sent),
        "listed": LISTED,
    }
    return render(request, "reports.html", context)


routes: list[BaseRoute] = [
    Route("/reports", reports_page, methods=["GET", "HEAD"]),
    Route("/@{username}/report", report_form, methods=["GET", "HEAD"]),
    Route("/@{username}/report", send_report, methods=["POST"]),
]
