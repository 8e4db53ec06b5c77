"""The key fetches' own HTTP/1.1 client: the GETs of actor documents inside inbox requests.

A viral post brings a thousand first contacts a second, each making Solo fetch a small JSON
document from a new host. Through httpx and httpcore (anyio streams, a connection pool that
looks over all its connections at every request) one such GET cost about ten times the CPU of
this client, which speaks to asyncio's transports directly and reads answers with the
deliveries' reader (`answer`, over httptools): the answer arrives in one or two reads, so a fetch
is a connect, one write and one parse. The body is streamed to `Fetcher`, which caps it.

`Fetcher._exchange` asks it for one GET (`get`) where it would ask an `httpx.AsyncClient` to
build and send a request: no httpx Request or Response is made (their headers alone cost more
than the parse), the answer is a `KeyResponse` with what `Fetcher` reads of a response, its
errors are httpx's, and every policy stays in `Fetcher`: URL and redirect checks, the total
deadline, the body cap and decompression. An auth that is a `HeaderAuth` (the HTTP signature)
is asked for the headers it adds; any other `httpx.Auth` runs its flow over an httpx Request.
Here, as in `PinnedTransport`: the host is resolved and every address checked
(`addresses.resolve`), the socket goes to a checked address while TLS checks the certificate of
the host name; connect (TLS included) and each read are bounded by the `Limits`. Idle
connections are kept per host for reuse, a few per host and `MAX_IDLE` in all, each for
`KEEPALIVE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final

import httpx

from solo.config import Settings
from solo.net.addresses import MAX_CONNECT_ATTEMPTS, resolve
from solo.net.answer import AnswerReader, ProtocolError
from solo.net.connect import connect

KEEPALIVE_SECONDS: Final = 5.0
IDLE_PER_HOST: Final = 4
MAX_IDLE: Final = 64

_Origin = tuple[str, str, int]  # scheme, host, port


class _Connection(AnswerReader):
    """One TCP (or TLS) connection to an origin, its answers streamed (see `answer`)."""

    def __init__(self, origin: _Origin) -> None:
        super().__init__(stream=True)
        self.origin = origin
        self.expiry: asyncio.TimerHandle | None = None

    def close(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        super().close()


def _as_httpx(error: Exception) -> httpx.TransportError:
    """The reader's error as the httpx error `Fetcher` maps to its own."""
    if isinstance(error, TimeoutError):
        return httpx.ReadTimeout(str(error))
    if isinstance(error, ProtocolError):
        return httpx.RemoteProtocolError(str(error))
    return httpx.ReadError(str(error) or type(error).__name__)


class HeaderAuth(httpx.Auth):
    """An auth that only adds headers, computed from the request's method, URL, headers and
    body: the key client asks for them without building an httpx Request."""

    async def headers_for(
        self, method: str, url: httpx.URL, headers: list[tuple[str, str]], body: bytes
    ) -> Mapping[str, str]:
        raise NotImplementedError


class KeyResponse:
    """An answer's status and head, and its body as it arrives: what `Fetcher` reads of an
    httpx.Response. `headers` has lowercased names (a field sent on several lines is joined by
    commas, as httpx does); closing gives the connection back when it can serve again."""

    def __init__(self, client: KeyClient, connection: _Connection, url: httpx.URL) -> None:
        self.status_code = connection.status
        self.url = url
        headers: dict[str, str] = {}
        for raw_name, raw_value in connection.fields:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        self._client = client
        self._connection = connection
        self._done = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._connection.body(self._client.read_timeout):
                yield chunk
        except (ProtocolError, OSError) as error:  # TimeoutError is an OSError
            raise _as_httpx(error) from None

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._client.release(self._connection)


