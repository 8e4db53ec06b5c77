"""`/api/v1/media` and `/api/v2/media`: uploads for posts not yet written, read and described.

An upload is checked, processed and stored at once (`solo.actions.media.upload`), so v2
answers 200 with its `url` set, never 202. What the file is comes from its bytes: toot sends
the part without a content type. A file too large answers 413, one we cannot read 422; nothing
is stored then.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import media as media_actions
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import path_id
from solo.api.params import Params
from solo.api.refusals import refusals
from solo.api.status_parts import media_attachment
from solo.federation.context import Federation, federation_of
from solo.store import media as media_store
from solo.store.media import Media


@api("write:media")
async def upload(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    file = params.file("file")
    if file is None:
        raise ValidationFailed("file", "can't be blank")
    data = await file.read()
    declared = (file.content_type or "").split(";")[0].strip().lower()
    with refusals():
        item = await media_actions.upload(
            federation,
            data,
            filename=file.filename or "",
            declared_type="" if declared == "application/octet-stream" else declared,
            description=params.string("description") or "",
            focus=params.string("focus") or "",
        )
    return JSONResponse(media_attachment(federation, item))


async def _upload_of(federation: Federation, media_id: int) -> Media:
    """One of our uploads, else RecordNotFound."""
    item = await media_store.get_media(federation.db, media_id)
    if item is None or not item.local:
        raise RecordNotFound()
    return item


@api("write:media")
async def show(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    item = await _upload_of(federation, path_id(request, "media_id"))
    return JSONResponse(media_attachment(federation, item))


@api("write:media")
async def update(request: Request, caller: Caller) -> Response:
    """Change the alt text or focal point of an upload not yet posted (a posted one changes
    through the status's edit, which tells its readers)."""
    federation = federation_of(request)
    item = await _upload_of(federation, path_id(request, "media_id"))
    if item.status_id is not None:
        raise RecordNotFound()
    params = await Params.of(request)
    description = params.string("description")
    focus = params.string("focus")
    with refusals():
        changed = await media_actions.describe(
            federation, item.id, item.description if description is None else description, focus
        )
    return JSONResponse(media_attachment(federation, changed))


routes: list[BaseRoute] = [
    Route("/api/v1/media", upload, methods=["POST"]),
    Route("/api/v2/media", upload, methods=["POST"]),
    Route("/api/v1/media/{media_id}", show, methods=["GET", "HEAD"]),
    Route("/api/v1/media/{media_id}", update, methods=["PUT"]),
]
