"""Writing: the compose page (a new post, a reply, an edit) and the forms it posts.

A refused post comes back on the compose page with the reason and everything typed, so that
nothing is lost; the script's in-place forms get the new card, or the reason, as a fragment.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, statuses
from solo.federation.context import federation_of
from solo.store import statuses as status_store
from solo.store.account import Account
from solo.store.statuses import Status
from solo.text import plain_text
from solo.web.common import (
    id_from,
    login_required,
    page_loader,
    page_of,
    safe_back,
    wants_fragment,
)
from solo.web.sessions import checked_form
from solo.web.templating import render
from solo.web.views import StatusView


async def _card(request: Request, account: Account, status_id: int | None) -> StatusView | None:
    if status_id is None:
        return None
    views = await page_loader(request, account).statuses([status_id])
    return views[0] if views else None


async def _own(request: Request, status_id: int) -> Status:
    status = await status_store.get_status(federation_of(request).db, status_id)
    if status is None or status.deleted_at is not None or status.actor_id is not None:
        raise ActionError("You can only edit your own posts, and this one is not there.")
    return status


async def _compose_page(
    request: Request,
    account: Account,
    *,
    in_reply_to: StatusView | None = None,
    edit: Status | None = None,
    draft: str = "",
    draft_summary: str = "",
    visibility: str = "public",
    back: str = "/",
    error: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "in_reply_to": in_reply_to,
        "edit": edit,
        "draft": draft,
        "draft_summary": draft_summary,
        "visibility": visibility,
        "back": back,
        "error": error,
        "insert": None,
        "max_chars": federation_of(request).settings.max_post_chars,
    }
    return render(request, "compose.html", context, status=status)


@login_required
async def compose(request: Request, account: Account) -> Response:
    """`/compose`, `/compose?in_reply_to=<id>` or `/compose?edit=<id>`."""
    edit_id = id_from(request.query_params.get("edit", ""))
    if edit_id is not None:
        edit = await _own(request, edit_id)
        return await _compose_page(
            request,
            account,
            edit=edit,
            draft=edit.source_text or plain_text(edit.content_html),
            draft_summary=edit.summary,
            back=f"/@{federation_of(request).settings.username}/{edit.id}",
        )
    reply_id = id_from(request.query_params.get("in_reply_to", ""))
    parent = await _card(request, account, reply_id)
    if reply_id is not None and parent is None:
        raise ActionError(statuses.GONE_PARENT)
    if parent is None:
        return await _compose_page(request, account)
    return await _compose_page(
        request,
        account,
        in_reply_to=parent,
        draft="" if parent.own else f"@{parent.author.handle} ",
        visibility=parent.status.visibility,
        back=parent.page,
    )


async def _refused(
    request: Request,
    account: Account,
    form: FormData,
    error: ActionError,
    *,
    edit: Status | None = None,
) -> Response:
    """The reason, with what was typed: on the compose page, or as a fragment for the script."""
    if wants_fragment(request):
        return render(request, "fragment_error.html", {"message": error.message}, status=400)
    reply_id = id_from(str(form.get("in_reply_to", "")))
    return await _compose_page(
        request,
        account,
        in_reply_to=await _card(request, account, reply_id),
        edit=edit,
        draft=str(form.get("text", "")),
        draft_summary=str(form.get("summary", "")),
        visibility=str(form.get("visibility", "public")),
        back=safe_back(form),
        error=error.message,
        status=error.status,
    )


async def _written(request: Request, account: Account, form: FormData, status: Status) -> Response:
    if wants_fragment(request):
        view = await _card(request, account, status.id)
        context = {"view": view, "here": page_of(safe_back(form))}
        return render(request, "fragment_status.html", context, status=201)
    return RedirectResponse(safe_back(form), status_code=303)


@login_required
async def post_status(request: Request, account: Account) -> Response:
    form = await checked_form(request)
    try:
        posted = await statuses.post(
            federation_of(request),
            str(form.get("text", "")),
            visibility=str(form.get("visibility", "public")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
            in_reply_to=id_from(str(form.get("in_reply_to", ""))),
        )
    except ActionError as error:
        return await _refused(request, account, form, error)
    return await _written(request, account, form, posted)


@login_required
async def edit_status(request: Request, account: Account) -> Response:
    form = await checked_form(request)
    status_id = id_from(str(request.path_params["status_id"]))
    assert status_id is not None
    try:
        edited = await statuses.edit(
            federation_of(request),
            status_id,
            str(form.get("text", "")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
        )
    except ActionError as error:
        edit = await status_store.get_status(federation_of(request).db, status_id)
        return await _refused(request, account, form, error, edit=edit)
    return await _written(request, account, form, edited)


routes: list[BaseRoute] = [
    Route("/compose", compose, methods=["GET", "HEAD"]),
    Route("/statuses", post_status, methods=["POST"]),
    Route("/statuses/{status_id}/edit", edit_status, methods=["POST"]),
]
