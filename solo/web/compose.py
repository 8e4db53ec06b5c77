"""Writing: the compose page (a new post, a reply, an edit) and the forms it posts.

A refused post comes back on the compose page with the reason and everything typed, so that
nothing is lost; the script's in-place forms get the new card, or the reason, as a fragment.
With the alt text reminder on (a setting), a new post whose images have no description comes
back the same way, its files already uploaded and kept, asking "post anyway?" first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, media, scheduled, statuses
from solo.actions.polls import PollDraft
from solo.edge.i18n import ngettext_for
from solo.edge.templating import flash, render
from solo.federation.context import Federation, federation_of
from solo.media.upload import MAX_ATTACHMENTS, MAX_PIXELS
from solo.store import compose_prefs
from solo.store import media as media_store
from solo.store import statuses as status_store
from solo.store.account import Account
from solo.store.statuses import Status
from solo.text import plain_text
from solo.web.common import (
    form_page,
    id_from,
    login_required,
    page_loader,
    page_of,
    safe_back,
    wants_fragment,
)
from solo.web.polls import poll_draft
from solo.web.scheduled import form_time
from solo.web.views import MediaView, StatusView, media_view


async def composer_context(federation: Federation) -> dict[str, Any]:
    """What every page with the post form gives it: the limits the script checks before sending
    (the server checks them again) and whether to ask about images without alt text."""
    settings = federation.settings
    return {
        "max_chars": settings.max_post_chars,
        "max_upload_mb": settings.max_upload_bytes // (1024 * 1024),
        "max_pixels": MAX_PIXELS,
        "alt_reminder": await compose_prefs.alt_text_reminder(federation.db),
    }


class MissingAltText(ActionError):
    """A new post with images that have no description, sent without confirming that."""

    status = 422

    def __init__(self, first: int, count: int) -> None:
        images = "1 image has" if count == 1 else f"{count} images have"
        super().__init__(f"{images} no description: post anyway?")
        self.first = first  # the attachment to describe first
        self.count = count


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
    attached: Sequence[MediaView] = (),
    sensitive: bool = False,
    poll: PollDraft | None = None,
    scheduled_at: str = "",
    missing_alt: MissingAltText | None = None,
) -> Response:
    ngettext = ngettext_for(request)
    context: dict[str, Any] = {
        **await composer_context(federation_of(request)),
        "missing_alt": None
        if missing_alt is None
        else ngettext(
            "%(num)s image has no description: post anyway?",
            "%(num)s images have no description: post anyway?",
            missing_alt.count,
        )
        % {"num": missing_alt.count},
        "first_missing_alt": None if missing_alt is None else f"description-{missing_alt.first}",
        "scheduled_at": scheduled_at,
        "attached": list(attached),
        "poll": poll,
        "sensitive": sensitive,
        "in_reply_to": in_reply_to,
        "edit": edit,
        "draft": draft,
        "draft_summary": draft_summary,
        "visibility": visibility,
        "back": back,
        "error": error,
        "insert": None,
    }
    return render(request, "compose.html", context, status=status)


@login_required
async def compose(request: Request, account: Account) -> Response:
    """`/compose`, `/compose?in_reply_to=<id>` or `/compose?edit=<id>`."""
    edit_id = id_from(request.query_params.get("edit", ""))
    if edit_id is not None:
        edit = await _own(request, edit_id)
        attached = await media_store.media_of(federation_of(request).db, [edit.id])
        return await _compose_page(
            request,
            account,
            edit=edit,
            draft=edit.source_text or plain_text(edit.content_html),
            draft_summary=edit.summary,
            back=f"/@{federation_of(request).settings.username}/{edit.id}",
            attached=await _kept_views(request, [m.id for m in attached.get(edit.id, [])]),
            sensitive=edit.sensitive,
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
    kept: Sequence[int] = (),
) -> Response:
    """The reason, with what was typed: on the compose page, or as a fragment for the script."""
    if wants_fragment(request):
        message = {"message": error.message}
        return render(request, "fragment_error.html", message, status=error.status)
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
        error=None if isinstance(error, MissingAltText) else error.message,
        missing_alt=error if isinstance(error, MissingAltText) else None,
        status=error.status,
        attached=await _kept_views(request, kept),
        sensitive=bool(form.get("sensitive")),
        poll=poll_draft(form),
        scheduled_at=str(form.get("scheduled_at", ""))[:32],
    )


async def _written(request: Request, account: Account, form: FormData, status: Status) -> Response:
    if wants_fragment(request):
        view = await _card(request, account, status.id)
        context = {"view": view, "here": page_of(safe_back(form))}
        return render(request, "fragment_status.html", context, status=201)
    return RedirectResponse(safe_back(form), status_code=303)


async def _kept_views(request: Request, media_ids: Sequence[int]) -> list[MediaView]:
    federation = federation_of(request)
    found = await media_store.get_many(federation.db, media_ids)
    views = []
    for media_id in media_ids:
        item = found.get(media_id)
        view = None if item is None else media_view(federation, item)
        if view is not None:
            views.append(view)
    return views


async def _uploads(request: Request, form: FormData, kept: list[int]) -> None:
    """The form's attachments: the uploads kept from an earlier try (their alt text as edited
    now, those marked removed left out) and the new files, processed and stored. `kept` gets
    every usable id, so a refusal halfway still keeps what was uploaded."""
    federation = federation_of(request)
    for value in form.getlist("media_id"):
        media_id = id_from(str(value))
        if media_id is None or form.get(f"remove_{media_id}"):
            continue
        description = form.get(f"description_{media_id}")
        focus = form.get(f"focus_{media_id}")
        if isinstance(description, str):
            focus_text = focus.strip() if isinstance(focus, str) else None
            await media.describe(federation, media_id, description, focus_text)
        kept.append(media_id)
    files = form.getlist("file")
    descriptions = [str(value) for value in form.getlist("file_alt")]
    focuses = [str(value) for value in form.getlist("file_focus")]
    for index, upload in enumerate(files):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue  # an empty file field
        if len(kept) >= MAX_ATTACHMENTS:
            raise ActionError(
                "A post can have at most %(max_attachments)s attachments.",
                max_attachments=MAX_ATTACHMENTS,
            )
        limit = federation.settings.max_upload_bytes
        if upload.size is not None and upload.size > limit:
            raise media.MediaRefused(
                "%(filename)s: the file is %(size)s MB; the limit is %(limit)s MB.",
                413,
                filename=upload.filename,
                size=round(upload.size / 1048576, 1),
                limit=limit // 1048576,
            )
        data = await upload.read(limit + 1)
        uploaded = await media.upload(
            federation,
            data,
            filename=upload.filename,
            declared_type=upload.content_type or "",
            description=descriptions[index] if index < len(descriptions) else "",
            focus=focuses[index].strip() if index < len(focuses) else "",
        )
        kept.append(uploaded.id)


async def _schedule(request: Request, form: FormData, when: float, kept: list[int]) -> Response:
    """The form's post, kept to publish at `when` (ActionError as for a post)."""
    draft = scheduled.Draft(
        text=str(form.get("text", "")),
        visibility=str(form.get("visibility", "public")),
        summary=str(form.get("summary", "")),
        sensitive=bool(form.get("sensitive")),
        in_reply_to=id_from(str(form.get("in_reply_to", ""))),
        media_ids=tuple(kept),
        poll=poll_draft(form),
    )
    await scheduled.schedule(federation_of(request), draft, when)
    flash(request, "Scheduled: it will be published at the time you chose.")
    return RedirectResponse("/scheduled", status_code=303)


