"""Login, logout, the home page and the public profile."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.actions import ActionError, follows
from solo.errors import NotFound, TooManyRequests
from solo.federation.context import federation_of
from solo.instance import instance_of
from solo.passwords import check_password_async
from solo.store.account import get_account
from solo.store.actors import get_actor_by_id
from solo.web.ratelimit import SlidingWindow
from solo.web.sessions import checked_form, current_account, log_in, log_out
from solo.web.templating import render

FAILED_LOGINS_PER_MINUTE = 5
LOGIN_FAILED = "That username and password do not match."


def _failed_logins(request: Request) -> SlidingWindow:
    window: SlidingWindow | None = getattr(request.app.state, "failed_logins", None)
    if window is None:
        window = SlidingWindow(FAILED_LOGINS_PER_MINUTE, 60.0)
        request.app.state.failed_logins = window
    return window


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def home(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return RedirectResponse(urls.profile(instance_of(request).settings), status_code=303)
    return render(request, "home.html", {"account": account, "error": None, "notice": None})


async def follow(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return RedirectResponse("/login", status_code=303)
    form = await checked_form(request)
    target = str(form.get("account", ""))
    try:
        found = await follows.follow(federation_of(request), target)
    except ActionError as error:
        context = {"account": account, "error": error.message, "notice": None}
        return render(request, "home.html", context, status=error.status)
    actor = await get_actor_by_id(instance_of(request).db, found.actor_id)
    handle = f"@{actor.handle}" if actor else target
    notice = f"Follow request sent to {handle}." if found.state == "pending" else None
    context = {"account": account, "error": None, "notice": notice or f"You follow {handle}."}
    return render(request, "home.html", context)


async def login_form(request: Request) -> Response:
    if await current_account(request) is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", {"error": None, "username": ""})


async def login(request: Request) -> Response:
    window = _failed_logins(request)
    address = _client_address(request)
    wait = window.retry_after(address)
    if wait is not None:
        raise TooManyRequests(
            f"Too many failed logins from your address. Try again in {wait} seconds.", wait
        )
    form = await checked_form(request)
    username = str(form.get("username", "")).strip().lstrip("@").lower()
    password = str(form.get("password", ""))
    account = await get_account(instance_of(request).db)
    if (
        account is not None
        and await check_password_async(password, account.password_hash)
        and username == account.username
    ):
        log_in(request, account)
        return RedirectResponse("/", status_code=303)
    window.hit(address)
    return render(
        request, "login.html", {"error": LOGIN_FAILED, "username": username[:64]}, status=401
    )


async def logout(request: Request) -> Response:
    await checked_form(request)
    log_out(request)
    return RedirectResponse("/login", status_code=303)


async def profile(request: Request) -> Response:
    instance = instance_of(request)
    username = request.path_params["username"]
    if username != instance.settings.username:
        raise NotFound(f"There is no account called {username} here.")
    account = await get_account(instance.db)
    if account is None:
        raise NotFound(f"There is no account called {username} here.")
    joined = datetime.fromtimestamp(account.created_at, UTC).isoformat()
    return render(request, "profile.html", {"account": account, "joined_iso": joined})


async def unfollow(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return RedirectResponse("/login", status_code=303)
    form = await checked_form(request)
    federation = federation_of(request)
    try:
        actor = await follows.find_account(federation, str(form.get("account", "")))
        await follows.unfollow(federation, actor.ap_id)
    except ActionError as error:
        context = {"account": account, "error": error.message, "notice": None}
        return render(request, "home.html", context, status=error.status)
    context = {
        "account": account,
        "error": None,
        "notice": f"You no longer follow @{actor.handle}.",
    }
    return render(request, "home.html", context)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET", "HEAD"]),
    Route("/login", login_form, methods=["GET", "HEAD"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/follow", follow, methods=["POST"]),
    Route("/unfollow", unfollow, methods=["POST"]),
    Route("/@{username}", profile, methods=["GET", "HEAD"]),
]
