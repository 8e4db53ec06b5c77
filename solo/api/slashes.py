"""API paths with a trailing slash (`/api/v1/instance/`, `/oauth/token/`) are the same endpoint.

Clients add the slash (Mastodon.py does for the instance); a redirect would cost a round trip
and, for a browser client, a second CORS check. The path is rewritten before routing instead.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIXES: Final = ("/api/", "/oauth/")


class TrailingSlash:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] in ("http", "websocket")
            and path.startswith(PREFIXES)
            and path.endswith("/")
            and path.rstrip("/") not in ("/api", "/oauth")
        ):
            trimmed = path.rstrip("/")
            raw = scope.get("raw_path")
            scope = {
                **scope,
                "path": trimmed,
                "raw_path": raw.rstrip(b"/") if isinstance(raw, bytes) else raw,
            }
        await self.app(scope, receive, send)
