"""`/settings/moving`: aliases for an account moving here, and moving this account away."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.actions import ActionError, WrongPassword, moves
from solo.catalogues import Message
from solo.edge.ratelimit import client_address, failed_logins
from solo.edge.templating import flash, render
from solo.errors import TooManyRequests
from solo.federation.context import federation_of
from solo.store.account import Account
from solo.web.common import form_page, login_required

PATH = "/settings/moving"


async def _page(request: Request, account: Account, **context: Any) -> Response:
    status = context.pop("status", 200)
    values = {
        "account": account,
        "handle": urls.handle(federation_of(request).settings),
        "cooldown_days": int(moves.COOLDOWN // 86400),
        "cooldown_left": moves.cooldown_left(account),
        "max_aliases": moves.MAX_ALIASES,
        "typed_alias": "",
        "typed_target": "",
        "alias_error": None,
        "move_error": None,
        **context,
    }
    return render(request, "moving.html", values, status=status)


@login_required
async def moving_page(request: Request, account: Account) -> Response:
    return await _page(request, account)


@form_page
async def add_alias(request: Request, account: Account, form: FormData) -> Response:
    typed = str(form.get("alias", ""))
    try:
        alias = await moves.add_alias(federation_of(request), typed)
    except ActionError as error:
        return await _page(
            request, account, alias_error=error.message, typed_alias=typed, status=error.status
        )
    flash(
        request,
        "@%(handle)s is an alias of this account. You can now move it here.",
        handle=alias.handle,
    )
    return RedirectResponse(PATH, status_code=303)


@form_page
async def remove_alias(request: Request, account: Account, form: FormData) -> Response:
    try:
        await moves.remove_alias(federation_of(request), str(form.get("alias", "")))
    except ActionError as error:
        return await _page(request, account, alias_error=error.message, status=error.status)
    flash(request, "The alias is removed.")
    return RedirectResponse(PATH, status_code=303)


@form_page
async def move_away(request: Request, account: Account, form: FormData) -> Response:
    typed = str(form.get("target", ""))
    # The password is a guess like a login's: counted in the same budget.
    window = failed_logins(request)
    address = client_address(request)
    wait = window.reserve(address)
    if wait is not None:
        raise TooManyRequests(
            Message.counted(
                "Too many wrong passwords from your address. Try again in %(num)s second.",
                "Too many wrong passwords from your address. Try again in %(num)s seconds.",
                wait,
            ),
            wait,
        )
    try:
        target = await moves.move_away(federation_of(request), typed, str(form.get("password", "")))
    except WrongPassword as error:
        return await _page(
            request, account, move_error=error.message, typed_target=typed, status=error.status
        )
    except ActionError as error:
        window.release(address)
        return await _page(
            request, account, move_error=error.message, typed_target=typed, status=error.status
        )
    window.release(address)
    flash(
        request,
        "This account has moved to @%(handle)s; your followers are told.",
        handle=target.handle,
    )
    return RedirectResponse(PATH, status_code=303)


@form_page
async def undo_move(request: Request, account: Account, form: FormData) -> Response:
    try:
        await moves.undo_move(federation_of(request))
    except ActionError as error:
        return await _page(request, account, move_error=error.message, status=error.status)
    flash(request, "The move is undone: your profile no longer points elsewhere.")
    return RedirectResponse(PATH, status_code=303)


routes: list[BaseRoute] = [
    Route(PATH, moving_page, methods=["GET", "HEAD"]),
    Route("/settings/aliases", add_alias, methods=["POST"]),
    Route("/settings/aliases/remove", remove_alias, methods=["POST"]),
    Route("/settings/move", move_away, methods=["POST"]),
    Route("/settings/move/undo", undo_move, methods=["POST"]),
]
