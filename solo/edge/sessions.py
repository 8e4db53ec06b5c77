"""A signed session cookie (itsdangerous), CSRF tokens and the logged-in check.

A login is also a row on the server (`solo.store.sessions`), named by a random id in the cookie:
the middleware checks it once per request, so a cookie copied before logging out, or before
"log out everywhere", is refused like a forged one, and the browser is told to drop it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solo.edge.middleware import is_inbox
from solo.edge.owner_first import OwnerFirst
from solo.errors import Forbidden
from solo.events import Event
from solo.federation.context import federation_of
from solo.instance import Instance, instance_of
from solo.lazy import lazy
from solo.net.fetch import user_action
from solo.readpool import owner_reads
from solo.store import sessions as store
from solo.store.account import Account

if TYPE_CHECKING:
    import itsdangerous
else:  # at the first cookie to read or write: a start answers its first requests without it
    itsdangerous = lazy("itsdangerous")

COOKIE = "solo_session"
MAX_AGE = 30 * 24 * 3600
CSRF_FIELD = "csrf"
MAX_CSRF_FIELD = 256  # a masked token is 86 characters
SESSION_ID = "sid"
# The bus event a logout publishes: open streams check their own login again.
SESSIONS_ENDED = "sessions.ended"
ACCOUNT = "solo.account"  # the scope key of the logged-in account, once the middleware checked it
TOUCH_EVERY = 3600.0  # how stale a session's last_seen_at may get before it is written again


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
            is_inbox(scope["path"]) and not _has_cookie(scope)
        ):
            await self.app(scope, receive, send)
            return
        instance: Instance = scope["app"].state.instance
        session: dict[str, Any] = {}
        cookie = _cookie_value(scope)
        if cookie:
            try:
                loaded = _serializer(instance).loads(cookie, max_age=MAX_AGE)
            except itsdangerous.BadSignature:
                loaded = None
            if isinstance(loaded, dict):
                session = loaded
        before = json.dumps(session, sort_keys=True)
        scope["session"] = session
        scope[ACCOUNT] = None
        if "auth" in session and not scope["path"].startswith("/static/"):
            # Only a login ever signs "auth" into a cookie: checking it goes ahead of the crowd.
            with owner_reads():
                scope[ACCOUNT] = await _logged_in(instance, session)
            if scope[ACCOUNT] is None:
                session.clear()  # an ended login: the answer tells the browser to drop it

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = json.dumps(scope["session"], sort_keys=True)
                if after != before:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", self._set_cookie(instance, scope)))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    @staticmethod
    def _set_cookie(instance: Instance, scope: Scope) -> bytes:
        session = scope["session"]
        secure = "; Secure" if instance.settings.secure_cookies else ""
        if not session:
            value, max_age = "", 0
        else:
            value, max_age = str(_serializer(instance).dumps(session)), MAX_AGE
        return (
            f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ).encode()


def _serializer(instance: Instance) -> itsdangerous.URLSafeTimedSerializer:
    return itsdangerous.URLSafeTimedSerializer(instance.session_secret, salt="solo.session")


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
    """The session's CSRF secret (made on first use). Pages carry it masked: `masked_csrf_token`."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session[CSRF_FIELD] = token
    return token


def masked_csrf_token(request: Request) -> str:
    """The CSRF secret as a page carries it: a fresh random mask, then the secret XOR the mask,
    in base64. Every render writes a different string, so a compressed page beside text an
    attacker chose (a search, a post) tells nothing about the secret through its size (BREACH).
    """
    secret = csrf_token(request).encode()
    mask = secrets.token_bytes(len(secret))
    masked = bytes(a ^ b for a, b in zip(mask, secret, strict=True))
    return base64.urlsafe_b64encode(mask + masked).decode().rstrip("=")


def _unmasked(sent: str, expected: str) -> bytes:
    """What a form sent, the mask removed; the plain secret (a page from before masking) as is."""
    if len(sent) == len(expected) or len(sent) > MAX_CSRF_FIELD:
        return sent.encode()
    try:
        raw = base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4))
    except (ValueError, binascii.Error):
        return b""
    half = len(raw) // 2
    if half == 0 or len(raw) % 2:
        return b""
    return bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True))


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's; else Forbidden."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(_unmasked(sent, expected), expected.encode())
    ):
        await form.close()
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again."
        )
    return form


