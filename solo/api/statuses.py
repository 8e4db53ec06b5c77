"""`/api/v1/statuses`: post, read, edit and delete statuses, and what clients do to them
(favourite, boost, bookmark, pin and their undoing); who favourited or boosted one.

Everything is done by the app's own actions (`solo.actions`), as the web's forms do it; their
refusals answer 422 (`solo.api.refusals`). An id we do not have, or one the caller may not
read, answers 404 `{"error": "Record not found"}`.

A post sent with an `Idempotency-Key` header is made once: the same key within an hour answers
the status the first request made (`solo.store.idempotency`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, get_args

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import bookmarks, conversations, interactions, pins
from solo.actions import media as media_actions
from solo.actions import statuses as status_actions
from solo.actions.polls import DEFAULT_EXPIRY, PollDraft
from solo.api import entities
from solo.api import scheduled as scheduled_api
from solo.api.auth import Caller, Endpoint, api
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import id_of, path_id
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.refusals import ActionRefused, refusals
from solo.api.status_entities import (
    render_context,
    render_status,
    thread_root,
    with_source,
)
from solo.api.status_history import history
from solo.federation.context import Federation, federation_of
from solo.media.upload import MAX_ATTACHMENTS
from solo.store import actors as actor_store
from solo.store import idempotency
from solo.store import media as media_store
from solo.store import statuses as status_store
from solo.store.account import get_account
from solo.store.counts import account_counts
from solo.store.status_people import people_page
from solo.store.statuses import Status, Visibility

IDEMPOTENCY_LIFETIME: Final = 3600.0
MAX_KEY_LENGTH: Final = 256
VISIBILITIES: Final = get_args(Visibility)
REPLY_GONE: Final = "The post you are trying to reply to does not appear to exist."


def _media_ids(params: Params) -> list[int]:
    ids = []
    for raw in params.strings("media_ids", max_items=MAX_ATTACHMENTS):
        found = id_of(raw)
        if found is None:
            raise ValidationFailed("media_ids", "must be a list of attachment ids")
        ids.append(found)
    return ids


def _poll(params: Params) -> PollDraft | None:
    poll = params.nested("poll")
    if "options" not in poll:
        return None
    poll.boolean("hide_totals")  # accepted and checked; our polls always show their totals
    return PollDraft(
        options=tuple(poll.strings("options", max_items=20)),
        multiple=poll.boolean("multiple"),
        expires_in=poll.integer("expires_in", DEFAULT_EXPIRY),
    )


def _visibility(params: Params) -> str:
    visibility = (params.string("visibility") or "").strip() or "public"
    if visibility not in VISIBILITIES:
        raise ValidationFailed("visibility", f"must be one of {', '.join(VISIBILITIES)}")
    return visibility


async def _reply_target(federation: Federation, params: Params, caller: Caller) -> int | None:
    raw = params.string("in_reply_to_id")
    if raw is None or not raw.strip():
        return None
    found = id_of(raw)
    status = None if found is None else await status_store.get_status(federation.db, found)
    if status is None or status.deleted_at is not None:
        raise RecordNotFound(REPLY_GONE)
    return status.id


async def _make_post(federation: Federation, params: Params, caller: Caller) -> Status:
    text = params.string("status") or ""
    media_ids = _media_ids(params)
    poll = _poll(params)
    visibility = _visibility(params)
    summary = params.string("spoiler_text") or ""
    sensitive = params.boolean("sensitive")
    language = params.string("language", max_length=16)
    in_reply_to = await _reply_target(federation, params, caller)
    with refusals():
        return await status_actions.post(
            federation,
            text,
            visibility=visibility,
            summary=summary,
            sensitive=sensitive,
            in_reply_to=in_reply_to,
            language=language,
            media_ids=media_ids,
            poll=poll,
        )


@api("write:statuses")
async def create(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed("Idempotency-Key", f"is too long (maximum is {MAX_KEY_LENGTH})")
    scheduled_at = scheduled_api.wanted_time(params)
    if scheduled_at is not None:
        # Kept with the scheduled post, not claimed: its answer is no Status to repeat.
        return await scheduled_api.create(
            federation,
            scheduled_at,
            text=params.string("status") or "",
            visibility=_visibility(params),
            summary=params.string("spoiler_text") or "",
            sensitive=params.boolean("sensitive"),
            in_reply_to=await _reply_target(federation, params, caller),
            language=params.string("language", max_length=16),
            media_ids=_media_ids(params),
            poll=_poll(params),
            caller=caller,
            idempotency=key or None,
        )
    if not key:
        status = await _make_post(federation, params, caller)
        return JSONResponse(await render_status(federation, status.id, caller))
    # Keys are the app's own: two apps choosing the same key make two posts.
    key = f"{caller.token.app_id}:{key}"
    claim = await idempotency.claim(
        federation.db, key, now=time.time(), lifetime=IDEMPOTENCY_LIFETIME
    )
    if not claim.fresh:
        if claim.status_id is None:
            raise ActionRefused("a request with this Idempotency-Key is still being made")
        return JSONResponse(await render_status(federation, claim.status_id, caller))
    try:
        status = await _make_post(federation, params, caller)
    except BaseException:
        await idempotency.release(federation.db, key)
        raise
    await idempotency.fulfil(federation.db, key, status.id)
    return JSONResponse(await render_status(federation, status.id, caller))


@api("read:statuses", public=True)
async def show(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    return JSONResponse(await render_status(federation, path_id(request), caller))


async def _own(federation: Federation, status_id: int) -> Status:
    """One of our posts (not a boost), else RecordNotFound."""
    status = await status_store.get_status(federation.db, status_id)
    if (
        status is None
        or status.deleted_at is not None
        or status.actor_id is not None
        or status.reblog_of_id is not None
    ):
        raise RecordNotFound()
    return status


@api("write:statuses")
async def delete(request: Request, caller: Caller) -> Response:
    """Delete one of ours: the answer is the status as it was, with its source `text` (for
    "delete and redraft"). Our boost's id takes the boost back."""
    federation = federation_of(request)
    status_id = path_id(request)
    found = await status_store.get_status(federation.db, status_id)
    if found is not None and found.actor_id is None and found.reblog_of_id is not None:
        entity = await render_status(federation, status_id, caller)
        with refusals():
            await interactions.unboost(federation, found.reblog_of_id)
        return JSONResponse(entity)
    status = await _own(federation, status_id)
    entity = with_source(await render_status(federation, status.id, caller), status)
    with refusals():
        await status_actions.delete(federation, status.id)
    return JSONResponse(entity)


