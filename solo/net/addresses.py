"""Where and how Solo connects: the URL, host and address policy of every outgoing request.

Remote servers choose the URLs we fetch (actor ids, inboxes, redirects), so each of them could
point us at our own network (SSRF). The policy is FEDERATION.md rule 35:

- URLs are parsed once, strictly, by the same parser that sends the request (httpx), so what we
  check is what we fetch; only https (and http when private addresses are allowed, for tests).
- Host names are IDNA, lowercase and letters/digits/dots/hyphens only (CVE-2023-42451).
- Every address a name resolves to must be public, and the connection goes to a checked address
  only: `PinnedBackend` resolves inside `connect_tcp`, so no second lookup can be rebound.

`allow_private_addresses` lifts the public-address rule for local tests and `resolve` replaces
DNS for test host names; neither is meant for a real instance.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

from solo.catalogues import Message
from solo.config import Settings
from solo.errors import SoloError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT: Final = 5.0
# A name with many addresses should not multiply the connect time; three covers v4 + v6 + one.
MAX_CONNECT_ATTEMPTS: Final = 3

# The IANA IPv4 special-purpose registry; none of these is a fediverse server.
_REFUSED_V4: Final = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)
# IPv6 is an allow list: global unicast only, minus the blocks that embed or tunnel to other
# addresses (Teredo, 6to4) or are documentation. NAT64 and `::` lie outside 2000::/3 already but
# are named because Mastodon missed them (CVE-2026-22245, CVE-2026-46348).
_GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")
_REFUSED_V6: Final = tuple(
    ipaddress.IPv6Network(network)
    for network in ("2001::/23", "2001:db8::/32", "2002::/16", "64:ff9b::/96", "::/128")
)
_LABEL_RE: Final = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class AddressRefused(SoloError):
    """A URL, host name or address that Solo will not connect to; the message says why, in
    English with `%(name)s` placeholders for `values` (a web page translates it)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message = Message(message, **values)
        super().__init__(self.message)


def is_public_address(ip: IPAddress) -> bool:
    """True if `ip` may be a fediverse server on the public internet (rule 35).

    Not `ip.is_global`: that is True for 224.0.0.1, 192.0.0.8, 64:ff9b::7f00:1 and 2002:7f00:1::.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # The kernel connects ::ffff:a.b.c.d to a.b.c.d, so judge what is really reached.
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in network for network in _REFUSED_V4)
    if ip.scope_id:
        return False
    return ip in _GLOBAL_UNICAST_V6 and not any(ip in network for network in _REFUSED_V6)


def is_allowed_address(ip: IPAddress, *, allow_private: bool) -> bool:
    """The policy as configured: public addresses, or any unicast one when private are allowed.

    Even tests never need `::` or 0.0.0.0 (both reach this machine) or multicast: still refused.
    """
    if is_public_address(ip):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return allow_private and not (ip.is_unspecified or ip.is_multicast)


def check_url(url: str | httpx.URL, *, allow_private: bool) -> httpx.URL:
    """Parse `url` with httpx's own parser and return it if Solo may fetch it.

    The host comes back IDNA-encoded and lowercase. Raises `AddressRefused` with the reason.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        port = parsed.port
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeDecodeError) as error:
        raise AddressRefused(
            "%(url)s is not a valid URL (%(error)s)", url=repr(str(url)), error=str(error)
        ) from None
    schemes = ("http", "https") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        if allow_private:
            raise AddressRefused("%(url)s: only http or https URLs are fetched", url=repr(str(url)))
        raise AddressRefused("%(url)s: only https URLs are fetched", url=repr(str(url)))
    if parsed.userinfo:
        # `https://trusted.example@evil.example/` reads as one host and connects to another.
        raise AddressRefused("%(url)s: URLs with a user name are refused", url=repr(str(url)))
    if port is not None and not 0 < port < 65536:
        raise AddressRefused(
            "%(url)s: port %(port)s is out of range", url=repr(str(url)), port=str(port)
        )
    literal = ip_literal(host)
    if literal is not None:
        if not is_allowed_address(literal, allow_private=allow_private):
            raise AddressRefused(
                "%(url)s: %(address)s is not a public address",
                url=repr(str(url)),
                address=str(literal),
            )
        return parsed
    check_host_name(host)
    return parsed


# The shape nearly every inbox has, which `check_target` reads without httpx's general parser
# (a third of a delivery's own CPU): lowercase host, optional port, a path of unreserved
# characters, no query. httpx reads it the same way (a test holds the two together); anything
# else, dot segments included, goes through `check_url`.
_PLAIN_URL: Final = re.compile(r"(https?)://([a-z0-9][a-z0-9.-]*)(?::([0-9]{1,5}))?(/[\w/.~-]*)?")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Target:
    """Where a checked URL points: what a request to it needs."""

    scheme: str
    host: str  # IDNA-encoded, lowercase; an IPv6 literal without brackets
    port: int | None  # None for the scheme's default
    path: str  # the request target: path and query

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def check_target(url: str, *, allow_private: bool) -> Target:
    """`check_url`, answered as a `Target`; the common shape without httpx's parser."""
    match = _PLAIN_URL.fullmatch(url) if url.isascii() else None
    if match is None or "/." in url:
        parsed = check_url(url, allow_private=allow_private)
        return Target(
            parsed.scheme,
            parsed.raw_host.decode("ascii"),
            parsed.port,
            parsed.raw_path.decode("ascii"),
        )
    scheme, host, port_text, path = match.groups()
    schemes = ("http", "https") if allow_private else ("https",)
    if scheme not in schemes:
        raise AddressRefused(f"{url!r}: only {' or '.join(schemes)} URLs are fetched")
    port = int(port_text) if port_text is not None else None
    if port is not None and not 0 < port < 65536:
        raise AddressRefused(f"{url!r}: port {port} is out of range")
    literal = ip_literal(host)
    if literal is not None:
        if not is_allowed_address(literal, allow_private=allow_private):
            raise AddressRefused(f"{url!r}: {literal} is not a public address")
    else:
        check_host_name(host)
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    return Target(scheme, host, port, path or "/")


