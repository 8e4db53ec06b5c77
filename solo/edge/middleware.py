"""Pure ASGI middleware: security headers on every answer, and a cap on request bodies."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solo.edge.assets import stylesheet_source
from solo.urls import INSTANCE_ACTOR_PATH

# Inline: the stylesheet alone, by its hash (a first visit's pages carry it, see assets).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self';"
    f" style-src 'self' {stylesheet_source()}; script-src 'self'; object-src 'none';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over a limit with 413, by Content-Length or while streaming.

    `limits` maps a path prefix to its own limit (the inbox takes 1 MB, uploads more); the
    longest matching prefix wins, else `default`.
    """

    def __init__(self, app: ASGIApp, default: int, limits: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = sorted(limits.items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await answer_text(send, 400, b"Content-Length is not a number")
                    return
                if declared > limit:
                    await answer_text(send, 413, too_large(limit))
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await answer_text(send, 413, too_large(limit))


def too_large(limit: int) -> bytes:
    return f"Request body too large: the limit here is {limit} bytes".encode()


async def answer_text(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


class ServerLane:
    """Sends server-to-server POSTs to the inboxes straight to `lane`, past the middleware
    that only browsers and apps need (CORS, trailing slashes, sessions, the user's own
    connection pool, security headers for pages): at a thousand activities a second those
    layers cost a fifth of the event loop for nothing. Everything else goes to `app`."""

    def __init__(self, app: ASGIApp, lane: ASGIApp) -> None:
        self.app = app
        self.lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and is_inbox(scope["path"]):
            await self.lane(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def is_inbox(path: str) -> bool:
    """The shared inbox, the instance actor's and a user's: `/inbox`, `/actor/inbox`,
    `/users/NAME/inbox` (a wrong name still gets its 404, from the lane's router)."""
    if path in ("/inbox", f"{INSTANCE_ACTOR_PATH}/inbox"):
        return True
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "users" and parts[2] != "" and parts[3] == "inbox"
