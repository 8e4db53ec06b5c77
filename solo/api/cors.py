"""CORS for browser clients (Elk, Phanpy…): the API, the OAuth token endpoints and the server
metadata may be read from any origin. They are authorised by bearer tokens, never by cookies,
so `*` lets a page read only what its own token allows.

A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here with 204; other
requests go on, and their answers get `Access-Control-Allow-Origin: *` and `Link` exposed.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIXES: Final = (
    "/api/",
    "/oauth/token",
    "/oauth/revoke",
    "/.well-known/oauth-authorization-server",
    "/nodeinfo",
)
METHODS: Final = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS: Final = b"Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS: Final = b"Link"
MAX_AGE: Final = b"86400"
ANSWER_HEADERS: Final = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", EXPOSED_HEADERS),
)


def covers(path: str) -> bool:
    return path.startswith(PREFIXES)


class Cors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covers(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *ANSWER_HEADERS,
                        (b"access-control-allow-methods", METHODS),
                        (b"access-control-allow-headers", ALLOWED_HEADERS),
                        (b"access-control-max-age", MAX_AGE),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [item for item in ANSWER_HEADERS if item[0] not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)
