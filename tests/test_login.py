"""The web login: password, session cookie, CSRF, rate limit, logout, body limit, headers."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from solo.config import Settings
from solo.passwords import hash_password
from solo.store.account import set_password_hash
from tests.conftest import PASSWORD


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def login(
    client: httpx.AsyncClient, password: str = PASSWORD, username: str = "alice"
) -> httpx.Response:
    page = await client.get("/login")
    token = csrf_from(page.text)
    return await client.post(
        "/login", data={"csrf": token, "username": username, "password": password}
    )


async def test_login_page_sets_a_safe_session_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert '<form method="post" action="/login">' in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("solo_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # the instance is https


async def test_anonymous_profile_sets_no_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/@alice")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


async def test_login_then_home_then_logout(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).headers["location"] == "https://solo.test/@alice"
    response = await login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert "Your home timeline is empty" in home.text
    assert "@alice@solo.test" in home.text
    token = csrf_from(home.text)
    out = await client.post("/logout", data={"csrf": token})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("bob", PASSWORD), ("", "")],
)
async def test_wrong_credentials_get_one_generic_message(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await login(client, password=password, username=username)
    assert response.status_code == 401
    assert "That username and password do not match." in response.text
    assert (await client.get("/")).status_code == 303


async def test_handle_forms_of_the_username_are_accepted(client: httpx.AsyncClient) -> None:
    response = await login(client, username="@Alice")
    assert response.status_code == 303


async def test_missing_or_forged_csrf_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/login")
    missing = await client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert missing.status_code == 403
    assert "did not come from this site" in missing.text
    forged = await client.post(
        "/login", data={"csrf": "forged", "username": "alice", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert (await client.get("/")).status_code == 303


async def test_logout_needs_csrf(client: httpx.AsyncClient) -> None:
    await login(client)
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 200


async def test_a_csrf_token_from_another_session_is_refused(
    app: Starlette, settings: Settings
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=settings.base_url) as attacker,
        httpx.AsyncClient(transport=transport, base_url=settings.base_url) as victim,
    ):
        stolen = csrf_from((await attacker.get("/login")).text)
        await victim.get("/login")
        response = await victim.post(
            "/login", data={"csrf": stolen, "username": "alice", "password": PASSWORD}
        )
        assert response.status_code == 403


async def test_five_failures_a_minute_then_429(app: Starlette, settings: Settings) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
        for _ in range(5):
            assert (await login(client, password="nope")).status_code == 401
        blocked = await login(client)  # even the right password waits
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Too many failed logins" in blocked.text
        assert (await client.get("/")).status_code == 303
    other = httpx.ASGITransport(app=app, client=("203.0.113.8", 4000))
    async with httpx.AsyncClient(transport=other, base_url=settings.base_url) as client:
        assert (await login(client)).status_code == 303


async def test_changing_the_password_logs_sessions_out(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await login(client)
    assert (await client.get("/")).status_code == 200
    await set_password_hash(app.state.instance.db, hash_password("a brand new password"))
    assert (await client.get("/")).status_code == 303
    assert (await login(client)).status_code == 401
    assert (await login(client, password="a brand new password")).status_code == 303


async def test_a_tampered_session_cookie_is_ignored(client: httpx.AsyncClient) -> None:
    await login(client)
    value = client.cookies["solo_session"]
    client.cookies.clear()
    client.cookies.set("solo_session", value[:-3] + "AAA", domain="solo.test")
    assert (await client.get("/")).status_code == 303


async def test_oversized_form_is_413_and_changes_nothing(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    token = csrf_from(page.text)
    response = await client.post(
        "/login",
        data={"csrf": token, "username": "alice", "password": PASSWORD, "pad": "x" * 100_000},
    )
    assert response.status_code == 413
    assert "too large" in response.text
    assert (await client.get("/")).status_code == 303


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    response = await client.post(
        "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/login", "/@alice", "/no/such/page"])
async def test_security_headers_everywhere(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_unknown_paths_are_404_with_a_message(client: httpx.AsyncClient) -> None:
    page = await client.get("/no/such/page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "There is nothing here." in page.text
    assert "<html" in page.text
    api = await client.get("/api/v1/nothing")
    assert api.status_code == 404
    assert api.json() == {"error": "There is nothing here."}
    assert (await client.get("/@bob")).status_code == 404


async def test_static_css_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in response.text
