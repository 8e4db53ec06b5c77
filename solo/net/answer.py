"""One HTTP/1.1 answer reader: an asyncio Protocol that sends a request and reads its answer.

Solo's two lean clients, deliveries (`federation.poster`) and key fetches (`net.key_client`),
exchange one small request and one small answer per connection with thousands of servers.
Through asyncio's streams each exchange cost a StreamReader, a StreamWriter and a future for
every read; here the transport calls this protocol directly and httptools (llhttp, uvicorn's
parser) reads the answer, which usually arrives in one piece: an exchange waits on one future.

What every answer is held to, whoever reads it:

- its head (status line and header fields) by `MAX_HEAD`;
- interim answers (100 Continue, 103 Early Hints) are skipped: the real answer follows;
- an upgrade (101) ends the answer and the connection, which serves no more;
- bytes after a complete answer are nobody's: not read, and the connection serves no more;
- a body without length or chunks ends with the connection;
- silence by `read_timeout` per wait (reset whenever bytes arrive).

The body is read one of two ways. Kept (`stream=False`, deliveries): up to `cap` bytes, the rest
not read (the answer is cut and the connection goes). Streamed (`stream=True`, key fetches): the
reader takes chunks as they come (`chunks`) and enforces its own caps; past `MAX_BUFFERED` bytes
not yet taken, the socket is not read (back-pressure).

Errors: `ProtocolError` (not HTTP/1.x as we read it), `ConnectionResetError` (closed before any
byte of an answer: a kept-alive connection the server dropped), `TimeoutError` (silence).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final, cast

from solo.lazy import lazy

if TYPE_CHECKING:
    import httptools
else:  # at the first exchange, not at start (see solo.lazy)
    httptools = lazy("httptools")

MAX_HEAD: Final = 64 * 1024  # status line and headers of an answer
# Streamed body bytes read but not yet taken by the reader: past this, the socket is not read.
MAX_BUFFERED: Final = 256 * 1024
_LINGER_RESET: Final = struct.pack("ii", 1, 0)


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as we read it."""


