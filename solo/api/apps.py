"""Registering client apps: `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`."""

from __future__ import annotations

import re
import secrets
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api import entities
from solo.api import scopes as scope_names
from solo.api.auth import authenticate
from solo.api.errors import InvalidToken, ValidationFailed
from solo.api.params import Params
from solo.edge.ratelimit import SlidingWindow
from solo.errors import TooManyRequests
from solo.instance import instance_of
from solo.store import oauth as store
from solo.store.oauth import OAuthApp

OOB: Final = "urn:ietf:wg:oauth:2.0:oob"
MAX_NAME: Final = 60  # Mastodon's limit on an app's name
MAX_URI: Final = 2000
MAX_REDIRECT_URIS: Final = 10
# Anyone may register an app; a flood of registrations from one address is refused.
REGISTRATIONS_PER_HOUR: Final = 30
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*$")
_FORBIDDEN_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})
_UNSAFE: Final = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\^{}|]")


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI is refused; None when it is fine. Custom schemes of mobile apps
    (`com.example.app:/oauth`) are fine; scripts, data and fragments are not."""
    if uri == OOB:
        return None
    if len(uri) > MAX_URI:
        return "is too long"
    if _UNSAFE.search(uri) or "#" in uri:
        return "must be an absolute URI without spaces, quotes or a fragment"
    scheme, colon, rest = uri.partition(":")
    scheme = scheme.lower()
    if not colon or not rest or not _SCHEME.match(scheme):
        return "must be an absolute URI"
    if scheme in _FORBIDDEN_SCHEMES:
        return f"may not use the {scheme}: scheme"
    if scheme in ("http", "https"):
        try:
            host = urlsplit(uri).hostname
        except ValueError:
            host = None
        if not host:
            return "must name a host"
    return None


def _redirect_uris(params: Params) -> tuple[str, ...]:
    raw = params.raw("redirect_uris")
    if isinstance(raw, list):
        items = params.strings("redirect_uris")
    else:
        items = params.required("redirect_uris").split("\n")
    uris = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not uris:
        raise ValidationFailed("redirect_uris", "can't be blank")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationFailed("redirect_uris", f"has more than {MAX_REDIRECT_URIS} URIs")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise ValidationFailed("redirect_uris", problem)
    return uris


def _website(params: Params) -> str | None:
    website = (params.string("website", max_length=MAX_URI) or "").strip()
    if not website:
        return None
    try:
        parts = urlsplit(website)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("website", "is not an http(s) URL")
    return website


def _registrations(request: Request) -> SlidingWindow:
    window: SlidingWindow | None = getattr(request.app.state, "app_registrations", None)
    if window is None:
        window = SlidingWindow(REGISTRATIONS_PER_HOUR, 3600.0)
        request.app.state.app_registrations = window
    return window


async def create_app(request: Request) -> Response:
    window = _registrations(request)
    address = request.client.host if request.client else "unknown"
    # Counted before the first await, so that concurrent registrations cannot all pass the limit;
    # handed back when the request is refused, since only registrations count.
    wait = window.reserve(address)
    if wait is not None:
        raise TooManyRequests(f"Too many apps registered from your address; wait {wait} s.", wait)
    registered = False
    try:
        app, secret = await _register(request)
        registered = True
    finally:
        if not registered:
            window.release(address)
    return JSONResponse(
        entities.application(
            app, client_secret=secret, vapid_key=instance_of(request).vapid.public_key
        )
    )


async def _register(request: Request) -> tuple[OAuthApp, str]:
    """The new app and its secret, from the request's checked parameters."""
    params = await Params.of(request)
    try:
        name = params.required("client_name", max_length=MAX_NAME).strip()
        redirect_uris = _redirect_uris(params)
        try:
            if isinstance(params.raw("scopes"), list):
                scopes = scope_names.parse(params.strings("scopes"))
            else:
                scopes = scope_names.parse(params.string("scopes"))
        except scope_names.ScopeError as error:
            raise ValidationFailed("scopes", str(error)) from None
        website = _website(params)
    finally:
        await Params.close_of(request)
    secret = secrets.token_urlsafe(32)
    app = await store.create_app(
        instance_of(request).db,
        client_id=secrets.token_urlsafe(32),
        secret_hash=store.digest(secret),
        name=name,
        redirect_uris=redirect_uris,
        scopes=scopes,
        website=website,
    )
    return app, secret


async def verify_app(request: Request) -> Response:
    """The app behind any valid token, app-only ones included."""
    caller = await authenticate(request)
    if caller is None:
        raise InvalidToken()
    app = await store.get_app(instance_of(request).db, caller.token.app_id)
    if app is None:
        raise InvalidToken()
    return JSONResponse(entities.application(app, vapid_key=instance_of(request).vapid.public_key))


routes: list[BaseRoute] = [
    Route("/api/v1/apps", create_app, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_app, methods=["GET"]),
]
