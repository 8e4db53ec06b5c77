"""`/settings/import`: Mastodon's CSV exports in (an upload that runs in the background, with
its progress, counts and each failure with why) and out (a download per kind).

The pages refresh themselves with `<meta http-equiv="refresh">` while an import runs, so the
progress moves without JavaScript."""

from __future__ import annotations

from typing import Any, Final

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import csv_imports
from solo.actions.csv_formats import FILENAMES, KINDS, LABELS, MAX_BYTES, MAX_ROWS, CsvError
from solo.actions.csv_kinds import export as export_csv
from solo.catalogues import Message
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.store import csv_imports as store
from solo.store.account import Account
from solo.web.common import form_page, login_required

PATH: Final = "/settings/import"
SHOWN_IMPORTS: Final = 20
SHOWN_PROBLEMS: Final = 200
REFRESH_SECONDS: Final = 3


def _kinds() -> list[dict[str, Any]]:
    return [{"kind": kind, "label": LABELS[kind], "filename": FILENAMES[kind]} for kind in KINDS]


async def _page(request: Request, *, status: int = 200, **context: Any) -> Response:
    imports = await store.recent(federation_of(request).db, SHOWN_IMPORTS)
    values = {
        "imports": imports,
        "kinds": _kinds(),
        "labels": LABELS,
        "refresh": REFRESH_SECONDS if any(job.running for job in imports) else None,
        "max_rows": MAX_ROWS,
        "error": None,
        "chosen_kind": "following",
        "chosen_mode": "merge",
        **context,
    }
    return render(request, "imports.html", values, status=status)


@login_required
async def listing(request: Request, account: Account) -> Response:
    return await _page(request)


@form_page
async def upload(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    kind = str(form.get("kind", ""))
    mode = str(form.get("mode", "merge"))
    upload = form.get("file")
    chosen = {"chosen_kind": kind, "chosen_mode": mode}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, error="Choose a file to import.", status=422, **chosen)
    data = await upload.read(MAX_BYTES + 1)
    try:
        import_id = await csv_imports.create(
            federation.db, kind, mode, upload.filename, data, federation.settings.domain
        )
    except CsvError as error:
        message = Message("%(reason)s Nothing was imported.", reason=error.message)
        return await _page(request, error=message, status=422, **chosen)
    request.app.state.importer.wake.set()
    return RedirectResponse(f"{PATH}/{import_id}", status_code=303)


@login_required
async def detail(request: Request, account: Account) -> Response:
    raw = request.path_params["import_id"]
    job = await store.get(federation_of(request).db, int(raw)) if raw.isdigit() else None
    if job is None:
        raise NotFound("There is no such import.")
    problems = await store.problems(federation_of(request).db, job.id, SHOWN_PROBLEMS)
    values = {
        "job": job,
        "label": LABELS.get(job.kind, job.kind),
        "problems": problems,
        "shown_problems": SHOWN_PROBLEMS,
        "refresh": REFRESH_SECONDS if job.running else None,
    }
    return render(request, "import_detail.html", values)


@login_required
async def export(request: Request, account: Account) -> Response:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise NotFound(
            "Solo exports no %(kind)s; it exports %(choices)s.", kind=kind, choices=", ".join(KINDS)
        )
    return Response(
        await export_csv(federation_of(request).db, kind),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{FILENAMES[kind]}"',
            "Cache-Control": "no-store",
        },
    )


routes: list[BaseRoute] = [
    Route(PATH, listing, methods=["GET", "HEAD"]),
    Route(PATH, upload, methods=["POST"]),
    Route(PATH + "/{import_id}", detail, methods=["GET", "HEAD"]),
    Route("/settings/export/{kind}.csv", export, methods=["GET", "HEAD"]),
]
