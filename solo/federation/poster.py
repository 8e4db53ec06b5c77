"""The delivery client: signed HTTP/1.1 POSTs over asyncio streams, with kept-alive connections.

A fan-out sends one small body to thousands of inboxes; a general HTTP client spends more time
on itself than on that. `Poster` does only what a delivery needs, under the same policy as the
guarded fetcher (FEDERATION.md rules 35 and 36):

- the URL is checked by `addresses.check_url`, the host resolved by `addresses.resolve` (every
  address checked) and the socket connected to a checked address, never resolved a second time;
- https with certificate and host name verification (SNI = the host), http only where the
  settings allow private addresses (tests);
- connect (with TLS) 5 s, each write and read 10 s, a total deadline per delivery;
- the answer read is the status line, the headers and at most `Limits.max_body` of body
  (Content-Length, chunked, or until the connection closes); the rest is cut, not read;
- redirects are answers, not followed: a signed POST is bound to its host;
- a few idle connections are kept per host (and a bounded number in all) for the next delivery.

It raises the fetcher's errors: `ForbiddenAddress`, `Unreachable`, `FetchTimeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from solo import __version__
from solo.config import Settings
from solo.federation.batch_signing import BatchSigner
from solo.federation.signatures import HTTPSignatureAuth, body_digest, draft_signature
from solo.net.addresses import MAX_CONNECT_ATTEMPTS, AddressRefused, check_target, resolve
from solo.net.fetch import FetchTimeout, ForbiddenAddress, Limits, Reply, Unreachable

IDLE_PER_HOST: Final = 4  # as many as a host may have deliveries at once
IDLE_TOTAL: Final = 256
KEEPALIVE_EXPIRY: Final = 5.0  # seconds; servers commonly close idle connections after 5–75 s
MAX_HEAD: Final = 64 * 1024  # status line and headers of an answer
# The fields that say how an answer's body ends and whether its connection stays open.
FRAMING: Final = frozenset({"connection", "transfer-encoding", "content-length"})


class Sender(Protocol):
    """What the deliverer posts with: a `Poster`, or the `Fetcher` over a test transport."""

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        auth: HTTPSignatureAuth,
    ) -> Reply: ...


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as we read it."""


