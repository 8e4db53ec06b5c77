"""Logging out ends the session on the server: a cookie saved before is refused after, across
restarts; "log out everywhere" and a new password end other browsers' sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from solo.app import create_app
from solo.config import Settings
from tests.conftest import PASSWORD
from tests.test_login import csrf_from, login

NEW_PASSWORD = "another long password"


@asynccontextmanager
async def browser(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
        yield client


async def logged_in(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/settings")
    assert answer.status_code in (200, 303), answer.text
    return answer.status_code == 200


async def with_cookie(app: Starlette, settings: Settings, cookie: str) -> httpx.Response:
    """A request from another machine that copied the cookie."""
    async with browser(app, settings) as thief:
        thief.cookies.set("solo_session", cookie, domain="solo.test")
        return await thief.get("/settings")


async def test_a_cookie_saved_before_logout_is_refused_after(
    app: Starlette, settings: Settings
) -> None:
    async with browser(app, settings) as client:
        assert (await login(client)).status_code == 303
        saved = client.cookies["solo_session"]
        assert (await with_cookie(app, settings, saved)).status_code == 200
        token = csrf_from((await client.get("/settings")).text)
        assert (await client.post("/logout", data={"csrf": token})).status_code == 303
    refused = await with_cookie(app, settings, saved)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/login"
    # The browser is told to drop the dead cookie.
    assert "Max-Age=0" in refused.headers["set-cookie"]
    async with browser(app, settings) as thief:
        thief.cookies.set("solo_session", saved, domain="solo.test")
        assert (await thief.get("/streaming")).status_code == 401
        home = await thief.get("/@alice")
        assert home.status_code == 200
        assert 'action="/logout"' not in home.text


async def test_logout_survives_a_restart_and_a_login_does_too(
    app: Starlette, settings: Settings
) -> None:
    async with browser(app, settings) as ended, browser(app, settings) as kept:
        await login(ended)
        await login(kept)
        saved = ended.cookies["solo_session"]
        live = kept.cookies["solo_session"]
        token = csrf_from((await ended.get("/settings")).text)
        await ended.post("/logout", data={"csrf": token})
    restarted = create_app(settings)
    async with restarted.router.lifespan_context(restarted):
        assert (await with_cookie(restarted, settings, saved)).status_code == 303
        # Logging out one browser leaves the others logged in, restart or not.
        assert (await with_cookie(restarted, settings, live)).status_code == 200


async def test_log_out_everywhere_ends_every_browsers_session(
    app: Starlette, settings: Settings
) -> None:
    async with browser(app, settings) as laptop, browser(app, settings) as phone:
        await login(laptop)
        await login(phone)
        page = await laptop.get("/settings")
        assert 'action="/settings/sessions/end"' in page.text
        token = csrf_from(page.text)
        # Without the form's token nothing ends.
        forged = await laptop.post("/settings/sessions/end", data={})
        assert forged.status_code == 403
        assert await logged_in(phone)
        ended = await laptop.post("/settings/sessions/end", data={"csrf": token})
        assert ended.status_code == 303
        assert ended.headers["location"] == "/login"
        notice = await laptop.get("/login")
        assert "You are logged out everywhere (2 sessions ended)." in notice.text
        assert not await logged_in(phone)
        assert not await logged_in(laptop)
        # Logging in again works as before.
        assert (await login(phone)).status_code == 303
        assert await logged_in(phone)


async def test_changing_the_password_in_settings_ends_other_sessions(
    app: Starlette, settings: Settings
) -> None:
    async with browser(app, settings) as laptop, browser(app, settings) as phone:
        await login(laptop)
        await login(phone)
        saved = laptop.cookies["solo_session"]
        token = csrf_from((await laptop.get("/settings")).text)

        changed = await laptop.post(
            "/settings/password",
            data={"csrf": token, "current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        )
        assert changed.status_code == 303
        assert await logged_in(laptop)
        assert not await logged_in(phone)
        # The laptop goes on in a new session: its own cookie from before is dead too.
        assert (await with_cookie(app, settings, saved)).status_code == 303
