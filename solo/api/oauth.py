"""OAuth 2 for client apps: the authorization page, the token endpoint, revocation and the
server metadata (RFC 6749, RFC 7636 PKCE, RFC 7009, RFC 8414), as Mastodon serves them.

Grants: `authorization_code` (with optional PKCE, S256 only), `password` (the user's name
and password; Mastodon 4.4 dropped it, but toot's `login_cli` and Mastodon.py's `log_in` use
it), `client_credentials` (an app-only token that reads no user data). The client authenticates
with its secret in the body or with HTTP Basic. The token endpoint's errors are RFC 6749's JSON:
`{"error": "invalid_grant", "error_description": "…"}`, 400 (401 for invalid_client).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api import scopes as scope_names
from solo.api.errors import ValidationFailed
from solo.api.params import Params
from solo.edge.ratelimit import client_address, failed_logins
from solo.errors import RequestError
from solo.instance import instance_of
from solo.passwords import MAX_LENGTH, check_password_async
from solo.store import oauth as store
from solo.store.account import get_account
from solo.store.oauth import OAuthApp

NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES: Final = ("authorization_code", "password", "client_credentials")


class OAuthError(RequestError):
    """A refused token request, answered in RFC 6749's shape by the endpoint itself."""

    def __init__(
        self, code: str, description: str, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Issued:
    token: str
    scopes: tuple[str, ...]
    created_at: float


def _answer(error: OAuthError, basic: bool) -> Response:
    headers = dict(NO_STORE)
    if error.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="Solo"'
    return JSONResponse(
        {"error": error.code, "error_description": error.message},
        status_code=error.status,
        headers=headers,
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "The Basic credentials are malformed.", 401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "The Basic credentials are malformed.", 401)
    return unquote_plus(client_id), unquote_plus(secret)


async def client_of(request: Request, params: Params) -> OAuthApp:
    """The app making a token request, once its secret checks out; else invalid_client."""
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, secret = basic
    else:
        client_id = params.string("client_id") or ""
        secret = params.string("client_secret") or ""
    db = instance_of(request).db
    app = await store.get_app_by_client_id(db, client_id) if client_id else None
    expected = app.secret_hash if app is not None else "0" * 64
    matches = hmac.compare_digest(expected.encode(), store.digest(secret).encode())
    if app is None or not secret or not matches:
        raise OAuthError("invalid_client", "Client authentication failed.", 401)
    return app


def _requested_scopes(params: Params, app: OAuthApp) -> tuple[str, ...]:
    try:
        requested = scope_names.parse(params.string("scope") or params.string("scopes"))
    except scope_names.ScopeError as error:
        raise OAuthError("invalid_scope", str(error)) from None
    if not scope_names.within(requested, app.scopes):
        raise OAuthError("invalid_scope", "The app was not registered for these scopes.")
    return requested


def pkce_matches(method: str | None, challenge: str, verifier: str) -> bool:
    """Whether the verifier answers an S256 challenge; no other method is accepted."""
    if method != "S256":
        return False
    hashed = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(hashed).decode().rstrip("=")
    return hmac.compare_digest(computed.encode(), challenge.encode())


async def _issue(request: Request, app: OAuthApp, scopes: tuple[str, ...], user: bool) -> Issued:
    token = secrets.token_urlsafe(32)
    async with instance_of(request).db.transaction() as conn:
        _, created_at = await store.insert_token(
            conn, token_hash=store.digest(token), app_id=app.id, scopes=scopes, user=user
        )
    return Issued(token, scopes, created_at)


async def _code_grant(request: Request, app: OAuthApp, params: Params) -> Issued:
    code = params.string("code")
    if not code:
        raise OAuthError("invalid_request", "The code is missing.")
    redirect_uri = params.string("redirect_uri")
    verifier = params.string("code_verifier")
    code_hash = store.digest(code)
    token = secrets.token_urlsafe(32)
    problem = "The code is unknown."
    issued: Issued | None = None
    async with instance_of(request).db.transaction() as conn:
        grant = await store.read_code(conn, code_hash)
        if grant is None or grant.app_id != app.id:
            pass
        elif grant.used_at is not None:
            # A code seen twice may have been stolen: what it bought is taken back too.
            if grant.token_id is not None:
                await store.revoke_token_id(conn, grant.token_id)
            problem = "The code was used already."
        elif grant.expires_at < time.time():
            problem = "The code has expired."
        elif redirect_uri != grant.redirect_uri:
            # RFC 6749 4.1.3: required, and the same, since the authorization request had one.
            problem = "The redirect URI does not match the one the code was issued for."
        elif grant.code_challenge is None and verifier:
            # RFC 9700 4.8.2: a verifier for a code issued without a challenge means the code
            # may have been injected into someone else's flow.
            problem = "The code was issued without a code challenge, yet a verifier was sent."
        elif grant.code_challenge is not None and (
            not verifier
            or not pkce_matches(grant.code_challenge_method, grant.code_challenge, verifier)
        ):
            problem = "The code verifier does not match the code challenge."
        else:
            token_id, created_at = await store.insert_token(
                conn, token_hash=store.digest(token), app_id=app.id, scopes=grant.scopes, user=True
            )
            await store.mark_code_used(conn, code_hash, token_id)
            issued = Issued(token, grant.scopes, created_at)
    if issued is None:
        raise OAuthError("invalid_grant", problem)
    return issued


async def _password_grant(request: Request, app: OAuthApp, params: Params) -> Issued:
    username = (params.string("username") or "").strip().lstrip("@").lower()
    password = params.string("password") or ""
    if not username or not password:
        raise OAuthError("invalid_request", "The username and password are both needed.")
    scopes = _requested_scopes(params, app)
    window = failed_logins(request)
    address = client_address(request)
    # Counted before the check, so that concurrent guesses cannot all pass the limit.
    wait = window.reserve(address)
    if wait is not None:
        raise OAuthError(
            "invalid_request",
            f"Too many failed logins from your address. Try again in {wait} seconds.",
            429,
            retry_after=wait,
        )
    instance = instance_of(request)
    account = await get_account(instance.db)
    domain = instance.settings.domain
    names = set() if account is None else {account.username, f"{account.username}@{domain}"}
    if (
        account is None
        or not await check_password_async(password[:MAX_LENGTH], account.password_hash)
        or username not in names
    ):
        raise OAuthError("invalid_grant", "The username and password do not match.")
    window.release(address)
    return await _issue(request, app, scopes, user=True)


async def token(request: Request) -> Response:
    """`POST /oauth/token`."""
    basic = False
    try:
        try:
            params = await Params.of(request)
        except ValidationFailed as error:
            raise OAuthError("invalid_request", error.message) from None
        basic = request.headers.get("authorization", "").lower().startswith("basic ")
        grant_type = params.string("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "The grant_type is missing.")
        if grant_type not in GRANT_TYPES:
            raise OAuthError(
                "unsupported_grant_type", f"Solo does not know the grant type {grant_type[:64]!r}."
            )
        app = await client_of(request, params)
        if grant_type == "authorization_code":
            issued = await _code_grant(request, app, params)
        elif grant_type == "password":
            issued = await _password_grant(request, app, params)
        else:
            issued = await _issue(request, app, _requested_scopes(params, app), user=False)
    except OAuthError as error:
        response = _answer(error, basic)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    finally:
        await Params.close_of(request)
    body: dict[str, Any] = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": scope_names.text(issued.scopes),
        "created_at": int(issued.created_at),
    }
    return JSONResponse(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """`POST /oauth/revoke`: always `{}` (RFC 7009): whether a token existed is not told."""
    try:
        params = await Params.of(request)
        app = await client_of(request, params)
        raw = params.string("token")
        if raw:
            await store.revoke_token(instance_of(request).db, store.digest(raw), app.id)
    except (OAuthError, ValidationFailed):
        pass
    finally:
        await Params.close_of(request)
    return JSONResponse({}, headers=NO_STORE)


async def metadata(request: Request) -> Response:
    """`GET /.well-known/oauth-authorization-server` (RFC 8414)."""
    base = instance_of(request).settings.base_url
    return JSONResponse(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "scopes_supported": sorted(scope_names.ALL),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )


routes: list[BaseRoute] = [
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET", "HEAD"]),
]
