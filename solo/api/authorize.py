"""The authorization page of the code flow: `GET /oauth/authorize` (with or without a trailing
slash) asks the logged-in user to approve an app; `POST` answers with a code at the app's
redirect URI, or on the page itself for `urn:ietf:wg:oauth:2.0:oob`.

A request the page cannot trust (unknown client, a redirect URI the app did not register) is
refused on the page and never redirected, so the page cannot bounce anyone to a foreign site.
Mastodon.py sends unset options as the text `None` (`state=None`, `lang=None`) and
`force_login=False`; those are read as absent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api import scopes as scope_names
from solo.api.apps import OOB
from solo.edge.middleware import CONTENT_SECURITY_POLICY
from solo.edge.sessions import checked_form, current_account
from solo.edge.templating import render
from solo.errors import BadRequest
from solo.instance import instance_of
from solo.store import oauth as store
from solo.store.oauth import OAuthApp

FIELDS: Final = (
    "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
)  # fmt: skip
_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_SCHEME_SOURCE: Final = re.compile(r"^[a-z][a-z0-9+.-]*$")
DESCRIPTIONS: Final = {
    "read": "read everything: your posts, timelines, notifications, follows, lists…",
    "write": "change everything: post, boost, favourite, follow, edit your profile…",
    "follow": "read and change whom you follow, block and mute",
    "push": "receive your notifications by Web Push",
    "profile": "read your profile only",
}


@dataclass(frozen=True)
class Authorization:
    """A checked authorization request."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def hidden_fields(self) -> dict[str, str]:
        return {
            "client_id": self.app.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope_names.text(self.scopes),
            "state": self.state or "",
            "code_challenge": self.code_challenge or "",
            "code_challenge_method": self.code_challenge_method or "",
        }


def _value(values: Mapping[str, str], key: str) -> str | None:
    """A parameter, with Mastodon.py's literal "None" (and empty text) read as absent."""
    value = values.get(key)
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", "None", "null") else value


async def _checked(request: Request, values: Mapping[str, str]) -> Authorization:
    client_id = _value(values, "client_id")
    app = None
    if client_id:
        app = await store.get_app_by_client_id(instance_of(request).db, client_id)
    if app is None:
        raise BadRequest("This app is not registered here (unknown client_id).")
    redirect_uri = _value(values, "redirect_uri")
    if redirect_uri is None and len(app.redirect_uris) == 1:
        redirect_uri = app.redirect_uris[0]
    if redirect_uri not in app.redirect_uris:
        raise BadRequest("The redirect URI is not one the app registered.")
    response_type = _value(values, "response_type") or "code"
    if response_type != "code":
        raise BadRequest("Only response_type=code is supported.")
    try:
        scopes = scope_names.parse(_value(values, "scope") or _value(values, "scopes"))
    except scope_names.ScopeError as error:
        raise BadRequest(f"The app asks for an unknown scope: {error}.") from None
    if not scope_names.within(scopes, app.scopes):
        raise BadRequest("The app asks for scopes it did not register for.")
    challenge = _value(values, "code_challenge")
    method = _value(values, "code_challenge_method")
    if challenge is None:
        method = None
    else:
        # RFC 7636 reads a missing method as `plain`, which sends the secret itself through
        # the browser; the metadata advertises S256 alone, as Mastodon's does.
        if method != "S256":
            raise BadRequest(
                "The code_challenge_method must be S256 (plain, or none given, is not accepted)."
            )
        if not _CHALLENGE.match(challenge):
            raise BadRequest("The code_challenge is malformed.")
    state = _value(values, "state")
    if state is not None and len(state) > 2000:
        raise BadRequest("The state is too long.")
    return Authorization(app, redirect_uri, scopes, state, challenge, method)


def _form_action_source(redirect_uri: str) -> str | None:
    """What the page's Content-Security-Policy must allow for the browser to follow the
    redirect after the form (Chrome applies form-action to it)."""
    if redirect_uri == OOB:
        return None
    scheme = redirect_uri.partition(":")[0].lower()
    if scheme in ("http", "https"):
        parts = urlsplit(redirect_uri)
        if parts.hostname and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", parts.netloc):
            return f"{scheme}://{parts.netloc}"
        return None
    return f"{scheme}:" if _SCHEME_SOURCE.match(scheme) else None


def _consent_headers(redirect_uri: str) -> dict[str, str]:
    source = _form_action_source(redirect_uri)
    if source is None:
        return {}
    policy = CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {source}")
    return {"Content-Security-Policy": policy}


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


async def authorize_page(request: Request) -> Response:
    values = dict(request.query_params)
    authorization = await _checked(request, values)
    if await current_account(request) is None:
        here = request.url.path + "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
    return render(
        request,
        "oauth_authorize.html",
        {
            "authorization": authorization,
            "app": authorization.app,
            "scopes": [
                (scope, DESCRIPTIONS.get(scope, scope.replace(":", " ")))
                for scope in authorization.scopes
            ],
            "oob": authorization.redirect_uri == OOB,
            "code": None,
            "denied": False,
        },
        headers=_consent_headers(authorization.redirect_uri),
    )


async def authorize(request: Request) -> Response:
    if await current_account(request) is None:
        return RedirectResponse("/login", status_code=303)
    form = await checked_form(request)
    values = {key: str(form.get(key, "")) for key in FIELDS}
    authorization = await _checked(request, values)
    approved = form.get("decision") == "approve"
    oob = authorization.redirect_uri == OOB
    state = {"state": authorization.state} if authorization.state else {}
    if not approved:
        if oob:
            denied = {"app": authorization.app, "code": None, "denied": True}
            return render(request, "oauth_authorize.html", denied)
        target = _with_query(authorization.redirect_uri, {"error": "access_denied", **state})
        return RedirectResponse(target, status_code=303)
    code = secrets.token_urlsafe(32)
    await store.create_code(
        instance_of(request).db,
        code_hash=store.digest(code),
        app_id=authorization.app.id,
        redirect_uri=authorization.redirect_uri,
        scopes=authorization.scopes,
        code_challenge=authorization.code_challenge,
        code_challenge_method=authorization.code_challenge_method,
    )
    if oob:
        context: dict[str, object] = {"app": authorization.app, "code": code, "denied": False}
        return render(request, "oauth_authorize.html", context)
    target = _with_query(authorization.redirect_uri, {"code": code, **state})
    return RedirectResponse(target, status_code=303)


routes: list[BaseRoute] = [
    Route("/oauth/authorize", authorize_page, methods=["GET", "HEAD"]),
    Route("/oauth/authorize/", authorize_page, methods=["GET", "HEAD"]),
    Route("/oauth/authorize", authorize, methods=["POST"]),
    Route("/oauth/authorize/", authorize, methods=["POST"]),
]
