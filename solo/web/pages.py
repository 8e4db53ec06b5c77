"""Logging in and out; `profile` is what app.py shows browsers at /users/{username}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.catalogues import Message
from solo.edge.ratelimit import client_address, failed_logins
from solo.edge.sessions import checked_form, current_account, log_in, log_out
from solo.edge.templating import render
from solo.errors import NotFound, TooManyRequests
from solo.instance import instance_of
from solo.passwords import MAX_LENGTH, check_password_async
from solo.store.account import get_account
from solo.web import profiles
from solo.web.common import safe_path

__all__ = ["profile", "routes"]

LOGIN_FAILED = "That username and password do not match."


async def profile(request: Request) -> Response:
    """`/users/{username}` in a browser: our profile (other accounts live at /@user@host)."""
    name = str(request.path_params["username"])
    if "@" in name:
        raise NotFound("There is no account called %(name)s here.", name=name)
    return await profiles.profile(request)


def _next(value: object) -> str:
    """Where to go once logged in (`?next=`, e.g. back to an app's authorization page)."""
    return safe_path(value if isinstance(value, str) else "/")


async def login_form(request: Request) -> Response:
    after = _next(request.query_params.get("next"))
    if await current_account(request) is not None:
        return RedirectResponse(after, status_code=303)
    return render(request, "login.html", {"error": None, "username": "", "next": after})


async def login(request: Request) -> Response:
    form = await checked_form(request)
    username = str(form.get("username", "")).strip().lstrip("@").lower()
    password = str(form.get("password", ""))
    window = failed_logins(request)
    address = client_address(request)
    # Counted before the check, so that concurrent guesses cannot all pass the limit.
    wait = window.reserve(address)
    if wait is not None:
        raise TooManyRequests(
            Message.counted(
                "Too many failed logins from your address. Try again in %(num)s second.",
                "Too many failed logins from your address. Try again in %(num)s seconds.",
                wait,
            ),
            wait,
        )
    account = await get_account(instance_of(request).db)
    if (
        account is not None
        and await check_password_async(password[:MAX_LENGTH], account.password_hash)
        and username == account.username
    ):
        window.release(address)
        await log_in(request, account)
        return RedirectResponse(_next(form.get("next")), status_code=303)
    return render(
        request,
        "login.html",
        {"error": LOGIN_FAILED, "username": username[:64], "next": _next(form.get("next"))},
        status=401,
    )


async def logout(request: Request) -> Response:
    await checked_form(request)
    await log_out(request)
    return RedirectResponse("/login", status_code=303)


routes: list[BaseRoute] = [
    Route("/login", login_form, methods=["GET", "HEAD"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