def check_host_name(host: str) -> None:
    """Refuse anything but an IDNA-encoded, lowercase name made of DNS labels.

    Rejecting other characters (`/`, `\\`, `%`, `_`, `@`) keeps two parsers from seeing two hosts
    (CVE-2023-42451); a numeric last label would be read as an IPv4 address (`2130706433`, `127.1`)
    by the resolver though it is not one.
    """
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise AddressRefused("%(host)s is not a valid host name", host=repr(host))
    if labels[-1].isdigit():
        raise AddressRefused(
            "%(host)s is neither a host name nor a dotted IPv4 address", host=repr(host)
        )


def checked_addresses(
    host: str, addresses: Iterable[IPAddress], *, allow_private: bool
) -> list[IPAddress]:
    """Deduplicate `addresses` and require every one to pass the policy.

    One bad address refuses the host: a name that also points inside is hostile or broken.
    """
    unique = list(dict.fromkeys(addresses))
    if not unique:
        raise AddressRefused("%(host)s has no address", host=host)
    for ip in unique:
        if not is_allowed_address(ip, allow_private=allow_private):
            raise AddressRefused(
                "%(host)s resolves to %(address)s, which is not a public address",
                host=host,
                address=str(ip),
            )
    return unique


async def resolve(host: str, port: int, settings: Settings) -> list[IPAddress]:
    """The checked addresses of `host`, in the resolver's order of preference.

    An IP literal is its own address; a host matching a `resolve` pattern gets the configured
    address (still checked); anything else goes to the system resolver. Raises `AddressRefused`,
    `TimeoutError` after `RESOLVE_TIMEOUT` seconds, or `OSError` when the name does not resolve.
    """
    allow_private = settings.allow_private_addresses
    literal = ip_literal(host)
    if literal is not None:
        return checked_addresses(host, [literal], allow_private=allow_private)
    check_host_name(host)
    for pattern, address in settings.resolve_map:
        if fnmatch.fnmatchcase(host, pattern):
            configured = ip_literal(address)
            if configured is None:
                raise AddressRefused(
                    "resolve maps %(host)s to %(address)s, not an IP address",
                    host=host,
                    address=repr(address),
                )
            return checked_addresses(host, [configured], allow_private=allow_private)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = (ipaddress.ip_address(info[4][0]) for info in infos)
    return checked_addresses(host, found, allow_private=allow_private)


def ip_literal(text: str) -> IPAddress | None:
    # A name ends in a letter (its top-level label), an IPv4 address in a digit, and an IPv6
    # address has colons: most names are answered without `ipaddress` raising twice.
    if ":" not in text and not text[-1:].isdigit():
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, then connects to a checked address.

    httpcore asks it for a TCP stream to the URL's host name and afterwards starts TLS with that
    same name, so SNI, certificate checks and `Host` are unchanged while the socket goes to the
    address we judged. A refused host raises `AddressRefused` before any connection is made.
    """

    def __init__(self, settings: Settings, inner: httpcore.AsyncNetworkBackend | None = None):
        self._settings = settings
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port, self._settings)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        *others, last = addresses[:MAX_CONNECT_ATTEMPTS]
        for address in others:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # an unroutable IPv6 address is common; the next one may answer
        return await self._inner.connect_tcp(
            str(last), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("Solo never connects to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool whose connections all come from `PinnedBackend`.

    httpx does not let a caller choose the network backend of its own transport, hence this
    small adapter: httpx request in, httpcore request out, and httpcore errors back as httpx's.
    `ssl_context` may be a function that makes it: the pool is made at the first request, so
    that a server which has not yet fetched anything has not read the system's certificates.
    """

    def __init__(
        self,
        settings: Settings,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        connections: int = 100,
        keepalive: int = 20,
    ) -> None:
        self._settings = settings
        self._tls = ssl_context
        self._connections = connections
        self._keepalive = keepalive
        self._made: httpcore.AsyncConnectionPool | None = None

    @property
    def _pool(self) -> httpcore.AsyncConnectionPool:
        if self._made is None:
            tls = self._tls if isinstance(self._tls, ssl.SSLContext) else self._tls()
            self._made = httpcore.AsyncConnectionPool(
                ssl_context=tls,
                max_connections=self._connections,
                max_keepalive_connections=min(self._keepalive, self._connections),
                keepalive_expiry=5.0,
                network_backend=PinnedBackend(self._settings),
            )
        return self._made

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            core_response = await self._pool.handle_async_request(core_request)
        assert isinstance(core_response.stream, AsyncIterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream, request),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        if self._made is not None:
            await self._made.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


# Most specific first: the timeouts are checked before their NetworkError-like siblings.
_ERROR_MAP: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except tuple(core for core, _ in _ERROR_MAP) as error:
        mapped = next(ours for core, ours in _ERROR_MAP if isinstance(error, core))
        raise mapped(str(error) or type(error).__name__, request=request) from error
