"""The Archive settings page: download the account as a Mastodon archive, and import one's
old posts from one (in the background, with its progress shown here)."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError
from solo.actions.archive_export import Source, export_archive
from solo.actions.archive_jobs import ArchiveImports
from solo.edge.templating import flash, render
from solo.federation.context import federation_of
from solo.store import archive as archive_store
from solo.store import statuses as status_store
from solo.store.account import Account
from solo.web.common import form_page, login_required


def imports_of(request: Request) -> ArchiveImports:
    imports: ArchiveImports = request.app.state.archive_imports
    return imports


async def _page(request: Request, **context: Any) -> Response:
    db = federation_of(request).db
    latest = await archive_store.latest_import(db)
    status = context.pop("status", 200)
    values = {
        "latest": latest,
        "posts": await status_store.count_local_statuses(db),
        "imported": await archive_store.count_imported(db),
        "error": None,
        **context,
    }
    return render(request, "archive.html", values, status=status)


@login_required
async def archive_page(request: Request, account: Account) -> Response:
    return await _page(request)


@login_required
async def download(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    source = Source(federation.db, federation.settings, federation.storage)
    name = f"archive-{account.username}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}.zip"
    return StreamingResponse(
        export_archive(source),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@form_page
async def start_import(request: Request, account: Account, form: FormData) -> Response:
    upload = form.get("archive")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, error="Choose your archive (.zip) first.", status=422)
    try:
        await imports_of(request).start(upload)
    except ActionError as error:
        return await _page(request, error=error.message, status=error.status)
    flash(request, "Your archive is being imported; this page shows how far it got.")
    return RedirectResponse("/settings/archive", status_code=303)


routes: list[BaseRoute] = [
    Route("/settings/archive", archive_page, methods=["GET", "HEAD"]),
    Route("/settings/archive/export", download, methods=["GET"]),
    Route("/settings/archive/import", start_import, methods=["POST"]),
]
