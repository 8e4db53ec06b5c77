"""`/server`: the state of this server for its owner, drawn as SVG on the server (deliveries,
queues, ingress, storage, memory, the failing and slow servers with retry / give up), the same
figures as `/server.json`, and `/metrics` in Prometheus' text format behind `metrics_token`."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import server_stats
from solo.actions.server_stats import HOURS_SHOWN, MINUTE, MINUTES_SHOWN, Figures
from solo.catalogues import N_
from solo.edge.i18n import gettext_for, locale_of, ngettext_for
from solo.edge.sessions import current_account
from solo.edge.templating import flash, render
from solo.federation.context import federation_of
from solo.store.account import Account
from solo.web import charts
from solo.web.common import form_page, login_required

PATH: Final = "/server"
MAX_HOST: Final = 255
OUTCOME_NAMES: Final = {
    "delivered": N_("delivered"),
    "retried": N_("retried"),
    "dead": N_("failed"),
}


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M")


def _delivery_chart(figures: Figures, _: Callable[[str], str]) -> dict[str, Any]:
    rows = []
    for bar in figures.hours:
        values = {"delivered": bar.delivered, "retried": bar.retried, "dead": bar.dead}
        label = f"{_clock(bar.at)}–{_clock(bar.at + 3600)} UTC: " + ", ".join(
            f"{values[kind]} {_(name)}" for kind, name in OUTCOME_NAMES.items()
        )
        rows.append((label, values))
    return {
        "chart": charts.stacked_bars(rows, list(OUTCOME_NAMES)),
        "hours": [bar for bar in figures.hours if bar.total],
        "totals": {
            kind: sum(getattr(bar, kind) for bar in figures.hours) for kind in OUTCOME_NAMES
        },
    }


def _per_minute(figures: Figures, names: tuple[str, ...]) -> dict[str, list[float | None]]:
    """The last MINUTES_SHOWN minutes, one slot each, None where no sample was taken."""
    first = int(figures.now // MINUTE * MINUTE) - (MINUTES_SHOWN - 1) * MINUTE
    slots: dict[str, list[float | None]] = {name: [None] * MINUTES_SHOWN for name in names}
    for taken in figures.minutes:
        index = (taken.at - first) // MINUTE
        if 0 <= index < MINUTES_SHOWN:
            for name in names:
                slots[name][index] = getattr(taken, name)
    return slots


def _ingress(figures: Figures) -> dict[str, Any]:
    slots = _per_minute(figures, ("accepted",))
    hours: dict[int, list[int]] = {}
    for taken in figures.minutes:
        hours.setdefault(taken.at // 3600 * 3600, []).append(taken.accepted)
    table = [
        {
            "at": at,
            "label": f"{_clock(at)}–{_clock(at + 3600)} UTC",
            "total": sum(counts),
            "busiest": max(counts),
            "average": sum(counts) / len(counts),
        }
        for at, counts in sorted(hours.items())
    ]
    return {"chart": charts.lines(slots), "hours": table}


def _queues(figures: Figures) -> dict[str, Any]:
    slots = _per_minute(figures, ("push_waiting", "ingress_waiting"))
    hour_ago = figures.now - 3600

    def peak(name: str, since: float) -> int:
        return max(
            (int(getattr(taken, name)) for taken in figures.minutes if taken.at >= since),
            default=0,
        )

    rows = [
        {
            "name": name,
            "now": now,
            "hour": max(now, peak(field, hour_ago)),
            "six": max(now, peak(field, 0)),
        }
        for name, field, now in (
            (N_("Deliveries (push)"), "push_waiting", figures.depths.push_waiting),
            (N_("Incoming (ingress)"), "ingress_waiting", figures.depths.ingress_waiting),
        )
    ]
    return {"chart": charts.lines(slots), "rows": rows}


def _storage(figures: Figures) -> dict[str, Any]:
    history = figures.storage_history
    first = int(figures.now // 3600 * 3600) - (HOURS_SHOWN - 1) * 3600
    names = ("database_bytes", "media_bytes", "cache_bytes")
    slots: dict[str, list[float | None]] = {name: [None] * HOURS_SHOWN for name in names}
    for taken in history:
        index = (taken.at - first) // 3600
        if 0 <= index < HOURS_SHOWN:
            for name in names:
                value = getattr(taken, name)
                slots[name][index] = None if value is None else float(value)
    now = figures.storage
    oldest = history[0] if history else None
    rows = []
    for label, name in (
        (N_("Database"), "database_bytes"),
        (N_("Your media"), "media_bytes"),
        (N_("Remote media cache"), "cache_bytes"),
    ):
        current = getattr(now, name)
        before = None if oldest is None else getattr(oldest, name)
        rows.append(
            {
                "label": label,
                "kind": name.removesuffix("_bytes"),
                "now": current,
                "before": before,
                "growth": None if before is None else current - before,
            }
        )
    budget = now.cache_budget
    used = min(100.0, now.cache_bytes / budget * 100) if budget else 100.0
    return {
        "chart": charts.lines(slots, filled=False, ceiling=charts.nice_bytes),
        "rows": rows,
        "since": oldest.at if oldest is not None else None,
        "budget": budget,
        "budget_used": round(used, 1),
        "cache_bytes": now.cache_bytes,
    }


async def _page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    figures = await server_stats.figures(federation_of(request))
    context = {
        "figures": figures,
        "deliveries": _delivery_chart(figures, gettext_for(request)),
        "ingress": _ingress(figures),
        "queues": _queues(figures),
        "storage": _storage(figures),
        "outcome_names": OUTCOME_NAMES,
        "error": error,
        "bytes": functools.partial(charts.human_bytes, locale=locale_of(request)),
        "duration": functools.partial(charts.human_duration, locale=locale_of(request)),
        "count": charts.human_count,
        "hours_shown": HOURS_SHOWN,
        "minutes_shown": MINUTES_SHOWN,
    }
    return render(request, "server.html", context, status=status)


@login_required
async def page(request: Request, account: Account) -> Response:
    return await _page(request)


def _host(form: FormData) -> str:
    return str(form.get("host", ""))[: MAX_HOST + 1].strip().lower()


@form_page
async def retry(request: Request, account: Account, form: FormData) -> Response:
    host = _host(form)
    if not host or len(host) > MAX_HOST:
        return await _page(request, error=N_("Say which server to retry."), status=422)
    try:
        count = await server_stats.retry_host(federation_of(request), host)
    except server_stats.NothingWaiting:
        _ = gettext_for(request)
        error = _("No delivery to %(host)s is waiting for a retry.")
        return await _page(request, error=error % {"host": host}, status=404)
    ngettext = ngettext_for(request)
    message = ngettext(
        "Retrying %(num)s delivery to %(host)s now.",
        "Retrying %(num)s deliveries to %(host)s now.",
        count,
    )
    flash(request, message, num=count, host=host)
    return RedirectResponse(f"{PATH}#hosts", status_code=303)


@form_page
async def give_up(request: Request, account: Account, form: FormData) -> Response:
    host = _host(form)
    if not host or len(host) > MAX_HOST:
        return await _page(request, error=N_("Say which server to give up on."), status=422)
    try:
        count = await server_stats.give_up_host(federation_of(request), host)
    except server_stats.NothingWaiting:
        _ = gettext_for(request)
        error = _("No delivery to %(host)s is waiting.")
        return await _page(request, error=error % {"host": host}, status=404)
    ngettext = ngettext_for(request)
    message = ngettext(
        "Gave up %(num)s delivery to %(host)s.",
        "Gave up %(num)s deliveries to %(host)s.",
        count,
    )
    flash(request, message, num=count, host=host)
    return RedirectResponse(f"{PATH}#hosts", status_code=303)


def _bearer_ok(request: Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _unauthorized(message: str) -> Response:
    return PlainTextResponse(
        message, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
    )


def as_json(figures: Figures) -> dict[str, Any]:
    storage = figures.storage
    return {
        "now": figures.now,
        "started_at": figures.started_at,
        "uptime_seconds": round(figures.uptime, 1),
        "rss_bytes": figures.rss_bytes,
        "queues": {
            "push": {
                "queued": figures.depths.push_queued,
                "retrying": figures.depths.push_retrying,
            },
            "ingress": {"waiting": figures.depths.ingress_waiting},
        },
        "totals_since_start": figures.totals,
        "deliveries_per_hour": [
            {
                "at": bar.at,
                "delivered": bar.delivered,
                "retried": bar.retried,
                "dead": bar.dead,
            }
            for bar in figures.hours
        ],
        "per_minute": [
            {
                "at": taken.at,
                "accepted": taken.accepted,
                "push_waiting": taken.push_waiting,
                "push_retrying": taken.push_retrying,
                "ingress_waiting": taken.ingress_waiting,
                "rss_bytes": taken.rss_bytes,
            }
            for taken in figures.minutes
        ],
        "storage": {
            "database_bytes": storage.database_bytes,
            "media_bytes": storage.media_bytes,
            "cache_bytes": storage.cache_bytes,
            "cache_budget_bytes": storage.cache_budget,
            "history": [
                {
                    "at": taken.at,
                    "database_bytes": taken.database_bytes,
                    "media_bytes": taken.media_bytes,
                    "cache_bytes": taken.cache_bytes,
                }
                for taken in figures.storage_history
            ],
        },
        "failing_hosts": [
            {
                "host": host.host,
                "waiting": host.waiting,
                "retrying": host.retrying,
                "attempts": host.attempts,
                "next_retry_at": host.next_retry_at,
                "oldest_at": host.oldest_at,
                "last_error": host.last_error,
                "failure_days": host.failure_days,
                "unavailable": host.unavailable,
            }
            for host in figures.failing
        ],
        "slowest_hosts": [
            {
                "host": entry.host,
                "mean_seconds": round(entry.mean_seconds, 4),
                "last_seconds": round(entry.last_seconds, 4),
                "deliveries": entry.deliveries,
            }
            for entry in figures.slowest
        ],
    }


async def server_json(request: Request) -> Response:
    """For the owner's session, or for monitoring with the metrics token."""
    token = federation_of(request).settings.metrics_token
    if not _bearer_ok(request, token) and await current_account(request) is None:
        return _unauthorized("Log in, or send the metrics token as a Bearer token.")
    figures = await server_stats.figures(federation_of(request))
    return JSONResponse(as_json(figures), headers={"Cache-Control": "no-store"})


