"""The guarded fetcher: every outgoing HTTP request of Solo goes through one `Fetcher`.

It applies the address policy of `solo.net.addresses` to each URL and redirect target and,
at connect time, to each resolved address (FEDERATION.md rule 35), and the limits of rule 36:
connect 5 s, read and write 10 s each, a total deadline per request (slow servers,
CVE-2023-36461), 1 MB of decompressed body and 3 redirects. `get_activity` adds the checks of
rule 22 (status, AS content type, `id` equal to where the document came from; CVE-2024-23832).
`get_media` reads a remote file for the media cache, with its own size cap and only the media
types the caller names.

Errors, all raised with a message a person understands:

    FetchError (SoloError)   no usable answer from a remote server
     ├── ForbiddenAddress    the URL, its host or one of its addresses is refused (no request made),
 │                       or (limited federation) an ActivityPub request to a server not allowed
     ├── Unreachable         DNS failure, connection refused, TLS failure, broken connection
     ├── FetchTimeout        a connect/read/write timeout or the total deadline
     ├── TooManyRedirects    more than `Limits.max_redirects` hops
     ├── HTTPStatusError     not a 200 (for GETs); `.status` tells which (410 = gone)
     ├── TooLarge            the body, decompressed, exceeds `Limits.max_body`
     ├── BadContentType      not the media type asked for (JSON, HTML, or a servable file)
     ├── BadDocument         undecodable body, not JSON, or not a JSON object
     └── IdMismatch          the document's `id` is not the URL it was served from
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Final, Self

import httpx

from solo import __version__, json_input
from solo.config import Settings
from solo.errors import SoloError
from solo.net.addresses import AddressRefused, PinnedTransport, check_url
from solo.net.key_client import KeyClient, KeyResponse
from solo.net.key_slots import KeySlots, NoKeySlot

AS_NAMESPACE: Final = "https://www.w3.org/ns/activitystreams"
ACCEPT_ACTIVITY: Final = f'application/activity+json, application/ld+json; profile="{AS_NAMESPACE}"'
ACCEPT_JSON: Final = "application/jrd+json, application/json"
ACCEPT_HTML: Final = "text/html"
# A page's <head> is all a link preview reads: the rest of the body is left unread.
HTML_HEAD: Final = 256 * 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
# Set while the user's own request is served (a page, an API call): its fetches take a pool of
# their own, which deliveries, backfill and the cache cannot fill.
_USER_ACTION: ContextVar[bool] = ContextVar("solo_user_action", default=False)


@contextlib.contextmanager
def user_action() -> Iterator[None]:
    """Fetches made within (and in tasks started within) use the user's own connections."""
    token = _USER_ACTION.set(True)
    try:
        yield
    finally:
        _USER_ACTION.reset(token)


class FetchError(SoloError):
    """No usable answer from a remote server; `url` is the URL asked for."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url

    @property
    def temporary(self) -> bool:
        """Whether asking again later may succeed (a timeout, a 503), or never will."""
        return False


class ForbiddenAddress(FetchError):
    """Refused by the address policy before any connection was made."""


class Unreachable(FetchError):
    """DNS failure, connection refused, TLS failure or a broken connection."""

    @property
    def temporary(self) -> bool:
        return True


class FetchTimeout(FetchError):
    """A connect, read or write timeout, or the total deadline."""

    @property
    def temporary(self) -> bool:
        return True


class TooManyRedirects(FetchError):
    """More redirects than `Limits.max_redirects`."""


class HTTPStatusError(FetchError):
    """A GET answered something other than 200; `status` tells what (410 = gone)."""

    def __init__(self, message: str, url: str, status: int) -> None:
        super().__init__(message, url)
        self.status = status

    @property
    def temporary(self) -> bool:
        return self.status >= 500 or self.status in (401, 408, 429)


class TooLarge(FetchError):
    """The body, decompressed, is larger than `Limits.max_body`."""


class BadContentType(FetchError):
    """The answer is not of the media type asked for."""


class BadDocument(FetchError):
    """The body is corrupt, not JSON, or not a JSON object."""


class IdMismatch(FetchError):
    """The document's `id` is not the URL it was served from (CVE-2024-23832)."""