async def _describe_all(
    federation: Federation,
    status: Status,
    attributes: list[Params],
    media_ids: Sequence[int] | None,
) -> list[tuple[int, str, str]]:
    """Change the alt text and focal points of a post's attachments (and of the fresh uploads
    the edit adds); what they were, to restore if the edit is refused."""
    attached = {
        item.id: item
        for item in (await media_store.media_of(federation.db, [status.id])).get(status.id, [])
    }
    fresh = await media_store.get_many(federation.db, list(media_ids or ()))
    attached.update(
        {key: item for key, item in fresh.items() if item.local and item.status_id is None}
    )
    changes = []
    for attribute in attributes:
        media_id = id_of(attribute.string("id") or "")
        item = None if media_id is None else attached.get(media_id)
        if item is None:
            raise ValidationFailed("media_attributes", "names an attachment not on this post")
        description = attribute.string("description")
        focus = attribute.string("focus")
        changes.append((item.id, item.description if description is None else description, focus))
    before = [
        (media_id, attached[media_id].description, _focus_text(attached[media_id]))
        for media_id, _, _ in changes
    ]
    with refusals():
        for media_id, description, focus in changes:
            await media_actions.describe(federation, media_id, description, focus)
    return before


def _focus_text(item: media_store.Media) -> str:
    return f"{item.focus_x},{item.focus_y}"


def _attributes(params: Params) -> list[Params]:
    value = params.raw("media_attributes")
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise ValidationFailed("media_attributes", "must be a list of objects")
    return [Params(item, "media_attributes[]") for item in items]


@api("write:statuses")
async def edit(request: Request, caller: Caller) -> Response:
    """Edit one of ours: its text, content warning and sensitivity, its attachments
    (`media_ids`: kept, reordered, removed or new uploads) and their alt text
    (`media_attributes`). A poll cannot change."""
    federation = federation_of(request)
    status = await _own(federation, path_id(request))
    params = await Params.of(request)
    text = params.string("status")
    summary = params.string("spoiler_text")
    sensitive = params.optional_boolean("sensitive")
    media_ids = _media_ids(params) if "media_ids" in params else None
    before = await _describe_all(federation, status, _attributes(params), media_ids)
    try:
        with refusals():
            await status_actions.edit(
                federation,
                status.id,
                status.source_text or "" if text is None else text,
                summary=summary,
                sensitive=sensitive,
                media_ids=media_ids,
            )
    except ActionRefused:
        for media_id, description, focus in before:
            await media_actions.describe(federation, media_id, description, focus)
        raise
    return JSONResponse(await render_status(federation, status.id, caller))


