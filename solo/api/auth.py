"""Who calls the API: the bearer token, its scopes, and the `@api` decorator of endpoints.

An endpoint module is written as

    @api("read:statuses")                     # a user token holding read or read:statuses
    async def status(request: Request, caller: Caller) -> Response: ...

    @api("read:statuses", public=True)        # anyone; a token, when sent, must be valid
    async def public_timeline(request: Request, caller: Caller | None) -> Response: ...

    @api("read:accounts", "profile")          # any one of the scopes listed will do
    @api()                                    # any user token, whatever its scopes

The token comes from `Authorization: Bearer …`, else the `access_token` query parameter, else
(WebSocket handshakes only) `Sec-WebSocket-Protocol`. A missing (where needed), unknown or
revoked token answers 401 `{"error": "The access token is invalid"}`; a token without any of
the scopes 403 `{"error": "This action is outside the authorized scopes"}`; an app-only token
(client_credentials) where a user is needed 422, as Mastodon does. Endpoints raise the errors
of `solo.api.errors` (404 "Record not found", 422 "Validation failed: …") and `solo.app` turns
them into JSON. A token acting for the account reads the database ahead of anonymous requests
(`solo.readpool.owner_reads`), and its GETs go ahead of visitors' pages on the event loop
(`solo.edge.owner_first`); looking the token up does not, as anyone can send one. After the
endpoint returns, the temporary files of a multipart body read
through `Params.of` are closed.

`authenticate(connection)` is the same check without the decorator (for the streaming
WebSocket, or an endpoint that takes app tokens too); `caller_of(request)` is what it found.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, overload

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from solo.api import scopes as scope_names
from solo.api.errors import InvalidToken, OutsideScopes, UserRequired
from solo.api.params import Params
from solo.edge.owner_first import owner_first_of
from solo.instance import instance_of
from solo.readpool import owner_reads
from solo.store import oauth as store
from solo.store.oauth import AccessToken

TOUCH_EVERY: Final = 60.0  # seconds between two writes of a token's last_used_at
_STATE: Final = "solo_api_caller"

Endpoint = Callable[[Request], Awaitable[Response]]
UserEndpoint = Callable[[Request, "Caller"], Awaitable[Response]]
PublicEndpoint = Callable[[Request, "Caller | None"], Awaitable[Response]]


@dataclass(frozen=True)
class Caller:
    """The valid token behind a request."""

    token: AccessToken

    @property
    def user(self) -> bool:
        """Whether the token acts for the account (False: an app-only token)."""
        return self.token.user

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.token.scopes

    def allows(self, *needed: str) -> bool:
        """Whether the token holds any one of `needed` (or a scope that implies it)."""
        granted = scope_names.expand(self.token.scopes)
        return any(scope in granted for scope in needed)


def token_from(connection: HTTPConnection) -> str | None:
    """The raw token a request or WebSocket handshake carries, if any."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    query = connection.query_params.get("access_token", "").strip()
    if query:
        return query
    if connection.scope["type"] == "websocket":
        protocol = connection.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
        if protocol:
            return protocol
    return None


async def authenticate(connection: HTTPConnection) -> Caller | None:
    """The caller of a request: None without a token; InvalidToken for an unknown or revoked
    one. Records when the token was used (at most once a minute)."""
    raw = token_from(connection)
    if raw is None:
        return None
    if len(raw) > 512:
        raise InvalidToken()
    db = instance_of(connection).db
    token = await store.live_token(db, store.digest(raw))
    if token is None:
        raise InvalidToken()
    now = time.time()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        await store.touch_token(db, token.id, now)
    caller = Caller(token)
    setattr(connection.state, _STATE, caller)
    return caller


def caller_of(connection: HTTPConnection) -> Caller | None:
    """What `authenticate` found for this request, if it ran and found a token."""
    caller = getattr(connection.state, _STATE, None)
    return caller if isinstance(caller, Caller) else None


def _check(caller: Caller, needed: tuple[str, ...]) -> None:
    if needed and not caller.allows(*needed):
        raise OutsideScopes()


@overload
def api(*needed: str, public: Literal[False] = False) -> Callable[[UserEndpoint], Endpoint]: ...
@overload
def api(*needed: str, public: Literal[True]) -> Callable[[PublicEndpoint], Endpoint]: ...
def api(
    *needed: str, public: bool = False
) -> Callable[[UserEndpoint], Endpoint] | Callable[[PublicEndpoint], Endpoint]:
    """An API endpoint needing any one of the scopes `needed`; see the module docstring."""
    unknown = [scope for scope in needed if scope not in scope_names.ALL]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}")

    def for_user(endpoint: UserEndpoint) -> Endpoint:
        async def wrapped(request: Request) -> Response:
            try:
                caller = await authenticate(request)
                if caller is None:
                    raise InvalidToken()
                if not caller.user:
                    raise UserRequired()
                _check(caller, needed)
                with owner_reads(), owner_first_of(request.app).preparing(request.method):
                    return await endpoint(request, caller)
            finally:
                await Params.close_of(request)

        wrapped.__name__ = endpoint.__name__
        wrapped.__doc__ = endpoint.__doc__
        return wrapped

    def for_anyone(endpoint: PublicEndpoint) -> Endpoint:
        async def wrapped(request: Request) -> Response:
            try:
                caller = await authenticate(request)
                if caller is not None:
                    _check(caller, needed)
                with owner_reads():
                    return await endpoint(request, caller)
            finally:
                await Params.close_of(request)

        wrapped.__name__ = endpoint.__name__
        wrapped.__doc__ = endpoint.__doc__
        return wrapped

    return for_anyone if public else for_user
