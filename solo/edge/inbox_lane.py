"""The inbox's own lane: `POST /inbox`, `/actor/inbox` and `/users/NAME/inbox` as a raw ASGI
app, with no Starlette request, router or response on the way to a 202.

At thousands of activities a second those objects, and the layers that build them, cost more
than verifying the signature. This lane reads the body within the inbox's size limit, hands
it to `inbox.accept` (the same checks, in the same order, as the Starlette endpoint
`inbox.receive`), and answers 202 with two `send` calls of headers built once. Refusals are
rarer, and take the app's exception handlers, so that every one gets the same status, message
and content type from both doors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from solo.edge.middleware import answer_text, too_large
from solo.errors import RequestError
from solo.federation import inbox
from solo.federation.context import Federation
from solo.federation.traffic import traffic_of

Handler = Callable[[Request, Exception], Awaitable[Response]]

_ACCEPTED_HEADERS = [(b"content-length", b"0")]


class InboxLane:
    """The inbox POSTs as an ASGI app; `handlers` answer what it raises, as the app's
    exception handlers do (looked up by the exception's class and its bases)."""

    def __init__(self, limit: int, handlers: Mapping[type[Exception], Handler]) -> None:
        self.limit = limit
        self.handlers = dict(handlers)
        self.handled = tuple(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        federation: Federation = scope["app"].state.federation
        traffic = traffic_of(federation)
        traffic.arrived()  # the ingress worker stands aside meanwhile (solo.federation.traffic)
        try:
            fields = inbox.fields_of(scope)
            body = await self._body(fields, receive, send)
            if body is None:
                return
            try:
                answer = await inbox.accept(scope, federation, fields, body)
            except RequestError as error:
                await inbox.record_refusal(federation, scope, fields, body, error)
                await self._refuse(scope, receive, send, error)
                return
            except self.handled as error:
                await self._refuse(scope, receive, send, error)
                return
            if answer is inbox.ACCEPTED:
                await send(
                    {"type": "http.response.start", "status": 202, "headers": _ACCEPTED_HEADERS}
                )
                await send({"type": "http.response.body", "body": b""})
            else:
                await answer(scope, receive, send)
        finally:
            traffic.answered()

    async def _body(
        self, fields: dict[str, list[str]], receive: Receive, send: Send
    ) -> bytes | None:
        """The request body, or None once the request is answered (too large, a wrong
        Content-Length) or gone (the client disconnected)."""
        limit = self.limit
        for value in fields.get("content-length", ()):
            try:
                declared = int(value)
            except ValueError:
                await answer_text(send, 400, b"Content-Length is not a number")
                return None
            if declared > limit:
                await answer_text(send, 413, too_large(limit))
                return None
        chunks: list[bytes] = []
        received = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":
                return None  # http.disconnect: nobody to answer
            chunk: bytes = message.get("body", b"")
            if chunk:
                received += len(chunk)
                if received > limit:
                    await answer_text(send, 413, too_large(limit))
                    return None
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
        """Answer `error` as the app's handler for its class does."""
        for cls in type(error).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                response = await handler(Request(scope, receive), error)
                await response(scope, receive, send)
                return
        raise error  # not reached: `handled` lists the handlers' classes