def _password_fingerprint(instance: Instance, password_hash: str) -> str:
    """Ties a session to the current password: changing it (even with `solo password`, which
    touches no session row) logs every session out."""
    key = instance.session_secret.encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def _logged_in(instance: Instance, session: dict[str, Any]) -> Account | None:
    """The account when the session is a live login with the current password, else None."""
    auth = session.get("auth")
    session_id = session.get(SESSION_ID)
    if not isinstance(auth, str) or not isinstance(session_id, str):
        return None
    now = time.time()
    found = await store.account_of_session(instance.db, _digest(session_id), now, MAX_AGE)
    if found is None:
        return None
    account, seen_at = found
    expected = _password_fingerprint(instance, account.password_hash)
    if not hmac.compare_digest(auth.encode(), expected.encode()):
        return None
    if now - seen_at > TOUCH_EVERY:
        await store.touch_session(instance.db, _digest(session_id), now)
    return account


async def log_in(request: Request, account: Account) -> None:
    """Start a new session for this browser (a new id: one planted before login is useless)."""
    instance = instance_of(request)
    await _end(request)
    session_id = secrets.token_urlsafe(32)
    await store.open_session(instance.db, _digest(session_id), time.time(), MAX_AGE)
    request.session["auth"] = _password_fingerprint(instance, account.password_hash)
    request.session[SESSION_ID] = session_id
    request.scope[ACCOUNT] = account
    csrf_token(request)


async def _end(request: Request) -> None:
    session_id = request.session.get(SESSION_ID)
    if isinstance(session_id, str):
        await store.end_session(instance_of(request).db, _digest(session_id))
    request.session.clear()
    request.scope[ACCOUNT] = None


def _sessions_ended(request: Request) -> None:
    """Tell the open pages' streams to check their login again (`still_logged_in`)."""
    federation_of(request).events.publish(Event(SESSIONS_ENDED, "user"))


async def log_out(request: Request) -> None:
    """End this browser's session, on the server too: a saved copy of the cookie is refused,
    and a stream it opened ends."""
    await _end(request)
    _sessions_ended(request)


async def log_out_everywhere(request: Request) -> int:
    """End every session, this one included; how many there were."""
    ended = await store.end_sessions(instance_of(request).db)
    request.session.clear()
    request.scope[ACCOUNT] = None
    _sessions_ended(request)
    return ended


async def still_logged_in(request: Request) -> bool:
    """Whether the login this (long) request began with is still live."""
    return await _logged_in(instance_of(request), dict(request.session)) is not None


async def current_account(request: Request) -> Account | None:
    """The account when this request carries a live login, else None (checked by `Sessions`)."""
    account = request.scope.get(ACCOUNT)
    return account if isinstance(account, Account) else None


def _bearer(scope: Scope) -> bool:
    return any(
        name == b"authorization" and value[:7].lower() == b"bearer "
        for name, value in scope["headers"]
    )


class OwnRequests:
    """Serves the user's own requests (a page while logged in, an API call with a token)
    within `user_action`, so what they fetch from other servers takes the user's connections:
    deliveries, backfill and senders posting to the inbox cannot fill those.

    A live login also reads the database ahead of anonymous visitors (`owner_reads`), and its
    pages hold visitors' page requests back until they are answered (`owner_first`). A token
    gets that only once the API has checked it (`solo.api.auth`): anyone can send a header.

    Goes inside `Sessions`, which has checked the login by then."""

    def __init__(self, app: ASGIApp, owner_first: OwnerFirst | None = None) -> None:
        self.app = app
        self.owner_first = OwnerFirst() if owner_first is None else owner_first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get(ACCOUNT) is not None:
            with (
                user_action(),
                owner_reads(),
                self.owner_first.until_answered(scope["method"], send) as answering,
            ):
                await self.app(scope, receive, answering)
        elif scope["type"] == "websocket" and scope.get(ACCOUNT) is not None:
            with user_action(), owner_reads():
                await self.app(scope, receive, send)
        elif scope["type"] in ("http", "websocket") and _bearer(scope):
            with user_action():
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)