@dataclass(frozen=True)
class Limits:
    """Rule 36; tests shorten `deadline` so a slow server costs them a second, not thirty."""

    connect: float = 5.0
    read: float = 10.0
    write: float = 10.0
    deadline: float = 30.0  # one request: every redirect hop and the whole body
    max_body: int = 1024 * 1024  # Mastodon's MAX_JSON_SIZE, counted after decompression
    max_redirects: int = 3
    # Key fetches run inside inbox requests, for senders not yet verified: they get their own
    # connections and at most this many at once (per host), so a sender whose keyIds answer
    # slowly cannot hold the connections every other fetch needs. The total is sized for a
    # viral post: a thousand new senders a second whose keys take 0.2 s each, beside a tenth
    # whose keys never come and hold their slot until `key_deadline`.
    key_fetches: int = 256
    key_fetches_per_host: int = 4
    key_slot_wait: float = 5.0  # how long a key fetch waits for a free slot
    # A key document is a few KB: one that takes longer holds a slot others need (and the
    # sender waits for our answer meanwhile). `deadline` still applies when shorter.
    key_deadline: float = 10.0
    # Connections of each pool: the shared one (deliveries, backfill, cards, media) and the
    # user's own (see `user_action`).
    connections: int = 100
    user_connections: int = 20


@dataclass(frozen=True)
class Reply:
    """What a POST got back; `body` is cut at `Limits.max_body`."""

    status: int
    headers: Mapping[str, str]  # httpx.Headers, or a key fetch's: ask by lowercase name
    body: bytes
    url: str


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """`'application/ld+json; profile="x"'` → `('application/ld+json', {'profile': 'x'})`."""
    kind, *parameters = content_type.split(";")
    values = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        values[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), values


def is_activity_content_type(content_type: str) -> bool:
    """activity+json, or ld+json whose profile (if any) names ActivityStreams (rule 17)."""
    kind, parameters = media_type(content_type)
    if kind == "application/activity+json":
        return True
    profile = parameters.get("profile")
    return kind == "application/ld+json" and (profile is None or AS_NAMESPACE in profile.split())


def _is_plain_json(content_type: str) -> bool:
    return media_type(content_type)[0] in ("application/json", "application/jrd+json")


