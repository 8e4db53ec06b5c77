"""PKCE as the metadata advertises it: S256 only, and a verifier only for a code that has a
challenge (RFC 9700 §4.8.2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.test_api_oauth import approve, code_of, register, s256
from tests.test_login import login

REDIRECT = "com.example.app:/oauth"


def token_request(app: dict[str, Any], code: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": REDIRECT,
        "code": code,
        **extra,
    }


@pytest.mark.parametrize("method", ["plain", None])
async def test_a_challenge_that_is_not_s256_is_refused_at_authorize(
    client: httpx.AsyncClient, method: str | None
) -> None:
    app = await register(client, REDIRECT)
    await login(client)
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read",
        "code_challenge": "p" * 43,
    }
    if method is not None:
        query["code_challenge_method"] = method
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 400
    assert "code_challenge_method must be S256" in page.text
    assert "location" not in page.headers
    # The consent form's POST is checked the same way: no code comes out of it.
    form = await client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read"},
    )
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    posted = await client.post(
        "/oauth/authorize",
        data={
            "csrf": csrf,
            "client_id": app["client_id"],
            "redirect_uri": REDIRECT,
            "scope": "read",
            "code_challenge": "p" * 43,
            "code_challenge_method": method or "",
            "decision": "approve",
        },
    )
    assert posted.status_code == 400
    assert "location" not in posted.headers


async def test_a_verifier_for_a_code_issued_without_challenge_is_invalid_grant(
    client: httpx.AsyncClient,
) -> None:
    app = await register(client, REDIRECT)
    code = code_of(await approve(client, app, REDIRECT))
    injected = await client.post(
        "/oauth/token", data=token_request(app, code, code_verifier="v" * 50)
    )
    assert injected.status_code == 400
    assert injected.json()["error"] == "invalid_grant"
    assert "without a code challenge" in injected.json()["error_description"]
    # The app that asked without PKCE still redeems its own code without a verifier.
    own = await client.post("/oauth/token", data=token_request(app, code))
    assert own.status_code == 200, own.text


async def test_s256_still_works(client: httpx.AsyncClient) -> None:
    app = await register(client, REDIRECT)
    verifier = "v" * 64
    answer = await approve(
        client, app, REDIRECT, code_challenge=s256(verifier), code_challenge_method="S256"
    )
    code = code_of(answer)
    right = await client.post("/oauth/token", data=token_request(app, code, code_verifier=verifier))
    assert right.status_code == 200, right.text