def _metric(lines: list[str], name: str, kind: str, help_text: str, values: Any) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    if isinstance(values, dict):
        for labels, value in values.items():
            lines.append(f"{name}{{{labels}}} {value}")
    else:
        lines.append(f"{name} {values}")


def prometheus_text(figures: Figures) -> str:
    lines: list[str] = []
    totals = figures.totals
    _metric(
        lines,
        "solo_deliveries_total",
        "counter",
        "Delivery attempts since the process started, by outcome.",
        {f'outcome="{kind}"': totals[kind] for kind in OUTCOME_NAMES},
    )
    _metric(
        lines,
        "solo_activities_accepted_total",
        "counter",
        "Activities the inbox accepted since the process started.",
        totals["accepted"],
    )
    _metric(
        lines,
        "solo_queue_jobs",
        "gauge",
        "Jobs waiting in the durable queues.",
        {
            'queue="push",state="queued"': figures.depths.push_queued,
            'queue="push",state="retrying"': figures.depths.push_retrying,
            'queue="ingress",state="waiting"': figures.depths.ingress_waiting,
        },
    )
    _metric(
        lines,
        "solo_failing_hosts",
        "gauge",
        "Servers with deliveries waiting for a retry (at most ten counted).",
        len(figures.failing),
    )
    storage = figures.storage
    for name, help_text, value in (
        ("solo_database_bytes", "The SQLite database with its WAL.", storage.database_bytes),
        ("solo_media_bytes", "The owner's uploaded media.", storage.media_bytes),
        ("solo_media_cache_bytes", "Remote media kept on disk.", storage.cache_bytes),
        (
            "solo_media_cache_budget_bytes",
            "The media_cache_bytes setting.",
            storage.cache_budget,
        ),
        ("process_resident_memory_bytes", "Resident memory size.", figures.rss_bytes),
        ("process_start_time_seconds", "Start time, Unix seconds.", round(figures.started_at, 3)),
        ("solo_uptime_seconds", "Seconds since the server started.", round(figures.uptime, 3)),
    ):
        _metric(lines, name, "gauge", help_text, value)
    return "\n".join(lines) + "\n"


async def metrics(request: Request) -> Response:
    token = federation_of(request).settings.metrics_token
    if not token:
        return PlainTextResponse("Not Found", status_code=404)
    if not _bearer_ok(request, token):
        return _unauthorized("The metrics token is missing or wrong.")
    figures = await server_stats.figures(federation_of(request), time.time())
    return PlainTextResponse(
        prometheus_text(figures),
        media_type="text/plain; version=0.0.4; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


routes: list[BaseRoute] = [
    Route(PATH, page, methods=["GET", "HEAD"]),
    Route(f"{PATH}.json", server_json, methods=["GET"]),
    Route(f"{PATH}/hosts/retry", retry, methods=["POST"]),
    Route(f"{PATH}/hosts/give-up", give_up, methods=["POST"]),
    Route("/metrics", metrics, methods=["GET"]),
]
