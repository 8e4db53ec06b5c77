"""The failed-login budget (five a minute per address) holds under concurrent guesses, on the
web form and the OAuth password grant alike; so does the app-registration limit."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from starlette.applications import Starlette

from solo.api.apps import REGISTRATIONS_PER_HOUR
from solo.config import Settings
from solo.edge.ratelimit import FAILED_LOGINS_PER_MINUTE
from tests.conftest import PASSWORD
from tests.test_api_oauth import register
from tests.test_login import csrf_from, login

GUESSES = 30


def client_from(app: Starlette, settings: Settings, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url=settings.base_url, timeout=60)


async def test_concurrent_wrong_logins_on_the_form_check_at_most_the_limit(
    app: Starlette, settings: Settings
) -> None:
    async with client_from(app, settings, "203.0.113.20") as client:
        token = csrf_from((await client.get("/login")).text)
        form = {"csrf": token, "username": "alice", "password": "a wrong guess"}
        answers = await asyncio.gather(*(client.post("/login", data=form) for _ in range(GUESSES)))
        statuses = Counter(answer.status_code for answer in answers)
        # A 401 is a password that was checked; a 429 one that was refused unchecked.
        assert statuses[401] == FAILED_LOGINS_PER_MINUTE, statuses
        assert statuses[429] == GUESSES - FAILED_LOGINS_PER_MINUTE, statuses
        assert (await login(client)).status_code == 429


async def test_concurrent_wrong_password_grants_check_at_most_the_limit(
    app: Starlette, settings: Settings
) -> None:
    async with client_from(app, settings, "203.0.113.21") as client:
        oauth_app = await register(client)
        data = {
            "grant_type": "password",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "username": "alice",
            "password": "a wrong guess",
        }
        answers = await asyncio.gather(
            *(client.post("/oauth/token", data=data) for _ in range(GUESSES))
        )
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses[400] == FAILED_LOGINS_PER_MINUTE, statuses
        assert statuses[429] == GUESSES - FAILED_LOGINS_PER_MINUTE, statuses
        assert all(
            answer.json()["error"] == "invalid_grant"
            for answer in answers
            if answer.status_code == 400
        )


async def test_the_form_and_the_grant_share_one_budget_under_concurrency(
    app: Starlette, settings: Settings
) -> None:
    async with client_from(app, settings, "203.0.113.22") as client:
        oauth_app = await register(client)
        token = csrf_from((await client.get("/login")).text)
        form = {"csrf": token, "username": "alice", "password": "a wrong guess"}
        grant = {
            "grant_type": "password",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "username": "alice",
            "password": "a wrong guess",
        }
        answers = await asyncio.gather(
            *(client.post("/login", data=form) for _ in range(GUESSES // 2)),
            *(client.post("/oauth/token", data=grant) for _ in range(GUESSES // 2)),
        )
        checked = sum(answer.status_code in (400, 401) for answer in answers)
        assert checked == FAILED_LOGINS_PER_MINUTE


async def test_right_passwords_use_no_budget(app: Starlette, settings: Settings) -> None:
    async with client_from(app, settings, "203.0.113.23") as client:
        for _ in range(FAILED_LOGINS_PER_MINUTE + 2):
            assert (await login(client)).status_code == 303
            client.cookies.clear()
        for _ in range(FAILED_LOGINS_PER_MINUTE):
            assert (await login(client, password="nope")).status_code == 401
        assert (await login(client, password=PASSWORD)).status_code == 429


async def test_concurrent_app_registrations_stop_at_the_limit(
    app: Starlette, settings: Settings
) -> None:
    body = {"client_name": "Flood", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    async with client_from(app, settings, "203.0.113.24") as client:
        refused = await client.post("/api/v1/apps", json={"redirect_uris": "nowhere"})
        assert refused.status_code == 422  # refused requests are not registrations
        answers = await asyncio.gather(
            *(client.post("/api/v1/apps", json=body) for _ in range(REGISTRATIONS_PER_HOUR + 10))
        )
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {200: REGISTRATIONS_PER_HOUR, 429: 10}, statuses


async def test_wrong_current_passwords_in_settings_share_the_budget(
    app: Starlette, settings: Settings
) -> None:
    """A stolen cookie buys no more guesses at the password than the login form does."""
    async with client_from(app, settings, "203.0.113.25") as client:
        assert (await login(client)).status_code == 303
        token = csrf_from((await client.get("/settings")).text)
        new = "a new long password"
        guess = {"csrf": token, "current": "a wrong guess", "new": new, "repeat": new}
        answers = await asyncio.gather(
            *(client.post("/settings/password", data=guess) for _ in range(GUESSES))
        )
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses[429] == GUESSES - FAILED_LOGINS_PER_MINUTE, statuses
        wrong = [answer for answer in answers if answer.status_code != 429]
        assert all("The current password is not right." in answer.text for answer in wrong)
        right = {**guess, "current": PASSWORD}
        assert (await client.post("/settings/password", data=right)).status_code == 429
        client.cookies.clear()
        assert (await login(client, password=new)).status_code == 429