async def _check_alt_text(request: Request, form: FormData, kept: Sequence[int]) -> None:
    """MissingAltText when the reminder is on, unconfirmed, and an image has no description."""
    federation = federation_of(request)
    if form.get("confirm_no_alt") or not await compose_prefs.alt_text_reminder(federation.db):
        return
    found = await media_store.get_many(federation.db, kept)
    bare = [
        media_id
        for media_id in kept
        if (item := found.get(media_id)) is not None
        and item.kind == "image"
        and not item.description.strip()
    ]
    if bare:
        raise MissingAltText(bare[0], len(bare))


@form_page
async def post_status(request: Request, account: Account, form: FormData) -> Response:
    kept: list[int] = []
    try:
        when = form_time(form)
        await _uploads(request, form, kept)
        await _check_alt_text(request, form, kept)
        if when is not None:
            return await _schedule(request, form, when, kept)
        posted = await statuses.post(
            federation_of(request),
            str(form.get("text", "")),
            visibility=str(form.get("visibility", "public")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
            in_reply_to=id_from(str(form.get("in_reply_to", ""))),
            media_ids=kept,
            poll=poll_draft(form),
        )
    except ActionError as error:
        return await _refused(request, account, form, error, kept=kept)
    return await _written(request, account, form, posted)


@form_page
async def edit_status(request: Request, account: Account, form: FormData) -> Response:
    """The edit form: text, content warning, and the attachments (alt text changed, some
    removed, new files added), all in one Update."""
    status_id = id_from(str(request.path_params["status_id"]))
    assert status_id is not None
    kept: list[int] = []
    try:
        await _own(request, status_id)
        await _uploads(request, form, kept)
        edited = await statuses.edit(
            federation_of(request),
            status_id,
            str(form.get("text", "")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
            media_ids=kept,
        )
    except ActionError as error:
        edit = await status_store.get_status(federation_of(request).db, status_id)
        return await _refused(request, account, form, error, edit=edit, kept=kept)
    return await _written(request, account, form, edited)


routes: list[BaseRoute] = [
    Route("/compose", compose, methods=["GET", "HEAD"]),
    Route("/statuses", post_status, methods=["POST"]),
    Route("/statuses/{status_id}/edit", edit_status, methods=["POST"]),
]
