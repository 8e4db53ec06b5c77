"""`/server/doctor`, for the owner: the last `solo doctor` report, and a button to run it again.

A run asks the server's own public URL, so it cannot finish within the request that starts
it if the URL leads back through a slow proxy: it runs as a task of its own (one at a time),
and the page refreshes itself until the new report is stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import doctor
from solo.doctor_findings import Finding, Value
from solo.edge import i18n
from solo.edge.templating import flash, render
from solo.federation.context import Federation, federation_of
from solo.store.account import Account
from solo.web.charts import human_bytes
from solo.web.common import form_page, login_required

PATH = "/server/doctor"
LEVEL_ORDER = {"fail": 0, "warn": 1, "ok": 2}
_CODE = re.compile(r"`([^`]+)`")

log = logging.getLogger(__name__)


def _running(request: Request) -> asyncio.Task[None] | None:
    task: asyncio.Task[None] | None = getattr(request.app.state, "doctor_run", None)
    return task if task is not None and not task.done() else None


def pieces(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is code) at its backquotes, so fixes show their directives as
    code without any HTML in the report."""
    parts = _CODE.split(text)
    return [(part, index % 2 == 1) for index, part in enumerate(parts) if part]


def in_language(finding: Finding, request: Request) -> Finding:
    """`finding` as the page shows it: title, message and fix in the reader's language, with
    its values filled in (numbers and sizes written that language's way)."""
    gettext = i18n.gettext_for(request)
    locale = i18n.locale_of(request)

    def shown(name: str, value: Value) -> str:
        if isinstance(value, str):
            return value
        if name.endswith("_bytes"):
            return human_bytes(value, locale)
        return i18n.number(value, locale)

    return Finding(
        gettext(finding.check),
        finding.level,
        finding.said(finding.message, gettext, shown),
        finding.said(finding.fix, gettext, shown) if finding.fix else "",
    )


@login_required
async def page(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    report = doctor.load_report(federation.settings)
    values: dict[str, Any] = {
        "report": report,
        "running": _running(request) is not None,
        "pieces": pieces,
        "public_url": federation.settings.base_url,
    }
    if report is not None:
        # Problems first; the order of the checks within each level.
        ordered = sorted(report.findings, key=lambda f: LEVEL_ORDER[f.level])
        values["findings"] = [in_language(finding, request) for finding in ordered]
        values["counts"] = {
            level: sum(f.level == level for f in report.findings)
            for level in ("ok", "warn", "fail")
        }
    return render(request, "doctor.html", values)


async def _run(federation: Federation) -> None:
    try:
        report = await doctor.examine(federation.settings, federation.instance.user_keys)
        await asyncio.to_thread(doctor.save_report, federation.settings, report)
    except OSError as error:
        log.warning("the doctor's report could not be stored: %s", error)


@form_page
async def run(request: Request, account: Account, form: FormData) -> Response:
    if _running(request) is None:
        request.app.state.doctor_run = asyncio.create_task(_run(federation_of(request)))
        flash(request, "Checking your server from outside; this page shows the result.")
    return RedirectResponse(PATH, status_code=303)


routes: list[BaseRoute] = [
    Route(PATH, page, methods=["GET", "HEAD"]),
    Route(PATH, run, methods=["POST"]),
]
