"""`/settings/domain_blocks`: the blocked domains, paged, with a form to add one (and why), a
button to lift each, and Mastodon's `blocked_domains.csv` in (a published blocklist in one
step, with what was added and what was skipped) and out."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import blocklists
from solo.actions import domain_blocks as actions
from solo.catalogues import N_, Message
from solo.edge.templating import flash, render
from solo.federation.context import federation_of
from solo.store import domain_blocks as store
from solo.store.account import Account
from solo.web.common import Cursor, form_page, login_required, older_link

PATH = "/settings/domain_blocks"


async def _page(request: Request, **context: Any) -> Response:
    status = context.pop("status", 200)
    federation = federation_of(request)
    cursor = Cursor.of(request) if request.method in ("GET", "HEAD") else Cursor(None, 20)
    rows = await store.newest(federation.db, max_id=cursor.max_id, limit=cursor.fetch)
    shown, more = cursor.split(rows)
    values = {
        "blocks": shown,
        "total": await store.count(federation.db),
        "older": older_link(request, shown[-1].id) if more and shown else None,
        "typed_domain": "",
        "typed_reason": "",
        "error": None,
        "notice": None,
        "result": None,
        "import_error": None,
        "max_lines": blocklists.MAX_LINES,
        **context,
    }
    return render(request, "domain_blocks.html", values, status=status)


@login_required
async def listing(request: Request, account: Account) -> Response:
    return await _page(request)


@form_page
async def add(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    typed = str(form.get("domain", ""))
    reason = str(form.get("reason", ""))
    try:
        domain = actions.normalize(typed, federation.settings.domain)
    except actions.InvalidDomain as error:
        return await _page(
            request, error=error.message, typed_domain=typed, typed_reason=reason, status=422
        )
    added = await actions.block(federation, [(domain, actions.clean_reason(reason))])
    if added:
        flash(
            request,
            "%(domain)s is blocked: nothing from it is shown, fetched or delivered.",
            domain=domain,
        )
    else:
        flash(request, "%(domain)s was already blocked.", domain=domain)
    return RedirectResponse(PATH, status_code=303)


@form_page
async def remove(request: Request, account: Account, form: FormData) -> Response:
    domain = str(form.get("domain", "")).strip().lower()
    if await actions.unblock(federation_of(request), domain):
        flash(
            request,
            "%(domain)s is no longer blocked. Follows that the block ended stay ended.",
            domain=domain,
        )
    else:
        if domain:
            flash(request, "%(domain)s was not blocked.", domain=domain)
        else:
            flash(request, "That domain was not blocked.")
    return RedirectResponse(PATH, status_code=303)


@form_page
async def import_file(request: Request, account: Account, form: FormData) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, import_error=N_("Choose a file to import."), status=422)
    data = await upload.read(blocklists.MAX_BYTES + 1)
    try:
        result = await blocklists.import_blocklist(federation_of(request), data)
    except blocklists.BlocklistError as error:
        nothing = Message("%(reason)s Nothing was blocked.", reason=error.message)
        return await _page(request, import_error=nothing, status=error.status)
    return await _page(request, result=result)


@login_required
async def export(request: Request, account: Account) -> Response:
    blocks = await store.all_blocks(federation_of(request).db)
    return Response(
        blocklists.export_csv(blocks),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="blocked_domains.csv"',
            "Cache-Control": "no-store",
        },
    )


routes: list[BaseRoute] = [
    Route(PATH, listing, methods=["GET", "HEAD"]),
    Route(PATH, add, methods=["POST"]),
    Route(f"{PATH}/remove", remove, methods=["POST"]),
    Route(f"{PATH}/import", import_file, methods=["POST"]),
    Route(f"{PATH}/export", export, methods=["GET", "HEAD"]),
]
