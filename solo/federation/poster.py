"""The delivery client: signed HTTP/1.1 POSTs on kept-alive connections (`net.answer` reads).

A fan-out sends one small body to thousands of inboxes; a general HTTP client spends more time
on itself than on that. `Poster` does only what a delivery needs, under the same policy as the
guarded fetcher (FEDERATION.md rules 35 and 36):

- the URL is checked by `addresses.check_url`, the host resolved by `addresses.resolve` (every
  address checked) and the socket connected to a checked address, never resolved a second time;
- https with certificate and host name verification (SNI = the host), http only where the
  settings allow private addresses (tests);
- connect (with TLS) 5 s; then at most 10 s of silence while the answer is awaited (the request
  is written at once: a server that does not take it cannot answer), a total deadline per
  delivery;
- the answer read is the status line, the headers and at most `Limits.max_body` of body
  (Content-Length, chunked, or until the connection closes); the rest is cut, not read;
- redirects are answers, not followed: a signed POST is bound to its host;
- a few idle connections are kept per host (and a bounded number in all) for the next delivery.

It raises the fetcher's errors: `ForbiddenAddress`, `Unreachable`, `FetchTimeout`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final, Protocol

import httpx

from solo import __version__
from solo.config import Settings
from solo.federation.batch_signing import BatchSigner
from solo.federation.signatures import (
    HTTPSignatureAuth,
    body_digest,
    draft_signature,
    http_date,
    post_draft,
)
from solo.net.addresses import MAX_CONNECT_ATTEMPTS, AddressRefused, check_target, resolve
from solo.net.answer import AnswerReader, ProtocolError
from solo.net.connect import connect
from solo.net.fetch import FetchTimeout, ForbiddenAddress, Limits, Reply, Unreachable

IDLE_PER_HOST: Final = 4  # as many as a host may have deliveries at once
IDLE_TOTAL: Final = 256
KEEPALIVE_EXPIRY: Final = 5.0  # seconds; servers commonly close idle connections after 5–75 s


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


_Key = tuple[str, str, int]  # scheme, host, port


class Stale(Exception):
    """A kept-alive connection was closed by the server before it answered: try a new one."""


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
        self._idle: OrderedDict[_Key, list[AnswerReader]] = OrderedDict()
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
                    await connection.wait_closed()
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
            "Date": http_date(time.time()),
            **(headers or {}),
        }
        if headers:  # a caller's own fields: collected, and signed as they come
            draft = draft_signature("POST", netloc, target.path, sent, body, key_id=auth.key_id)
        else:
            draft = post_draft(
                netloc,
                target.path,
                sent["Date"],
                sent["Digest"],
                sent["Content-Type"],
                key_id=auth.key_id,
            )
        # The RSA signature is a third of a delivery's CPU, and cryptography lets go of the GIL
        # while it signs: on the signing thread it runs on the other core, beside the event loop.
        sent.update(draft.finish(await self._signer.sign(auth.private_key, draft.text)))
        head = "".join(f"{name}: {value}\r\n" for name, value in sent.items())
        request = f"POST {target.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1")
        key = (scheme, host, port)
        try:
            # The total deadline is kept by the connect's and the reader's own timers, not by an
            # asyncio.timeout of its own: one timer handle fewer per delivery.
            due = asyncio.get_running_loop().time() + self.limits.deadline
            return await self._exchange(key, request + body, url, due)
        except AddressRefused as error:
            raise ForbiddenAddress(str(error), url) from None
        except TimeoutError:
            raise FetchTimeout(f"{url} did not answer within the time limits", url) from None
        except (OSError, ProtocolError) as error:
            reason = str(error) or type(error).__name__
            raise Unreachable(f"{url} could not be reached: {reason}", url) from None

    def _digest_of(self, body: bytes) -> str:
        last_body, digest = self._digest
        if body is not last_body and body != last_body:
            digest = body_digest(body)
            self._digest = (body, digest)
        return digest

    async def _exchange(self, key: _Key, message: bytes, url: str, due: float) -> Reply:
        connection = self._take_idle(key)
        if connection is not None:
            try:
                return await self._send(connection, key, message, url, due, reused=True)
            except Stale:
                pass
        connection = await self._connect(key, due)
        return await self._send(connection, key, message, url, due, reused=False)

    async def _send(
        self,
        connection: AnswerReader,
        key: _Key,
        message: bytes,
        url: str,
        due: float,
        *,
        reused: bool,
    ) -> Reply:
        keep = False
        try:
            try:
                connection.send(message)
                await connection.answer(self.limits.read, due)
            except ConnectionError as error:
                if reused and not connection.received:
                    raise Stale from error
                raise
            keep = connection.reusable
            body = connection.kept_body
            return Reply(connection.status, httpx.Headers(connection.fields), body, url)
        finally:
            if keep:
                self._put_idle(key, connection)
            else:
                connection.close()

    async def _connect(self, key: _Key, due: float) -> AnswerReader:
        scheme, host, port = key
        addresses = await resolve(host, port, self.settings)  # bounded by its own limit
        tls = self._ssl_context() if scheme == "https" else None
        cap = self.limits.max_body
        loop = asyncio.get_running_loop()
        error: OSError | TimeoutError | None = None
        for address in addresses[:MAX_CONNECT_ATTEMPTS]:
            left = due - loop.time()
            if left <= 0:
                raise TimeoutError("the total deadline passed while connecting")
            try:
                return await connect(
                    lambda: AnswerReader(cap),
                    address,
                    port,
                    tls=tls,
                    server_name=host,
                    limit=min(self.limits.connect, left),
                )
            except (OSError, TimeoutError) as failed:
                error = failed  # an unroutable IPv6 address is common; the next may answer
        assert error is not None
        raise error

    def _take_idle(self, key: _Key) -> AnswerReader | None:
        connections = self._idle.get(key)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if not connections:
                del self._idle[key]
            fresh = now - connection.idle_since < KEEPALIVE_EXPIRY
            if fresh and not connection.closed:
                return connection
            connection.drop()
        return None

    def _put_idle(self, key: _Key, connection: AnswerReader) -> None:
        connection.idle_since = time.monotonic()
        connections = self._idle.setdefault(key, [])
        self._idle.move_to_end(key)
        connections.append(connection)
        self._idle_count += 1
        if len(connections) > IDLE_PER_HOST:
            connections.pop(0).drop()
            self._idle_count -= 1
        while self._idle_count > IDLE_TOTAL:
            oldest_key, oldest = next(iter(self._idle.items()))
            oldest.pop(0).drop()
            self._idle_count -= 1
            if not oldest:
                del self._idle[oldest_key]