class Fetcher:
    """Owns the one `httpx.AsyncClient` of the process; open it in the lifespan.

    `transport` replaces the pinned connection layer (and so the connect-time address checks,
    not the URL checks); it exists for tests with `httpx.MockTransport`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        limits: Limits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        blocked: Callable[[str], str | None] | None = None,
    ) -> None:
        self.settings = settings
        # The blocked domain covering a host, if one does: its URLs are never fetched.
        self.blocked = blocked
        self.limits = limits or Limits()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._key_fetch_client: httpx.AsyncClient | KeyClient | None = None
        self._user_client: httpx.AsyncClient | None = None
        self._tls: ssl.SSLContext | None = None  # see `tls`
        self._key_slots = KeySlots(
            self.limits.key_fetches, self.limits.key_fetches_per_host, self.limits.key_slot_wait
        )

    async def open(self) -> None:
        if self._client is not None:
            raise RuntimeError("Fetcher is already open")
        limits = self.limits
        self._client = self._new_client(limits.connections)
        # Connections of their own: key fetches never wait for (or hold) the others'
        # connections, and neither do the user's own actions. Key fetches go through a lean
        # client of their own (see `key_client`; httpx only over a test's transport): the key
        # slots bound them.
        if self._transport is None:
            self._key_fetch_client = KeyClient(
                self.settings,
                self.tls,
                headers=self._headers(),
                connect_timeout=limits.connect,
                read_timeout=limits.read,
            )
        else:
            self._key_fetch_client = self._new_client(limits.key_fetches)
        self._user_client = self._new_client(limits.user_connections)

    def tls(self) -> ssl.SSLContext:
        """One TLS context for every pool (and the poster's), made at the first connection: each
        reads the system's certificates (about 0.8 MB and 0.1 s on a Pi), and they all trust the
        same authorities."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def _new_client(self, connections: int, keepalive: int = 20) -> httpx.AsyncClient:
        transport = self._transport or PinnedTransport(
            self.settings, self.tls, connections, keepalive
        )
        limits = self.limits
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=limits.connect, read=limits.read, write=limits.write, pool=limits.connect
            ),
            headers=self._headers(),
            follow_redirects=False,
            # A proxy from the environment would carry requests past the pinned connection
            # layer (httpx ignores it beside a custom transport today; this keeps it so).
            trust_env=False,
            # Requests are signed, not cookie-authenticated; a shared jar would carry one
            # server's cookies into later requests.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    def _headers(self) -> dict[str, str]:
        return {
            "User-Agent": f"Solo/{__version__} (+{self.settings.base_url})",
            # Only what `_BodyReader` can decompress within the size cap.
            "Accept-Encoding": "gzip",
        }

    def refuse_blocked(self, url: str | httpx.URL, asked: str | None = None) -> None:
        """Raise ForbiddenAddress when a domain block covers the host of `url` (a redirect
        target of `asked`)."""
        if self.blocked is None:
            return
        try:
            host = url.host if isinstance(url, httpx.URL) else httpx.URL(url).host
        except httpx.InvalidURL:
            return  # check_url refuses it with its own reason
        domain = self.blocked(host) if host else None
        if domain is not None:
            raise ForbiddenAddress(
                f"{host} is on a blocked domain ({domain}); Solo does not fetch from it",
                asked or str(url),
            )

    async def aclose(self) -> None:
        if self._key_fetch_client is not None:
            key_client, self._key_fetch_client = self._key_fetch_client, None
            await key_client.aclose()
        if self._user_client is not None:
            user_client, self._user_client = self._user_client, None
            await user_client.aclose()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get_activity(
        self, url: str, *, auth: httpx.Auth | None, for_key: bool = False
    ) -> dict[str, Any]:
        """Fetch an ActivityStreams object whose `id` is vouched for by its own origin (rule 22).

        Accepted only when the document's `id` is the URL it was served from (after redirects).
        Otherwise its `id` is fetched once more and must then match exactly. The result's `id`
        may differ from `url`: callers must use `document["id"]`, never `url`.

        `for_key`: a key of a request not yet verified, fetched on the key fetches' own
        connections and slots (`Limits.key_fetches`).
        """
        if for_key:
            try:
                async with self._key_slots.slot(url):
                    return await self._get_activity(url, auth, self._key_client())
            except NoKeySlot as full:
                raise FetchTimeout(str(full), url) from None
        return await self._get_activity(url, auth, None)

    def _key_client(self) -> httpx.AsyncClient | KeyClient:
        if self._key_fetch_client is None:
            raise RuntimeError("Fetcher.open() was not awaited")
        return self._key_fetch_client

    async def _get_activity(
        self, url: str, auth: httpx.Auth | None, client: httpx.AsyncClient | KeyClient | None
    ) -> dict[str, Any]:
        document, served_from = await self._get_document(
            url, ACCEPT_ACTIVITY, is_activity_content_type, auth, client
        )
        claimed = document.get("id")
        if claimed == served_from:
            return document
        if not isinstance(claimed, str):
            raise IdMismatch(f"{served_from} answered a document without an id", url)
        document, served_from = await self._get_document(
            claimed, ACCEPT_ACTIVITY, is_activity_content_type, auth, client
        )
        if document.get("id") == claimed == served_from:
            return document
        raise IdMismatch(
            f"the document at {url} claims to be {claimed}, but that URL answered "
            f"a document with id {document.get('id')!r} from {served_from}",
            url,
        )

    async def get_json(self, url: str, *, auth: httpx.Auth | None = None) -> dict[str, Any]:
        """Fetch a JSON object served as application/json or jrd+json (WebFinger, NodeInfo)."""
        document, _ = await self._get_document(url, ACCEPT_JSON, _is_plain_json, auth, None)
        return document

    async def get_html(self, url: str) -> tuple[str, str]:
        """The start of a text/html page (at most `HTML_HEAD` bytes, decoded) and the URL that
        finally served it, for link previews. No signature: pages are not ActivityPub."""
        reply = await self._get(
            url,
            ACCEPT_HTML,
            lambda content_type: media_type(content_type)[0] == ACCEPT_HTML,
            "text/html",
            head=HTML_HEAD,
        )
        parameters = media_type(reply.headers.get("content-type", ""))[1]
        charset = parameters.get("charset", "utf-8")
        try:
            text = reply.body.decode(charset, errors="replace")
        except LookupError:
            text = reply.body.decode("utf-8", errors="replace")
        return text, reply.url

    async def get_media(
        self, url: str, *, max_bytes: int, accept: str, types: frozenset[str]
    ) -> tuple[bytes, str]:
        """A remote file (avatar, header, attachment, emoji) and its media type, for the media
        cache: only one of `types` (the cache's servable and generic ones), at most `max_bytes`
        (TooLarge while streaming).

        Unsigned, as Mastodon serves media; the caller checks the bytes match the type."""
        reply = await self._get(
            url,
            accept,
            lambda content_type: media_type(content_type)[0] in types,
            "an image, video or audio file Solo serves",
            cap=max_bytes,
        )
        return reply.body, media_type(reply.headers.get("content-type", ""))[0]

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None,
        federated: bool = True,
    ) -> Reply:
        """POST `body` (a delivery) and return whatever status came back.

        Redirects are returned, not followed: a signed POST is bound to its host. An oversized
        answer is cut rather than refused, so a delivery that arrived is not retried for it.
        `federated=False` for what is not an ActivityPub exchange (a Web Push message), which
        limited federation does not restrict.
        """
        sent = {
            "Content-Type": "application/activity+json",
            "Accept-Encoding": "identity",
            **(headers or {}),
        }
        return await self._exchange(
            "POST",
            url,
            headers=sent,
            content=body,
            auth=auth,
            follow=False,
            cut=True,
            federated=federated,
        )

    async def _get_document(
        self,
        url: str,
        accept: str,
        type_ok: Callable[[str], bool],
        auth: httpx.Auth | None,
        client: httpx.AsyncClient | KeyClient | None,
    ) -> tuple[dict[str, Any], str]:
        """GET a JSON object; return it with the URL that finally served it."""
        reply = await self._get(
            url, accept, type_ok, repr(accept), auth=auth, client=client, federated=True
        )
        try:
            document = json_input.parse_object(reply.body)
        except json_input.BadJSON as error:
            raise BadDocument(f"the JSON at {reply.url} {error}", url) from None
        return document, reply.url

    async def _get(
        self,
        url: str,
        accept: str,
        type_ok: Callable[[str], bool],
        wanted: str,
        *,
        auth: httpx.Auth | None = None,
        head: int = 0,
        cap: int | None = None,
        client: httpx.AsyncClient | KeyClient | None = None,
        federated: bool = False,
    ) -> Reply:
        """GET `url`, following redirects, and return the answer only if it is a 200 with a
        content type that `type_ok` accepts: else HTTPStatusError, or BadContentType saying it
        is not what was `wanted`. The other arguments are `_exchange`'s."""
        reply = await self._exchange(
            "GET",
            url,
            headers={"Accept": accept},
            content=None,
            auth=auth,
            follow=True,
            cut=False,
            head=head,
            cap=cap,
            client=client,
            federated=federated,
        )
        if reply.status != 200:
            raise HTTPStatusError(f"{reply.url} answered {reply.status}", url, reply.status)
        content_type = reply.headers.get("content-type", "")
        if not type_ok(content_type):
            raise BadContentType(
                f"{reply.url} answered {content_type or 'no content type'!r}, not {wanted}", url
            )
        return reply

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        auth: httpx.Auth | None,
        follow: bool,
        cut: bool,
        head: int = 0,
        cap: int | None = None,
        client: httpx.AsyncClient | KeyClient | None = None,
        federated: bool = False,
    ) -> Reply:
        """One request with its redirects and body, under the total deadline; with `head`,
        only the first `head` bytes of the decoded body are read; `cap` replaces
        `Limits.max_body`. `client` is the shared one, or the user's within `user_action`,
        unless another pool is named. `federated`: an ActivityPub exchange, which limited
        federation allows only with the servers on its allowlist (each hop checked)."""
        pool = "key fetches'" if client is not None else "shared"
        deadline = self.limits.deadline
        if client is not None and client is self._key_fetch_client:
            deadline = min(deadline, self.limits.key_deadline)
        if client is None and _USER_ACTION.get():
            client, pool = self._user_client, "user's"
        client = client or self._client
        if client is None:
            raise RuntimeError("Fetcher.open() was not awaited")
        try:
            target = self._check(url, federated)
            self.refuse_blocked(target, url)  # the URL as parsed once, by `_check`
            async with asyncio.timeout(deadline):
                for _hop in range(self.limits.max_redirects + 1):
                    response: httpx.Response | KeyResponse
                    if isinstance(client, KeyClient):  # key fetches are GETs
                        response = await client.get(target, headers, auth)
                    else:
                        request = client.build_request(
                            method, target, headers=headers, content=content
                        )
                        response = await client.send(request, auth=auth, stream=True)
                    try:
                        location = response.headers.get("location")
                        if follow and response.status_code in _REDIRECTS and location:
                            # Each hop is checked like the first URL, and signed anew by `auth`.
                            following = response.url.join(location)
                            target = self._check(following, federated)
                            self.refuse_blocked(target, url)
                            continue
                        body = await self._read_body(response, url, cut=cut, head=head, cap=cap)
                        return Reply(
                            response.status_code, response.headers, body, str(response.url)
                        )
                    finally:
                        await response.aclose()
                raise TooManyRedirects(
                    f"{url} redirected more than {self.limits.max_redirects} times", url
                )
        except AddressRefused as error:
            raise ForbiddenAddress(str(error), url) from None
        except httpx.InvalidURL as error:
            raise ForbiddenAddress(f"{url} redirected to an invalid URL ({error})", url) from None
        except httpx.PoolTimeout:
            raise FetchTimeout(
                f"no connection of the {pool} pool came free within {self.limits.connect:g} s"
                f" for {url} (the pool's limit)",
                url,
            ) from None
        except httpx.ConnectTimeout:
            raise FetchTimeout(
                f"{url} did not accept a connection within {self.limits.connect:g} s"
                " (the connect limit)",
                url,
            ) from None
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise FetchTimeout(
                f"{url} did not answer within the time limits: it went quiet for"
                f" {self.limits.read:g} s (the read limit)",
                url,
            ) from None
        except (TimeoutError, httpx.TimeoutException):
            raise FetchTimeout(
                f"{url} did not answer within the time limits: the whole request took over"
                f" {deadline:g} s (the total deadline)",
                url,
            ) from None
        except httpx.HTTPError as error:
            raise Unreachable(f"{url} could not be reached: {error}", url) from None

    def _check(self, url: str | httpx.URL, federated: bool) -> httpx.URL:
        """`url` as the address policy parses it, if it may be asked; else AddressRefused."""
        settings = self.settings
        target = check_url(url, allow_private=settings.allow_private_addresses)
        if federated and settings.limited_federation:
            default = 443 if target.scheme == "https" else 80
            host = target.host if target.port in (None, default) else f"{target.host}:{target.port}"
            if not settings.federates_with(host):
                raise AddressRefused(
                    "%(host)s is not among the servers this one federates with (limited"
                    " federation)",
                    host=host,
                )
        return target

    async def _read_body(
        self,
        response: httpx.Response | KeyResponse,
        url: str,
        *,
        cut: bool,
        head: int = 0,
        cap: int | None = None,
    ) -> bytes:
        cap = self.limits.max_body if cap is None else cap
        if cut:
            # POST answers are only logged: asked for as identity, kept undecoded, cut at the cap.
            kept = bytearray()
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= cap:
                    break
            return bytes(kept[:cap])
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if head:
            reader = _BodyReader(encoding, min(head, cap), url)
            async for chunk in response.aiter_raw():
                if not reader.feed(chunk):
                    break
            return reader.start()
        declared = response.headers.get("content-length", "")
        if encoding == "identity" and declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"{response.url} announced {declared} bytes, over {cap}", url)
        reader = _BodyReader(encoding, cap, url)
        async for chunk in response.aiter_raw():
            if not reader.feed(chunk):
                raise TooLarge(f"{response.url} sent more than {cap} bytes", url)
        return reader.finish()


