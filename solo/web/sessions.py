"""A signed session cookie (itsdangerous), CSRF tokens and the logged-in check."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solo.errors import Forbidden
from solo.instance import Instance, instance_of
from solo.store.account import Account, get_account

COOKIE = "solo_session"
MAX_AGE = 30 * 24 * 3600
CSRF_FIELD = "csrf"


def _is_inbox(path: str) -> bool:
    """/inbox or /users/<name>/inbox."""
    if path == "/inbox":
        return True
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "users" and parts[2] != "" and parts[3] == "inbox"


def _has_cookie(scope: Scope) -> bool:
    return any(name == b"cookie" for name, _ in scope["headers"])


class Sessions:
    """Puts the signed cookie's content in `scope["session"]` and writes it back when changed.

    Inbox requests without a cookie (every server-to-server POST) pass untouched: they never
    use a session, and building one costs a serializer and two JSON dumps per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or (
            _is_inbox(scope["path"]) and not _has_cookie(scope)
        ):
            await self.app(scope, receive, send)
            return
        instance: Instance = scope["app"].state.instance
        serializer = URLSafeTimedSerializer(instance.session_secret, salt="solo.session")
        session: dict[str, Any] = {}
        cookie = _cookie_value(scope)
        if cookie:
            try:
                loaded = serializer.loads(cookie, max_age=MAX_AGE)
            except BadSignature:
                loaded = None
            if isinstance(loaded, dict):
                session = loaded
        before = json.dumps(session, sort_keys=True)
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = json.dumps(scope["session"], sort_keys=True)
                if after != before:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", self._set_cookie(instance, serializer, scope)))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    @staticmethod
    def _set_cookie(instance: Instance, serializer: URLSafeTimedSerializer, scope: Scope) -> bytes:
        session = scope["session"]
        secure = "; Secure" if instance.settings.secure_cookies else ""
        if not session:
            value, max_age = "", 0
        else:
            value, max_age = str(serializer.dumps(session)), MAX_AGE
        return (
            f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ).encode()


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session[CSRF_FIELD] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's; else Forbidden."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        await form.close()
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again."
        )
    return form


def _password_fingerprint(instance: Instance, password_hash: str) -> str:
    """Ties a session to the current password: changing it logs every session out."""
    key = instance.session_secret.encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def log_in(request: Request, account: Account) -> None:
    instance = instance_of(request)
    request.session.clear()
    request.session["auth"] = _password_fingerprint(instance, account.password_hash)
    csrf_token(request)


def log_out(request: Request) -> None:
    request.session.clear()


async def current_account(request: Request) -> Account | None:
    """The account when this request carries a valid login, else None."""
    auth = request.session.get("auth")
    if not isinstance(auth, str):
        return None
    instance = instance_of(request)
    account = await get_account(instance.db)
    if account is None:
        return None
    expected = _password_fingerprint(instance, account.password_hash)
    if not hmac.compare_digest(auth.encode(), expected.encode()):
        return None
    return account
