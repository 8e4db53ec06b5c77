"""What clients read at start-up and Solo keeps little or nothing of: read markers (kept),
preferences, and the lists Solo has no use for as a single-user server (custom emoji of our
own, announcements, trends), answered empty so
that strict clients (Tusky calls several at start-up) carry on."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import ValidationFailed
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import markers as marker_store
from solo.store.markers import Marker

MAX_MARKER_ID: Final = 64


def _marker(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": marker.last_read_id,
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }


@api("read:statuses")
async def markers(request: Request, caller: Caller) -> Response:
    """`timeline[]=home&timeline[]=notifications`: the markers set of those asked for."""
    params = await Params.of(request)
    wanted = params.strings("timeline", max_items=len(marker_store.TIMELINES))
    found = await marker_store.markers(federation_of(request).db, wanted)
    return JSONResponse({marker.timeline: _marker(marker) for marker in found})


@api("write:statuses")
async def set_markers(request: Request, caller: Caller) -> Response:
    """`home[last_read_id]=…` and/or `notifications[last_read_id]=…`; answers those set."""
    params = await Params.of(request)
    changes = []
    for timeline in marker_store.TIMELINES:
        if timeline in params:
            nested = params.nested(timeline)
            last_read_id = nested.required("last_read_id", max_length=MAX_MARKER_ID).strip()
            changes.append((timeline, last_read_id))
    if not changes:
        raise ValidationFailed("home", "or notifications must be given")
    async with federation_of(request).db.transaction() as conn:
        saved = [await marker_store.set_marker(conn, name, value) for name, value in changes]
    return JSONResponse({marker.timeline: _marker(marker) for marker in saved})


@api("read:accounts")
async def preferences(request: Request, caller: Caller) -> Response:
    return JSONResponse(
        {
            "posting:default:visibility": "public",
            "posting:default:sensitive": False,
            "posting:default:language": None,
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
            "reading:autoplay:gifs": False,
        }
    )


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


_GET = ["GET", "HEAD"]

routes: list[BaseRoute] = [
    Route("/api/v1/markers", markers, methods=_GET),
    Route("/api/v1/markers", set_markers, methods=["POST"]),
    Route("/api/v1/preferences", preferences, methods=_GET),
    Route("/api/v1/custom_emojis", _empty(public=True), methods=_GET),
    Route("/api/v1/announcements", _empty("read"), methods=_GET),
    Route("/api/v1/trends", _empty(public=True), methods=_GET),
    Route("/api/v1/trends/tags", _empty(public=True), methods=_GET),
    Route("/api/v1/trends/statuses", _empty(public=True), methods=_GET),
    Route("/api/v1/trends/links", _empty(public=True), methods=_GET),
    Route("/api/v1/endorsements", _empty("read:accounts"), methods=_GET),
]
