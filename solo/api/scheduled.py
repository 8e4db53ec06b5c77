"""Scheduled posts in the client API: `POST /api/v1/statuses` with `scheduled_at` answers a
ScheduledStatus (never a Status: a client would take it for a post made), and
`/api/v1/scheduled_statuses` lists them (paged by id), shows one, moves one (`PUT` with a new
`scheduled_at`) and cancels one (`DELETE`). Refusals are Mastodon's 422s
(`solo.actions.scheduled`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import scheduled as scheduled_actions
from solo.actions.polls import PollDraft
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import path_id
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.refusals import refusals
from solo.api.status_parts import media_attachment
from solo.federation.context import Federation, federation_of
from solo.store import media as media_store
from solo.store import scheduled as scheduled_store
from solo.store.scheduled import Scheduled

MAX_DATE_LENGTH: Final = 64
NOT_A_DATE: Final = "is not a date and time (ISO 8601, such as 2025-05-01T12:00:00Z)"


def parse_time(raw: str) -> float:
    """An ISO 8601 date and time, UTC when it names no offset; ValidationFailed otherwise."""
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("scheduled_at", NOT_A_DATE) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def wanted_time(params: Params) -> float | None:
    """The `scheduled_at` asked for, or None to post at once (absent or empty)."""
    raw = params.string("scheduled_at", max_length=MAX_DATE_LENGTH)
    if raw is None or not raw.strip():
        return None
    return parse_time(raw)


async def render_scheduled(federation: Federation, items: list[Scheduled]) -> list[dict[str, Any]]:
    """ScheduledStatus entities, with their uploads as MediaAttachments (one query)."""
    media = await media_store.get_many(
        federation.db, list(dict.fromkeys(i for item in items for i in item.media_ids))
    )
    return [
        {
            "id": str(item.id),
            "scheduled_at": iso(item.scheduled_at),
            "params": item.params,
            "media_attachments": [
                media_attachment(federation, media[i]) for i in item.media_ids if i in media
            ],
        }
        for item in items
    ]


async def create(
    federation: Federation,
    scheduled_at: float,
    *,
    text: str,
    visibility: str,
    summary: str,
    sensitive: bool,
    in_reply_to: int | None,
    language: str | None,
    media_ids: list[int],
    poll: PollDraft | None,
    caller: Caller,
    idempotency: str | None,
) -> Response:
    """`POST /api/v1/statuses` with a `scheduled_at`: the ScheduledStatus it made."""
    draft = scheduled_actions.Draft(
        text=text,
        visibility=visibility,
        summary=summary,
        sensitive=sensitive,
        in_reply_to=in_reply_to,
        language=(language or "").strip() or None,
        media_ids=tuple(media_ids),
        poll=poll,
        application_id=caller.token.app_id,
        idempotency=idempotency,
    )
    with refusals():
        made = await scheduled_actions.schedule(federation, draft, scheduled_at)
    return JSONResponse((await render_scheduled(federation, [made]))[0])


@api("read:statuses")
async def index(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    page = PageRequest.of(await Params.of(request))
    where, args, order = page.sql("id")
    found = page.arrange(
        await scheduled_store.page(
            federation.db, where=where, args=args, order=order, limit=page.limit
        )
    )
    return paged(request, await render_scheduled(federation, found), [s.id for s in found])


async def _waiting(federation: Federation, request: Request) -> Scheduled:
    found = await scheduled_store.get(federation.db, path_id(request, "id"))
    if found is None:
        raise RecordNotFound()
    return found


@api("read:statuses")
async def show(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _waiting(federation, request)
    return JSONResponse((await render_scheduled(federation, [found]))[0])


@api("write:statuses")
async def move(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _waiting(federation, request)
    when = wanted_time(await Params.of(request))
    if when is None:
        raise ValidationFailed("scheduled_at", "is missing")
    with refusals():
        moved = await scheduled_actions.reschedule(federation, found.id, when)
    if moved is None:
        raise RecordNotFound()  # published or cancelled meanwhile
    return JSONResponse((await render_scheduled(federation, [moved]))[0])


@api("write:statuses")
async def cancel(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    found = await _waiting(federation, request)
    if not await scheduled_actions.cancel(federation, found.id):
        raise RecordNotFound()
    return JSONResponse({})


routes: list[BaseRoute] = [
    Route("/api/v1/scheduled_statuses", index, methods=["GET", "HEAD"]),
    Route("/api/v1/scheduled_statuses/{id}", show, methods=["GET", "HEAD"]),
    Route("/api/v1/scheduled_statuses/{id}", move, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{id}", cancel, methods=["DELETE"]),
]
