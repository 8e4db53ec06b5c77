"""Scheduled posts on the web: the composer's "Publish later" field and the page listing them.

    GET  /scheduled                 waiting posts, soonest first, each with its time to change
    POST /scheduled/:id/time        move one
    POST /scheduled/:id/cancel      cancel one

Times: the form has a `datetime-local` field, which carries no time zone. Without JavaScript
it is read as UTC, and labelled so; the page's script fills `tz_offset` (the browser's offset
for the chosen date, in minutes, as `Date.getTimezoneOffset` gives it) before the form is sent,
so that the browser's local time is meant, and shows the times here in local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError
from solo.actions import scheduled as scheduled_actions
from solo.edge.templating import flash, render
from solo.federation.context import federation_of
from solo.store import media as media_store
from solo.store import scheduled as scheduled_store
from solo.store.account import Account
from solo.store.scheduled import Scheduled
from solo.web.common import form_page, id_from, login_required

SHOWN: Final = scheduled_actions.MAX_WAITING  # every waiting one fits on the page
MAX_OFFSET: Final = 16 * 60  # minutes: the widest UTC offsets are within ±14 hours
_FORMATS: Final = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")
NOT_A_TIME: Final = "Choose a date and time to publish it at, such as 2025-05-01 09:30."
GONE: Final = "That scheduled post is not waiting any more: it was published or cancelled."


def form_time(form: FormData) -> float | None:
    """The time a form's `scheduled_at` (and `tz_offset`) names; None when left empty."""
    raw = str(form.get("scheduled_at", "")).strip()
    if not raw:
        return None
    moment = None
    for pattern in _FORMATS:
        try:
            moment = datetime.strptime(raw[:32], pattern)
            break
        except ValueError:
            continue
    if moment is None:
        raise ActionError(NOT_A_TIME)
    offset_text = str(form.get("tz_offset", "")).strip()
    offset = 0
    if offset_text:
        try:
            offset = int(offset_text)
        except ValueError:
            raise ActionError("The time zone offset must be a number of minutes.") from None
        if abs(offset) > MAX_OFFSET:
            raise ActionError("The time zone offset is not one any place has.")
    # getTimezoneOffset is UTC minus local time: local + offset is UTC.
    return (moment.replace(tzinfo=UTC) + timedelta(minutes=offset)).timestamp()


def utc_field(timestamp: float) -> str:
    """A time as a `datetime-local` value in UTC (the script turns it into local time)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class ScheduledView:
    item: Scheduled
    text: str
    summary: str
    visibility: str
    attachments: int
    poll: list[str]
    field: str  # its time in the form's field, UTC


async def _views(request: Request, found: list[Scheduled]) -> list[ScheduledView]:
    db = federation_of(request).db
    media = await media_store.get_many(db, [i for s in found for i in s.media_ids])
    views = []
    for item in found:
        poll = item.params.get("poll")
        views.append(
            ScheduledView(
                item=item,
                text=str(item.params.get("text") or ""),
                summary=str(item.params.get("spoiler_text") or ""),
                visibility=str(item.params.get("visibility") or "public"),
                attachments=sum(1 for i in item.media_ids if i in media),
                poll=[str(o) for o in poll.get("options", ())] if isinstance(poll, dict) else [],
                field=utc_field(item.scheduled_at),
            )
        )
    return views


async def _page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    found = await scheduled_store.by_time(federation_of(request).db, SHOWN)
    context = {"scheduled": await _views(request, found), "error": error}
    return render(request, "scheduled.html", context, status=status)


@login_required
async def index(request: Request, account: Account) -> Response:
    return await _page(request)


def _scheduled_id(request: Request) -> int:
    found = id_from(str(request.path_params["id"]), "scheduled post")
    return 0 if found is None else found


@form_page
async def move(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    try:
        when = form_time(form)
        if when is None:
            raise ActionError(NOT_A_TIME)
        moved = await scheduled_actions.reschedule(federation, _scheduled_id(request), when)
    except ActionError as error:
        return await _page(request, error=error.message, status=error.status)
    if moved is None:
        return await _page(request, error=GONE, status=404)
    flash(request, "The post will be published at its new time.")
    return RedirectResponse("/scheduled", status_code=303)


@form_page
async def cancel(request: Request, account: Account, form: FormData) -> Response:
    if not await scheduled_actions.cancel(federation_of(request), _scheduled_id(request)):
        return await _page(request, error=GONE, status=404)
    flash(request, "Cancelled: that post will not be published.")
    return RedirectResponse("/scheduled", status_code=303)


routes: list[BaseRoute] = [
    Route("/scheduled", index, methods=["GET", "HEAD"]),
    Route("/scheduled/{id}/time", move, methods=["POST"]),
    Route("/scheduled/{id}/cancel", cancel, methods=["POST"]),
]