class _Stale(Exception):
    """A kept-alive connection was closed by the server before it answered: try a new one."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()

    def drop_idle(self) -> None:
        """Close a connection with nothing in flight by a reset, leaving no TIME_WAIT behind.

        A fan-out touches thousands of servers once each; closed gracefully, each connection
        dropped from the pool would hold a TIME_WAIT entry on our side for a minute.
        """
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


_Key = tuple[str, str, int]  # scheme, host, port


class Poster:
    """Owns the kept-alive connections of deliveries; open it in the lifespan, close it after."""

    def __init__(
        self,
        settings: Settings,
        *,
        limits: Limits | None = None,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None,
        signer: BatchSigner | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits or Limits()
        self._ssl = ssl_context
        self._idle: OrderedDict[_Key, list[_Connection]] = OrderedDict()
        self._idle_count = 0
        self._user_agent = f"Solo/{__version__} (+{settings.base_url})"
        self._owns_signer = signer is None  # a signer given is its giver's to close
        self._signer = signer or BatchSigner()
        # A fan-out sends one body to every inbox: its digest is computed once. (Hashing a
        # few KB lets go of the GIL, and getting it back behind the signing thread costs more
        # than the hash.)
        self._digest: tuple[bytes, str] = (b"", body_digest(b""))

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # Made on first use, not at construction: it reads the system's certificates.
            self._ssl = ssl.create_default_context()
        elif not isinstance(self._ssl, ssl.SSLContext):
            self._ssl = self._ssl()  # the fetcher's, shared
        return self._ssl

    async def aclose(self) -> None:
        if self._owns_signer:
            await self._signer.aclose()
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle.clear()
        self._idle_count = 0
        for connection in idle:
            connection.close()
        for connection in idle:
            try:
                async with asyncio.timeout(1.0):
                    await connection.writer.wait_closed()
            except (OSError, TimeoutError):
                pass  # the peer went first, or would not finish TLS shutdown: nothing to keep

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        auth: HTTPSignatureAuth,
    ) -> Reply:
        """POST `body` signed by `auth` and return whatever status came back."""
        try:
            target = check_target(url, allow_private=self.settings.allow_private_addresses)
        except AddressRefused as error:
            raise ForbiddenAddress(str(error), url) from None
        scheme = target.scheme
        host = target.host
        port = target.port or (443 if scheme == "https" else 80)
        netloc = target.netloc
        sent = {
            "Host": netloc,
            "User-Agent": self._user_agent,
            "Content-Type": "application/activity+json",
            "Accept-Encoding": "identity",
            "Content-Length": str(len(body)),
            "Digest": self._digest_of(body),
            **(headers or {}),
        }
        # The RSA signature is a third of a delivery's CPU, and cryptography lets go of the GIL
        # while it signs: on the signing thread it runs on the other core, beside the event loop.
        draft = draft_signature("POST", netloc, target.path, sent, body, key_id=auth.key_id)
        sent.update(draft.finish(await self._signer.sign(auth.private_key, draft.text)))
        head = "".join(f"{name}: {value}\r\n" for name, value in sent.items())
        request = f"POST {target.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1")
        key = (scheme, host, port)
        try:
            async with asyncio.timeout(self.limits.deadline):
                return await self._exchange(key, request + body, url)
        except AddressRefused as error:
            raise ForbiddenAddress(str(error), url) from None
        except TimeoutError:
            raise FetchTimeout(f"{url} did not answer within the time limits", url) from None
        except (OSError, EOFError, ProtocolError, asyncio.LimitOverrunError) as error:
            reason = str(error) or type(error).__name__
            raise Unreachable(f"{url} could not be reached: {reason}", url) from None

    def _digest_of(self, body: bytes) -> str:
        last_body, digest = self._digest
        if body is not last_body and body != last_body:
            digest = body_digest(body)
            self._digest = (body, digest)
        return digest

    async def _exchange(self, key: _Key, message: bytes, url: str) -> Reply:
        connection = self._take_idle(key)
        if connection is not None:
            try:
                return await self._send(connection, key, message, url, reused=True)
            except _Stale:
                pass
        connection = await self._connect(key)
        return await self._send(connection, key, message, url, reused=False)

    async def _send(
        self, connection: _Connection, key: _Key, message: bytes, url: str, *, reused: bool
    ) -> Reply:
        keep = False
        try:
            try:
                writer = connection.writer
                if writer.transport.is_closing():
                    raise ConnectionResetError("the connection closed before the request")
                writer.write(message)
                if writer.transport.get_write_buffer_size():
                    # Not all sent at once (a delivery usually is): wait for the rest, timed.
                    async with asyncio.timeout(self.limits.write):
                        await writer.drain()
                async with asyncio.timeout(self.limits.read):
                    version, status, fields, framing = await self._read_head(connection.reader)
            except (ConnectionError, EOFError) as error:
                if reused:
                    raise _Stale from error
                raise
            body, keep = await self._read_body(connection.reader, version, status, framing)
            return Reply(status, httpx.Headers(fields), body, url)
        finally:
            if keep:
                self._put_idle(key, connection)
            else:
                connection.close()

    async def _connect(self, key: _Key) -> _Connection:
        scheme, host, port = key
        addresses = await resolve(host, port, self.settings)
        tls = self._ssl_context() if scheme == "https" else None
        error: OSError | TimeoutError | None = None
        for address in addresses[:MAX_CONNECT_ATTEMPTS]:
            try:
                async with asyncio.timeout(self.limits.connect):
                    reader, writer = await asyncio.open_connection(
                        str(address),
                        port,
                        ssl=tls,
                        server_hostname=host if tls is not None else None,
                        limit=MAX_HEAD,
                    )
                return _Connection(reader, writer)
            except (OSError, TimeoutError) as failed:
                error = failed  # an unroutable IPv6 address is common; the next may answer
        assert error is not None
        raise error

    async def _read_head(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, int, list[tuple[str, str]], dict[str, str]]:
        """The HTTP version, status and header fields of the (final) answer; and its framing
        fields by lowercase name (repeated ones joined as httpx joins them)."""
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as error:
                if error.partial:
                    raise ProtocolError("the connection closed within the answer's head") from None
                raise EOFError("the connection closed before an answer") from None
            status_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
            version, _, rest = status_line.partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
                raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
            fields = []
            framing: dict[str, str] = {}
            for line in lines:
                name, colon, value = line.partition(":")
                if not colon or not name or name != name.strip():
                    raise ProtocolError(f"malformed header line {line[:80]!r}")
                value = value.strip()
                fields.append((name, value))
                lower = name.lower()
                if lower in FRAMING:
                    framing[lower] = f"{framing[lower]}, {value}" if lower in framing else value
            status = int(code)
            if status == 101 or not 100 <= status < 200:
                return version, status, fields, framing
            # An interim answer (100 Continue, 103 Early Hints): the real one follows.

    async def _read_body(
        self, reader: asyncio.StreamReader, version: str, status: int, framing: dict[str, str]
    ) -> tuple[bytes, bool]:
        """The body, cut at the cap; and whether the connection can carry another request."""
        keep = version == "HTTP/1.1" and "close" not in framing.get("connection", "").lower()
        cap = self.limits.max_body
        if status == 101:
            return b"", False  # an upgrade nobody asked for
        if status in (204, 304):
            return b"", keep
        if "chunked" in framing.get("transfer-encoding", "").lower():
            return await self._read_chunked(reader, cap, keep)
        declared = framing.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise ProtocolError(f"bad Content-Length {declared[:40]!r}")
            length = int(declared)
            if not length:
                return b"", keep  # most answers to a delivery: nothing to wait for
            body = await self._read_exactly(reader, min(length, cap))
            return body, keep and length <= cap
        # Delimited by the end of the connection.
        kept = bytearray()
        while len(kept) < cap:
            async with asyncio.timeout(self.limits.read):
                chunk = await reader.read(cap - len(kept))
            if not chunk:
                break
            kept += chunk
        return bytes(kept), False

    async def _read_chunked(
        self, reader: asyncio.StreamReader, cap: int, keep: bool
    ) -> tuple[bytes, bool]:
        body = bytearray()
        while True:
            async with asyncio.timeout(self.limits.read):
                line = await reader.readuntil(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                break
            if len(body) + size > cap:
                body += await self._read_exactly(reader, cap - len(body))
                return bytes(body), False  # the rest is not read: the connection goes
            body += await self._read_exactly(reader, size)
            await self._read_exactly(reader, 2)
        while True:  # trailers, up to the empty line
            async with asyncio.timeout(self.limits.read):
                line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                return bytes(body), keep

    async def _read_exactly(self, reader: asyncio.StreamReader, size: int) -> bytes:
        try:
            async with asyncio.timeout(self.limits.read):
                return await reader.readexactly(size)
        except asyncio.IncompleteReadError as error:
            raise EOFError(f"the connection closed after {len(error.partial)} bytes") from None

    def _take_idle(self, key: _Key) -> _Connection | None:
        connections = self._idle.get(key)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if not connections:
                del self._idle[key]
            fresh = now - connection.idle_since < KEEPALIVE_EXPIRY
            if fresh and not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.drop_idle()
        return None

    def _put_idle(self, key: _Key, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        connections = self._idle.setdefault(key, [])
        self._idle.move_to_end(key)
        connections.append(connection)
        self._idle_count += 1
        if len(connections) > IDLE_PER_HOST:
            connections.pop(0).drop_idle()
            self._idle_count -= 1
        while self._idle_count > IDLE_TOTAL:
            oldest_key, oldest = next(iter(self._idle.items()))
            oldest.pop(0).drop_idle()
            self._idle_count -= 1
            if not oldest:
                del self._idle[oldest_key]
