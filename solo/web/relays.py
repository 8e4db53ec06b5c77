"""`/settings/relays`: subscribe to relays (by inbox or actor address), see each one's state and
its last share, and leave them."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.edge.templating import flash, render
from solo.federation import relays
from solo.federation.context import federation_of
from solo.store import relays as store
from solo.store.account import Account
from solo.web.common import form_page, login_required

PATH = "/settings/relays"


async def _page(request: Request, **context: Any) -> Response:
    status = context.pop("status", 200)
    values = {
        "relays": await store.all_relays(federation_of(request).db),
        "typed_url": "",
        "error": None,
        "per_minute": relays.SHARES_PER_MINUTE,
        "max_relays": store.MAX_RELAYS,
        **context,
    }
    return render(request, "relays.html", values, status=status)


@login_required
async def listing(request: Request, account: Account) -> Response:
    return await _page(request)


@form_page
async def add(request: Request, account: Account, form: FormData) -> Response:
    typed = str(form.get("url", ""))[: relays.MAX_URL + 1]
    try:
        relay = await relays.subscribe(federation_of(request), typed)
    except relays.RelayError as error:
        return await _page(request, error=str(error), typed_url=typed, status=422)
    flash(
        request,
        "Asked %(host)s to relay to you: it shows as pending until it accepts.",
        host=relay.host,
    )
    return RedirectResponse(PATH, status_code=303)


@form_page
async def remove(request: Request, account: Account, form: FormData) -> Response:
    raw = str(form.get("relay", ""))
    if not raw.isdigit() or len(raw) > 19:
        return await _page(request, error="Say which relay to remove.", status=422)
    try:
        relay = await relays.unsubscribe(federation_of(request), int(raw))
    except relays.RelayError as error:
        return await _page(request, error=str(error), status=404)
    flash(request, "You left the relay %(host)s; it has been told to stop.", host=relay.host)
    return RedirectResponse(PATH, status_code=303)


routes: list[BaseRoute] = [
    Route(PATH, listing, methods=["GET", "HEAD"]),
    Route(PATH, add, methods=["POST"]),
    Route(f"{PATH}/remove", remove, methods=["POST"]),
]