class AnswerReader(asyncio.Protocol):
    """A connection to one server, and the answer being read on it; see the module."""

    def __init__(self, cap: int = 0, *, stream: bool = False) -> None:
        self.cap = cap  # body bytes kept (not streamed)
        self.stream = stream
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._disconnected = False  # connection_lost came
        self._last_data = 0.0
        self._start()

    def _start(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.fields: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.size = 0  # body bytes kept, or buffered while streaming
        self.head_size = 0  # bytes received before the head was complete
        self.header_bytes = 0  # of the header fields read
        self.interim = False
        self.headers_done = False
        self.complete = False
        self.cut = False  # the rest of the answer is not read: the connection goes
        self.keep_alive = False
        self.error: Exception | None = None
        self.received = False
        self._head_wanted = False

    # What the clients call

    def send(self, message: bytes) -> None:
        """Write a request; its answer is read into this reader's fields. Raises
        `ConnectionResetError` if the connection closed already."""
        if self.received:
            self._start()  # a kept-alive connection's previous answer
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            # (nothing of this answer received: the caller may try a new connection)
            raise ConnectionResetError("the connection closed before the request")
        transport.write(message)
        self._last_data = asyncio.get_running_loop().time()

    async def head(self, read_timeout: float) -> None:
        """Until the answer's status and header fields are read (interim answers skipped)."""
        self._head_wanted = True
        try:
            while not self.headers_done and self.error is None and not self.complete:
                await self._wait(read_timeout)
        finally:
            self._head_wanted = False
        if self.error is not None and not self.headers_done:
            raise self.error

    async def answer(self, read_timeout: float, due: float | None = None) -> None:
        """Until the answer is complete (or cut at the cap); TimeoutError after `read_timeout`
        seconds of silence, or at the loop time `due` if given (a total deadline, kept by the
        same timer)."""
        while not self.complete and self.error is None:
            await self._wait(read_timeout, due)
        if self.error is not None:
            raise self.error

    async def body(self, read_timeout: float) -> AsyncIterator[bytes]:
        """The streamed body, chunk by chunk as it arrives; then the error, if one came."""
        while True:
            if self.chunks:
                for chunk in self.take_chunks():
                    yield chunk
            elif self.error is not None:
                raise self.error
            elif self.complete:
                return
            else:
                await self._wait(read_timeout)

    def take_chunks(self) -> list[bytes]:
        chunks, self.chunks, self.size = self.chunks, [], 0
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_reading():
            transport.resume_reading()
        return chunks

    @property
    def kept_body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def reusable(self) -> bool:
        """The answer was read to its end and the connection may carry the next request."""
        return (
            self.complete
            and self.keep_alive
            and self.error is None
            and not self.cut
            and not self.closed
            and not (self.stream and self.chunks)  # a streamed body not all taken
        )

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def drop(self) -> None:
        """Close a connection with nothing in flight by a reset, leaving no TIME_WAIT behind.

        A fan-out touches thousands of servers once each; closed gracefully, each connection
        dropped from a pool would hold a TIME_WAIT entry on our side for a minute.
        """
        transport = self.transport
        if transport is None or self.closed:
            return
        self.closed = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()

    async def wait_closed(self) -> None:
        if self.transport is None or self._disconnected:
            return
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        await self._lost

    # Waiting: one future per wait, woken only when what is waited for may have come.

    async def _wait(self, read_timeout: float, due: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        when = self._last_data + read_timeout
        if due is not None and due < when:
            when = due
        timer = loop.call_at(when, self._silent, read_timeout, due)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _silent(self, read_timeout: float, due: float | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        now = waiter.get_loop().time()
        if due is not None and now >= due:
            waiter.set_exception(TimeoutError("the total deadline passed"))
        elif now < self._last_data + read_timeout:
            waiter.set_result(None)  # bytes came meanwhile: wait on from the last of them
        else:
            waiter.set_exception(TimeoutError(f"no answer for {read_timeout:g} s"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports (`solo[fast]`) are not
        # subclasses of asyncio's.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.complete or self.error is not None:
            self.keep_alive = False  # bytes nobody asked for: this connection serves no more
            return
        self.received = True
        if self._waiter is not None or self.stream:  # (a streamed body may come between waits)
            self._last_data = asyncio.get_running_loop().time()
        if not self.headers_done:
            self.head_size += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.complete = True  # an upgrade (101) nobody asked for: the connection goes
            self.cut = True
        except httptools.HttpParserError as error:
            self._malformed(error)
        if not self.headers_done and self.head_size > MAX_HEAD and self.error is None:
            self.error = ProtocolError(f"an answer's head over {MAX_HEAD} bytes")
        if self.error is not None or self.cut:
            self.close()
        elif self.stream and self.size > MAX_BUFFERED and self.transport is not None:
            self.transport.pause_reading()  # until the reader takes what it has
        if (
            self.complete
            or self.error is not None
            or (self.headers_done and (self.stream or self._head_wanted))
        ):
            self._wake()

    def _malformed(self, error: Exception) -> None:
        if self.complete:  # what follows a complete answer is nobody's: the connection goes
            self.keep_alive = False
        elif self.headers_done:
            self.error = ProtocolError(f"a malformed answer: {error}")
        else:
            self.error = ProtocolError(f"not an HTTP/1.x status line and head: {error}")

    def eof_received(self) -> bool:
        return False  # the transport closes; connection_lost ends the answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disconnected = True
        if not self.complete and self.error is None:
            if self.headers_done and self._delimited_by_close():
                self.complete = True
            elif not self.received:
                self.error = ConnectionResetError("the connection closed before an answer")
            else:
                reason = f" ({exc})" if exc else ""
                self.error = ProtocolError(f"the connection closed within the answer{reason}")
        self._wake()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _delimited_by_close(self) -> bool:
        names = {name.lower() for name, _ in self.fields}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # httptools callbacks

    # Once an answer is complete, what follows in the same bytes is nobody's answer: it is not
    # read, and the connection serves no more.

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.fields.append((name, value))
            self.header_bytes += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        if self.complete:
            self.keep_alive = False
            return
        if self.header_bytes > MAX_HEAD and self.error is None:
            self.error = ProtocolError(f"an answer's head over {MAX_HEAD} bytes")
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.interim = True  # 100 Continue, 103 Early Hints: the real answer follows
            self.fields.clear()
            self.header_bytes = 0
            return
        self.status = status
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.cut or self.complete:
            return
        if not self.stream:
            room = self.cap - self.size
            if len(body) > room:
                body = body[:room]
                self.cut = True
                self.complete = True
        self.chunks.append(body)
        self.size += len(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        if self.complete:
            self.keep_alive = False
            return
        # Asked now: once the callback returns, the parser is ready for the next message.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