@api("read:statuses", public=True)
async def context(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    return JSONResponse(await render_context(federation, path_id(request), caller))


@api("read:statuses")
async def source(request: Request, caller: Caller) -> Response:
    """What one of our posts was typed as, for an edit form."""
    status = await _own(federation_of(request), path_id(request))
    return JSONResponse(
        {"id": str(status.id), "text": status.source_text or "", "spoiler_text": status.summary}
    )


Action = Callable[[Federation, int], Awaitable[Status]]


def _acting(scope: str, action: Action) -> Endpoint:
    """The endpoint of a button on a post: `action` on a post the caller may read; the answer
    is the post the action returns (for a boost: the boost, with the post inside)."""

    @api(scope)
    async def endpoint(request: Request, caller: Caller) -> Response:
        federation = federation_of(request)
        status_id = path_id(request)
        await thread_root(federation, status_id, caller)
        with refusals():
            status = await action(federation, status_id)
        return JSONResponse(await render_status(federation, status.id, caller))

    return endpoint


# The buttons on a post: (name, scope, action).
BUTTONS: Final[tuple[tuple[str, str, Action], ...]] = (
    ("favourite", "write:favourites", interactions.favourite),
    ("unfavourite", "write:favourites", interactions.unfavourite),
    ("reblog", "write:statuses", interactions.boost),
    ("unreblog", "write:statuses", interactions.unboost),
    ("bookmark", "write:bookmarks", bookmarks.bookmark),
    ("unbookmark", "write:bookmarks", bookmarks.unbookmark),
    ("pin", "write:accounts", pins.pin),
    ("unpin", "write:accounts", pins.unpin),
    ("mute", "write:mutes", conversations.mute),
    ("unmute", "write:mutes", conversations.unmute),
)


async def _people(request: Request, caller: Caller | None, kind: str) -> Response:
    """The accounts that favourited (`like`) or boosted (`announce`) a post, newest first."""
    federation = federation_of(request)
    status = await thread_root(federation, path_id(request), caller)
    page = PageRequest.of(await Params.of(request))
    where, args, order = page.sql("id")
    rows = page.arrange(
        await people_page(
            federation.db,
            "like" if kind == "like" else "announce",
            status.id,
            where=where,
            args=args,
            order=order,
            limit=page.limit,
        )
    )
    actors = await actor_store.actors_by_ids(
        federation.db, (row.actor_id for row in rows if row.actor_id is not None)
    )
    me: dict[str, Any] | None = None
    if any(row.actor_id is None for row in rows):
        account = await get_account(federation.db)
        if account is not None:
            counts = await account_counts(federation.db)
            me = entities.local_account(federation.settings, account, counts)
    accounts = []
    for row in rows:
        if row.actor_id is None:
            if me is not None:
                accounts.append(me)
        elif (actor := actors.get(row.actor_id)) is not None:
            accounts.append(
                entities.remote_account(federation.settings, actor, federation.media.proxy_url)
            )
    return paged(request, accounts, [row.id for row in rows])


@api("read:accounts", public=True)
async def favourited_by(request: Request, caller: Caller | None) -> Response:
    return await _people(request, caller, "like")


@api("read:accounts", public=True)
async def reblogged_by(request: Request, caller: Caller | None) -> Response:
    return await _people(request, caller, "announce")


routes: list[BaseRoute] = [
    Route("/api/v1/statuses", create, methods=["POST"]),
    Route("/api/v1/statuses/{status_id}", show, methods=["GET", "HEAD"]),
    Route("/api/v1/statuses/{status_id}", delete, methods=["DELETE"]),
    Route("/api/v1/statuses/{status_id}", edit, methods=["PUT"]),
    Route("/api/v1/statuses/{status_id}/context", context, methods=["GET", "HEAD"]),
    Route("/api/v1/statuses/{status_id}/source", source, methods=["GET", "HEAD"]),
    Route("/api/v1/statuses/{status_id}/history", history, methods=["GET", "HEAD"]),
    *(
        Route(f"/api/v1/statuses/{{status_id}}/{name}", _acting(scope, action), methods=["POST"])
        for name, scope, action in BUTTONS
    ),
    Route("/api/v1/statuses/{status_id}/favourited_by", favourited_by, methods=["GET", "HEAD"]),
    Route("/api/v1/statuses/{status_id}/reblogged_by", reblogged_by, methods=["GET", "HEAD"]),
]