class _BodyReader:
    """Decompresses as it goes and stops at the cap, so a gzip bomb costs at most `cap` bytes.

    httpx's own decoder inflates a whole network chunk at once (64 KB of gzip can become 64 MB),
    hence raw reads and `max_length` here.
    """

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self._inflater: zlib._Decompress | None
        if encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "identity":
            self._inflater = None
        else:
            raise BadDocument(f"{url} answered with an unsupported encoding {encoding!r}", url)
        self._cap = cap
        self._url = url
        self._body = bytearray()

    def feed(self, data: bytes) -> bool:
        """Add raw bytes; False once the decoded body is over the cap."""
        if self._inflater is None:
            self._body += data
            return len(self._body) <= self._cap
        try:
            while data and not self._inflater.eof:
                # One byte over the room left is enough to know the cap is exceeded.
                room = self._cap - len(self._body) + 1
                self._body += self._inflater.decompress(data, room)
                if len(self._body) > self._cap:
                    return False
                data = self._inflater.unconsumed_tail
        except zlib.error:
            raise BadDocument(f"{self._url} sent a corrupt gzip body", self._url) from None
        return True

    def start(self) -> bytes:
        """What was decoded so far, at most the cap, complete or not."""
        return bytes(self._body[: self._cap])

    def finish(self) -> bytes:
        if self._inflater is not None and not self._inflater.eof:
            raise BadDocument(f"{self._url} sent a truncated gzip body", self._url)
        return bytes(self._body)
