"""One delivery connection: an asyncio Protocol that sends a request and reads its answer.

A fan-out opens a connection to each of thousands of servers and exchanges one small request and
one small answer on it. Through asyncio's streams each delivery cost a StreamReader, a
StreamWriter, their protocol and a future for every `readuntil` and `drain`; here the transport
calls this protocol directly and httptools (llhttp, uvicorn's parser) reads the answer, which
usually arrives in one piece: a delivery waits on one future.

The answer is bounded as the `Poster` promises: its head by `MAX_HEAD`, its body by `cap` (the
rest is not read: the connection goes), and silence by `read_timeout` per wait (reset whenever
bytes arrive). A request is written at once; a server that does not read it does not answer, and
the read timeout ends the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import TYPE_CHECKING, Final

from solo.lazy import lazy

if TYPE_CHECKING:
    import httptools
else:  # at the first delivery, not at start (see solo.lazy)
    httptools = lazy("httptools")

MAX_HEAD: Final = 64 * 1024  # status line and headers of an answer


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as we read it."""


class Stale(Exception):
    """A kept-alive connection was closed by the server before it answered: try a new one."""


class PostConnection(asyncio.Protocol):
    """A connection to one server, and the answer being read on it."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
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
        self.size = 0  # body bytes kept
        self.head_size = 0  # bytes received before the head was complete
        self.header_bytes = 0  # of the header fields read
        self.interim = False
        self.headers_done = False
        self.complete = False
        self.cut = False  # the body went past the cap: the rest is not read
        self.keep_alive = False
        self.error: Exception | None = None
        self.received = False

    async def exchange(self, message: bytes, read_timeout: float) -> None:
        """Send `message` and wait until its answer is complete (or cut at the cap); raises
        `ProtocolError`, `ConnectionError` (nothing received) or `TimeoutError`."""
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            raise ConnectionResetError("the connection closed before the request")
        if self.received:
            self._start()  # a kept-alive connection's previous answer
        loop = asyncio.get_running_loop()
        transport.write(message)
        self._last_data = loop.time()
        while not self.complete and self.error is None:
            waiter = self._waiter = loop.create_future()
            timer = loop.call_at(self._last_data + read_timeout, self._silent, read_timeout)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        if self.error is not None:
            raise self.error

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.cut and not self.closed

    def _silent(self, read_timeout: float) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        loop = waiter.get_loop()
        due = self._last_data + read_timeout
        if loop.time() < due:  # bytes came meanwhile: wait on from the last of them
            self._waiter = None
            waiter.set_result(None)
        else:
            waiter.set_exception(TimeoutError(f"no answer for {read_timeout:g} s"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def drop(self) -> None:
        """Close a connection with nothing in flight by a reset, leaving no TIME_WAIT behind.

        A fan-out touches thousands of servers once each; closed gracefully, each connection
        dropped from the pool would hold a TIME_WAIT entry on our side for a minute.
        """
        transport = self.transport
        if transport is None or self.closed:
            return
        self.closed = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def wait_closed(self) -> None:
        if self.transport is None or self._disconnected:
            return
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        await self._lost

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.complete or self.error is not None:
            self.keep_alive = False  # bytes nobody asked for: this connection serves no more
            return
        self.received = True
        if self._waiter is not None:
            self._last_data = self._waiter.get_loop().time()
        if not self.headers_done:
            self.head_size += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.complete = True  # an upgrade (101) nobody asked for: the connection goes
            self.cut = True
        except httptools.HttpParserError as error:
            if self.headers_done:
                self.error = ProtocolError(f"a malformed answer: {error}")
            else:
                self.error = ProtocolError(f"not an HTTP/1.x status line and head: {error}")
        if not self.headers_done and self.head_size > MAX_HEAD and self.error is None:
            self.error = ProtocolError(f"an answer's head over {MAX_HEAD} bytes")
        if self.error is not None or self.cut:
            self.close()
        if self.complete or self.error is not None:
            self._wake()

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
                self.error = ProtocolError("the connection closed within the answer")
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
            return
        self.status = status
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.cut or self.complete:
            return
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