class KeyClient:
    """What `Fetcher` needs of an `httpx.AsyncClient` for key fetches; see the module."""

    def __init__(
        self,
        settings: Settings,
        tls: Callable[[], ssl.SSLContext],
        *,
        headers: Mapping[str, str],
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.settings = settings
        self.tls = tls  # the fetcher's context, made at the first connection that needs it
        self.headers = dict(headers)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: OrderedDict[_Connection, None] = OrderedDict()  # oldest first
        self._idle_by_origin: dict[_Origin, list[_Connection]] = {}

    async def get(
        self, url: httpx.URL, headers: Mapping[str, str], auth: httpx.Auth | None
    ) -> KeyResponse:
        """GET `url` (signed by `auth`) and return once the answer's head arrived; its body
        streams until the response is closed."""
        # Host first, as httpx sends it; the signature covers it.
        fields = [("Host", url.netloc.decode("ascii")), *self.headers.items(), *headers.items()]
        if isinstance(auth, HeaderAuth):
            fields.extend((await auth.headers_for("GET", url, fields, b"")).items())
        elif auth is not None:
            fields = await _auth_flow(auth, url, fields)
        origin = (url.scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[url.scheme])
        head = "".join(
            [
                "GET ",
                url.raw_path.decode("ascii"),
                " HTTP/1.1\r\n",
                *(f"{name}: {value}\r\n" for name, value in fields),
                "\r\n",
            ]
        ).encode("latin-1")
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, url, head)
            except httpx.ReadError:
                if connection.received:
                    raise
                # The server closed the idle connection as we sent: once more, on a new one.
        return await self._exchange(await self._connect(origin), url, head)

    async def _exchange(self, connection: _Connection, url: httpx.URL, head: bytes) -> KeyResponse:
        released = False
        try:
            connection.send(head)
            await connection.head(self.read_timeout)
            response = KeyResponse(self, connection, url)
            released = True
            return response
        except (ProtocolError, OSError) as error:  # TimeoutError is an OSError
            raise _as_httpx(error) from None
        finally:
            if not released:
                connection.close()

    async def _connect(self, origin: _Origin) -> _Connection:
        scheme, host, port = origin
        try:
            addresses = await resolve(host, port, self.settings)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as error:
            raise httpx.ConnectError(f"cannot resolve {host}: {error}") from None
        tls = self.tls() if scheme == "https" else None
        attempts = addresses[:MAX_CONNECT_ATTEMPTS]
        for number, address in enumerate(attempts, 1):
            try:
                return await connect(
                    lambda: _Connection(origin),
                    address,
                    port,
                    tls=tls,
                    server_name=host,
                    limit=self.connect_timeout,
                )
            except TimeoutError:
                if number == len(attempts):
                    raise httpx.ConnectTimeout(f"connecting to {host} took too long") from None
            except (OSError, ssl.SSLError) as error:
                if number == len(attempts):
                    raise httpx.ConnectError(f"cannot connect to {host}: {error}") from None
            # an unroutable IPv6 address is common; the next one may answer
        raise AssertionError("resolve returns at least one address")

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle_by_origin.get(origin)
        while idle:
            connection = idle.pop()
            del self._idle[connection]
            if connection.expiry is not None:
                connection.expiry.cancel()
                connection.expiry = None
            if not connection.closed:
                return connection
        return None

    def release(self, connection: _Connection) -> None:
        """Keep `connection` for the next request to its origin, or close it."""
        idle = self._idle_by_origin.setdefault(connection.origin, [])
        if not connection.reusable or len(idle) >= IDLE_PER_HOST:
            connection.close()
            if not idle:
                del self._idle_by_origin[connection.origin]
            return
        idle.append(connection)
        self._idle[connection] = None
        connection.expiry = asyncio.get_running_loop().call_later(
            KEEPALIVE_SECONDS, self._expire, connection
        )
        if len(self._idle) > MAX_IDLE:
            self._expire(next(iter(self._idle)))

    def _expire(self, connection: _Connection) -> None:
        self._idle.pop(connection, None)
        idle = self._idle_by_origin.get(connection.origin)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle_by_origin[connection.origin]
        connection.expiry = None
        connection.close()

    async def aclose(self) -> None:
        for connection in list(self._idle):
            self._expire(connection)


async def _auth_flow(
    auth: httpx.Auth, url: httpx.URL, fields: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The header fields once `auth`'s flow has had its httpx Request."""
    request = httpx.Request("GET", url, headers=fields)
    flow = auth.async_auth_flow(request)
    request = await flow.__anext__()
    await flow.aclose()
    raw = request.headers.raw
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
