"""`/api/v1/polls/:id`: a poll (its id is its status's) and our vote in it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import polls as poll_actions
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import id_of, path_id
from solo.api.params import Params
from solo.api.refusals import refusals
from solo.api.status_entities import render_status
from solo.federation.context import Federation, federation_of


async def _poll(federation: Federation, status_id: int, caller: Caller | None) -> dict[str, Any]:
    entity = await render_status(federation, status_id, caller)
    poll: dict[str, Any] | None = (entity["reblog"] or entity)["poll"]
    if poll is None:
        raise RecordNotFound()
    return poll


@api("read:statuses", public=True)
async def show(request: Request, caller: Caller | None) -> Response:
    return JSONResponse(await _poll(federation_of(request), path_id(request, "poll_id"), caller))


@api("write:statuses")
async def vote(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    poll_id = path_id(request, "poll_id")
    poll = await _poll(federation, poll_id, caller)
    params = await Params.of(request)
    choices = []
    for raw in params.strings("choices", max_items=len(poll["options"])):
        choice = id_of(raw)
        if choice is None:
            raise ValidationFailed("choices", "must be a list of option indexes")
        choices.append(choice)
    if not choices:
        raise ValidationFailed("choices", "can't be blank")
    with refusals():
        await poll_actions.vote(federation, int(poll["id"]), choices)
    return JSONResponse(await _poll(federation, poll_id, caller))


routes: list[BaseRoute] = [
    Route("/api/v1/polls/{poll_id}", show, methods=["GET", "HEAD"]),
    Route("/api/v1/polls/{poll_id}/votes", vote, methods=["POST"]),
]
