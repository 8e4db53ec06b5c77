"""The client API's foundation: apps, OAuth grants, tokens, scopes, CORS and parameters."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from solo.api.auth import Caller, api
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.config import Settings
from tests.conftest import PASSWORD
from tests.test_login import csrf_from, login

OOB = "urn:ietf:wg:oauth:2.0:oob"


async def register(
    client: httpx.AsyncClient,
    redirect_uris: str | list[str] = OOB,
    scopes: str = "read write follow push",
    **extra: Any,
) -> dict[str, Any]:
    body = {"client_name": "Test app", "redirect_uris": redirect_uris, "scopes": scopes, **extra}
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 200, response.text
    app: dict[str, Any] = response.json()
    return app


async def password_token(
    client: httpx.AsyncClient, app: dict[str, Any], scope: str = "read write follow push"
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "alice",
            "password": PASSWORD,
            "scope": scope,
        },
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def approve(
    client: httpx.AsyncClient, app: dict[str, Any], redirect_uri: str, **query: str
) -> httpx.Response:
    """Log in, open the consent page, press Authorize: the answer to that POST."""
    await login(client)
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": "read write",
        **query,
    }
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    return await client.post("/oauth/authorize", data={**fields, "decision": "approve"})


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


async def test_register_app_json_form_and_multipart(client: httpx.AsyncClient) -> None:
    app = await register(
        client, ["com.example.app:/oauth", "https://app.example/cb"], website="https://x.example"
    )
    assert app["redirect_uris"] == ["com.example.app:/oauth", "https://app.example/cb"]
    assert app["redirect_uri"] == "com.example.app:/oauth\nhttps://app.example/cb"
    assert app["scopes"] == ["read", "write", "follow", "push"]
    assert len(app["vapid_key"]) == 87  # the Web Push key, as Mastodon gave it here
    assert app["client_id"] and app["client_secret"] and app["website"] == "https://x.example"
    form = await client.post(
        "/api/v1/apps",
        data={"client_name": "Form", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob\nmyapp://cb"},
    )
    assert form.status_code == 200
    assert form.json()["redirect_uris"] == [OOB, "myapp://cb"]
    assert form.json()["scopes"] == ["read"]
    multipart = await client.post(
        "/api/v1/apps",
        data={"client_name": "Multi", "redirect_uris": OOB, "scopes": "read:statuses"},
        files={"unused": ("x.txt", b"x")},
    )
    assert multipart.status_code == 200 and multipart.json()["scopes"] == ["read:statuses"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redirect_uris": OOB}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "https://a.example/#frag"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": OOB, "scopes": "read admin"}, "scopes"),
        ({"client_name": "x", "redirect_uris": OOB, "website": "ftp://x"}, "website"),
    ],
)
async def test_register_app_refuses_bad_fields(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/apps", json=body)
    assert response.status_code == 422
    assert response.json()["error"].startswith(f"Validation failed: {field} ")


async def test_password_grant_and_verify_credentials(client: httpx.AsyncClient) -> None:
    app = await register(client)
    response = await password_token(client, app)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write follow push"
    assert isinstance(body["created_at"], int)
    me = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"])
    )
    assert me.status_code == 200, me.text
    account = me.json()
    assert account["username"] == "alice" and account["acct"] == "alice"
    assert isinstance(account["id"], str) and account["id"].isdigit()
    assert account["source"]["privacy"] == "public"
    assert account["avatar"] == "https://solo.test/static/avatar-missing.png"
    assert account["last_status_at"] is None
    for key in ("url", "uri", "note", "header", "created_at", "fields", "emojis", "roles"):
        assert key in account
    assert (await client.get(account["avatar"])).status_code == 200
    by_query = await client.get(
        "/api/v1/accounts/verify_credentials", params={"access_token": body["access_token"]}
    )
    assert by_query.status_code == 200
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(body["access_token"]))
    ).json()["name"] == "Test app"


async def test_password_grant_wrong_password_issues_nothing_and_is_rate_limited(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    app = await register(client)
    data = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": "alice",
        "password": "wrong password",
    }
    for _ in range(5):
        response = await client.post("/oauth/token", data=data)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    limited = await client.post("/oauth/token", data=data)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # The web login shares the budget: the right password is refused for now too.
    assert (await password_token(client, app)).status_code == 429
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM oauth_tokens").fetchone()[0] == 0


async def test_client_credentials_token_reads_no_user_data(client: httpx.AsyncClient) -> None:
    app = await register(client)
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read write",
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert response.json()["scope"] == "read write"
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status_code == 422
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status_code == 200


async def test_wrong_client_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    app = await register(client)
    wrong = {**app, "client_secret": "not-the-secret"}
    body = (await password_token(client, wrong)).json()
    assert body["error"] == "invalid_client"
    basic = base64.b64encode(f"{app['client_id']}:nope".encode()).decode()
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    good = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {good}"},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "read"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "refresh_token"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "admin:read"}, "invalid_scope"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request"),
    ],
)
async def test_token_errors(client: httpx.AsyncClient, data: dict[str, str], error: str) -> None:
    app = await register(client, scopes="read write")
    credentials = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    response = await client.post("/oauth/token", data={**data, **credentials})
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


async def test_scope_beyond_the_apps_registration_is_refused(client: httpx.AsyncClient) -> None:
    app = await register(client, scopes="read")
    response = await password_token(client, app, scope="read write")
    assert response.json()["error"] == "invalid_scope"


async def test_code_flow_with_pkce(client: httpx.AsyncClient) -> None:
    app = await register(client, "com.example.app:/oauth")
    verifier = "v" * 50
    answer = await approve(
        client,
        app,
        "com.example.app:/oauth",
        state="xyz",
        code_challenge=s256(verifier),
        code_challenge_method="S256",
    )
    assert answer.headers["location"].startswith("com.example.app:/oauth?code=")
    assert parse_qs(urlsplit(answer.headers["location"]).query)["state"] == ["xyz"]
    code = code_of(answer)
    token_request = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": "com.example.app:/oauth",
        "code": code,
    }
    wrong = await client.post("/oauth/token", data={**token_request, "code_verifier": "w" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = await client.post("/oauth/token", data=token_request)
    assert missing.json()["error"] == "invalid_grant"
    right = await client.post("/oauth/token", data={**token_request, "code_verifier": verifier})
    assert right.status_code == 200, right.text
    assert right.json()["scope"] == "read write"
    token = right.json()["access_token"]
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 200
    # A code works once; presented again it also takes back the token it bought.
    again = await client.post("/oauth/token", data={**token_request, "code_verifier": verifier})
    assert again.json()["error"] == "invalid_grant"
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 401


async def test_code_flow_wrong_redirect(client: httpx.AsyncClient) -> None:
    app = await register(client, ["https://app.example/a", "https://app.example/b"])
    verifier = "p" * 43
    answer = await approve(
        client,
        app,
        "https://app.example/a",
        code_challenge=s256(verifier),
        code_challenge_method="S256",
    )
    assert "state" not in answer.headers["location"]
    assert (
        "form-action 'self'"
        in (
            await client.get(
                "/oauth/authorize",
                params={"client_id": app["client_id"], "redirect_uri": "https://app.example/a"},
            )
        ).headers["content-security-policy"]
    )
    token_request = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code_of(answer),
        "code_verifier": verifier,
    }
    wrong = await client.post(
        "/oauth/token", data={**token_request, "redirect_uri": "https://app.example/b"}
    )
    assert wrong.json()["error"] == "invalid_grant"
    # The authorization request named one: the token request must too (RFC 6749 4.1.3).
    missing = await client.post("/oauth/token", data=token_request)
    assert missing.json()["error"] == "invalid_grant"
    right = await client.post(
        "/oauth/token", data={**token_request, "redirect_uri": "https://app.example/a"}
    )
    assert right.status_code == 200, right.text


async def test_authorize_page_needs_login_and_tolerates_mastodon_py_values(
    client: httpx.AsyncClient,
) -> None:
    app = await register(client)
    query = (
        f"/oauth/authorize/?client_id={app['client_id']}&response_type=code"
        f"&redirect_uri={OOB}&scope=read+write+follow+push"
        "&force_login=False&state=None&lang=None"
    )
    answer = await client.get(query)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/login?next=")
    login_page = await client.get(location)
    token = csrf_from(login_page.text)
    logged_in = await client.post(
        "/login",
        data={
            "csrf": token,
            "username": "alice",
            "password": PASSWORD,
            "next": parse_qs(urlsplit(location).query)["next"][0],
        },
    )
    assert logged_in.status_code == 303
    # The trailing slash is the same endpoint (solo.api.slashes): back to it, with its query.
    assert logged_in.headers["location"].startswith("/oauth/authorize?client_id=")
    page = await client.get(logged_in.headers["location"])
    assert page.status_code == 200
    assert "Authorize Test app?" in page.text
    assert 'name="state" value=""' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    no_csrf = {k: v for k, v in fields.items() if k != "csrf"}
    refused = await client.post("/oauth/authorize", data={**no_csrf, "decision": "approve"})
    assert refused.status_code == 403
    shown = await client.post("/oauth/authorize/", data={**fields, "decision": "approve"})
    assert shown.status_code == 200
    code = re.search(r'id="authorization-code">([^<]+)<', shown.text)
    assert code
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": OOB,
            "code": code.group(1),
        },
    )
    assert response.json()["scope"] == "read write follow push"


async def test_authorize_refuses_unknown_client_and_foreign_redirect(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    unknown = await client.get("/oauth/authorize", params={"client_id": "nope"})
    assert unknown.status_code == 400
    app = await register(client, "https://app.example/cb")
    foreign = await client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": "https://evil.example/"},
    )
    assert foreign.status_code == 400
    assert "location" not in foreign.headers


async def test_login_next_is_only_local(client: httpx.AsyncClient) -> None:
    page = await client.get("/login?next=//evil.example/")
    token = csrf_from(page.text)
    response = await client.post(
        "/login",
        data={"csrf": token, "username": "alice", "password": PASSWORD, "next": "//evil.example/"},
    )
    assert response.headers["location"] == "/"


async def test_revoked_token_is_refused(client: httpx.AsyncClient) -> None:
    app = await register(client)
    token = (await password_token(client, app)).json()["access_token"]
    revoked = await client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token},
    )
    assert revoked.status_code == 200 and revoked.json() == {}
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}
    unknown = await client.post("/oauth/revoke", data={"token": "whatever"})
    assert unknown.status_code == 200 and unknown.json() == {}
    missing = await client.get("/api/v1/accounts/verify_credentials")
    assert missing.status_code == 401


async def test_token_without_the_scope_is_forbidden(client: httpx.AsyncClient) -> None:
    app = await register(client, scopes="read:statuses profile write")
    token = (await password_token(client, app, scope="write")).json()["access_token"]
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {"error": "This action is outside the authorized scopes"}
    profile = (await password_token(client, app, scope="profile")).json()["access_token"]
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(profile))
    assert response.status_code == 200


async def test_tokens_are_stored_hashed(client: httpx.AsyncClient, settings: Settings) -> None:
    app = await register(client)
    token = (await password_token(client, app)).json()["access_token"]
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute(
            "SELECT count(*) FROM oauth_tokens WHERE token_hash = ?",
            (hashlib.sha256(token.encode()).hexdigest(),),
        ).fetchone() == (1,)
        for table, column in (("oauth_tokens", "token_hash"), ("oauth_apps", "secret_hash")):
            values = [row[0] for row in conn.execute(f"SELECT {column} FROM {table}")]
            assert token not in values and app["client_secret"] not in values
    for path in settings.data_dir.glob("solo.db*"):
        content = path.read_bytes()
        assert token.encode() not in content
        assert app["client_secret"].encode() not in content


async def test_settings_lists_and_revokes_apps(client: httpx.AsyncClient) -> None:
    app = await register(client, website="https://toot.example")
    token = (await password_token(client, app)).json()["access_token"]
    await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    await login(client)
    page = await client.get("/settings")
    assert "Authorized apps" in page.text and "Test app" in page.text
    assert "last used" in page.text
    action = re.search(r'action="(/settings/apps/\d+/revoke)"', page.text)
    assert action
    refused = await client.post(action.group(1), data={"csrf": "wrong"})
    assert refused.status_code == 403
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 200
    done = await client.post(action.group(1), data={"csrf": csrf_from(page.text)})
    assert done.status_code == 303
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 401
    assert "Test app" not in (await client.get("/settings")).text


async def test_well_known_metadata(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    body = response.json()
    assert body["token_endpoint"] == "https://solo.test/oauth/token"
    assert body["authorization_endpoint"] == "https://solo.test/oauth/authorize"
    assert "password" in body["grant_types_supported"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert "read:statuses" in body["scopes_supported"]
    assert response.headers["access-control-allow-origin"] == "*"


async def test_cors(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/api/v1/accounts/verify_credentials",
        headers={
            "Origin": "https://elk.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert "Idempotency-Key" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert int(preflight.headers["access-control-max-age"]) > 0
    for path in ("/api/v1/instance", "/oauth/token", "/nodeinfo/2.0"):
        response = await client.request(
            "POST" if path == "/oauth/token" else "GET", path, headers={"Origin": "https://x"}
        )
        assert response.headers["access-control-allow-origin"] == "*", path
        assert response.headers["access-control-expose-headers"] == "Link", path
    assert "access-control-allow-origin" not in (await client.get("/login")).headers


async def test_instance_v1_and_v2(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        v1 = (await client.get(path)).json()
        assert v1["uri"] == "solo.test"
        assert v1["version"] == "4.2.0 (compatible; Solo 0.1.0)"
        assert v1["urls"]["streaming_api"] == "wss://solo.test"
        assert v1["stats"]["user_count"] == 1
        assert v1["configuration"]["statuses"]["max_characters"] == 500
        assert v1["configuration"]["media_attachments"]["image_matrix_limit"] == 33177600
        assert v1["configuration"]["polls"]["max_expiration"] == 2629746
        assert v1["contact_account"]["acct"] == "alice"
        assert v1["registrations"] is False and v1["rules"] == []
    for path in ("/api/v2/instance", "/api/v2/instance/"):
        v2 = (await client.get(path)).json()
        assert v2["domain"] == "solo.test"
        assert v2["usage"] == {"users": {"active_month": 1}}
        assert v2["configuration"]["urls"]["streaming"] == "wss://solo.test"
        assert len(v2["configuration"]["vapid"]["public_key"]) == 87  # a P-256 point
        assert v2["registrations"]["enabled"] is False
        assert v2["contact"]["account"]["username"] == "alice"
        assert v2["thumbnail"]["url"]


async def test_body_limits_of_the_api(client: httpx.AsyncClient) -> None:
    big = b"x" * (1024 * 1024 + 10)
    headers = {"Content-Type": "application/json"}
    assert (await client.post("/api/v1/apps", content=big, headers=headers)).status_code == 413
    upload = await client.post("/api/v2/media", content=big, headers=headers)
    assert upload.status_code != 413


# Parameters, through a small app built on the same decorator and parser.


@api(public=True)
async def echo(request: Request, caller: Caller | None) -> Response:
    params = await Params.of(request)
    poll = params.nested("poll")
    return JSONResponse(
        {
            "ids": params.strings("media_ids"),
            "sensitive": params.boolean("sensitive"),
            "limit": params.integer("limit", 20, minimum=1, maximum=40),
            "options": poll.strings("options"),
            "multiple": poll.boolean("multiple"),
            "expires_in": poll.integer("expires_in"),
            "file": getattr(params.file("file"), "filename", None),
        }
    )


@pytest.fixture
async def echo_client(app: Starlette, settings: Settings) -> Any:
    app.router.routes.insert(0, Route("/api/test/echo", echo, methods=["GET", "POST"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.base_url
    ) as http:
        yield http


EXPECTED = {
    "ids": ["1", "2"],
    "sensitive": True,
    "limit": 5,
    "options": ["a", "b"],
    "multiple": False,
    "expires_in": 300,
    "file": None,
}


async def test_params_from_form_json_multipart_and_query(echo_client: httpx.AsyncClient) -> None:
    form = [
        ("media_ids[]", "1"),
        ("media_ids[]", "2"),
        ("sensitive", "1"),
        ("limit", "5"),
        ("poll[options][]", "a"),
        ("poll[options][]", "b"),
        ("poll[multiple]", "False"),
        ("poll[expires_in]", "300"),
    ]
    response = await echo_client.post(
        "/api/test/echo",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json() == EXPECTED
    indexed = await echo_client.post(
        "/api/test/echo",
        data={
            "media_ids[1]": "2",
            "media_ids[0]": "1",
            "sensitive": "true",
            "limit": "5",
            "poll[options][0]": "a",
            "poll[options][1]": "b",
            "poll[multiple]": "0",
            "poll[expires_in]": "300",
        },
    )
    assert indexed.json() == EXPECTED
    as_json = await echo_client.post(
        "/api/test/echo",
        json={
            "media_ids": ["1", 2],
            "sensitive": True,
            "limit": 5,
            "poll": {"options": ["a", "b"], "multiple": False, "expires_in": 300},
        },
    )
    assert as_json.json() == EXPECTED
    multipart = await echo_client.post(
        "/api/test/echo",
        data={
            "media_ids[]": ["1", "2"],
            "sensitive": "on",
            "limit": "5",
            "poll[options][]": ["a", "b"],
            "poll[multiple]": "off",
            "poll[expires_in]": "300",
        },
        files={"file": ("cat.png", b"\x89PNG")},
    )
    assert multipart.json() == {**EXPECTED, "file": "cat.png"}
    query = await echo_client.get(
        "/api/test/echo?media_ids[]=1&media_ids[]=2&sensitive=True&limit=5"
        "&poll[options][]=a&poll[options][]=b&poll[expires_in]=300"
    )
    assert query.json() == EXPECTED


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        (
            {"content": b'{"limit": 5,', "headers": {"Content-Type": "application/json"}},
            "Validation failed: body is not valid JSON",
        ),
        (
            {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
            "Validation failed: body must be a JSON object",
        ),
        ({"data": {"limit": "many"}}, "Validation failed: limit must be a whole number"),
        ({"data": {"limit": "41"}}, "Validation failed: limit must be at most 40"),
        ({"data": {"sensitive": "maybe"}}, "Validation failed: sensitive must be true or false"),
        ({"json": {"poll": "yes"}}, "Validation failed: poll must be an object"),
        (
            {"json": {"poll": {"expires_in": "soon"}}},
            "Validation failed: poll[expires_in] must be a whole number",
        ),
        ({"json": {"media_ids": [{"id": 1}]}}, "Validation failed: media_ids must be a list"),
        ({"data": {"file": "not a file"}}, "Validation failed: file must be a file"),
    ],
)
async def test_params_refuse_malformed_input(
    echo_client: httpx.AsyncClient, request_args: dict[str, Any], message: str
) -> None:
    response = await echo_client.post("/api/test/echo", **request_args)
    assert response.status_code == 422
    assert response.json()["error"].startswith(message)


@api(public=True)
async def numbers(request: Request, caller: Caller | None) -> Response:
    """A list of ids 1…100 (newest first), paged the Mastodon way."""
    page = PageRequest.of(await Params.of(request))
    ids = page.window(list(range(100, 0, -1)))
    return paged(request, [{"id": str(i)} for i in ids], ids)


async def test_paging_and_link_header(app: Starlette, settings: Settings) -> None:
    app.router.routes.insert(0, Route("/api/test/numbers", numbers, methods=["GET"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.base_url
    ) as client:
        first = await client.get("/api/test/numbers?limit=3&only=x")
        assert [item["id"] for item in first.json()] == ["100", "99", "98"]
        assert first.headers["link"] == (
            '<https://solo.test/api/test/numbers?limit=3&only=x&max_id=98>; rel="next", '
            '<https://solo.test/api/test/numbers?limit=3&only=x&min_id=100>; rel="prev"'
        )
        older = await client.get("/api/test/numbers", params={"limit": 3, "max_id": 98})
        assert [item["id"] for item in older.json()] == ["97", "96", "95"]
        newer = await client.get("/api/test/numbers", params={"limit": 2, "min_id": 10})
        assert [item["id"] for item in newer.json()] == ["12", "11"]
        since = await client.get("/api/test/numbers", params={"limit": 2, "since_id": 10})
        assert [item["id"] for item in since.json()] == ["100", "99"]
        default = await client.get("/api/test/numbers")
        assert len(default.json()) == 20
        capped = await client.get("/api/test/numbers", params={"limit": 500})
        assert len(capped.json()) == 40
        empty = await client.get("/api/test/numbers", params={"min_id": 100})
        assert empty.json() == [] and "link" not in empty.headers
        bad = await client.get("/api/test/numbers", params={"max_id": "abc"})
        assert bad.status_code == 422
        assert bad.json()["error"] == "Validation failed: max_id is not an id"
