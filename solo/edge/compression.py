"""Compressed answers: brotli where the client offers it (and the optional `brotli` package is
installed), else gzip.

Only bodies are compressed, never headers, so a `Set-Cookie` is no BREACH concern. The one secret
pages carry in their bodies beside text an attacker could choose, the CSRF token, is masked anew
on every render (`solo.edge.sessions.masked_csrf_token`). An answer that must never be
compressed says `Cache-Control: no-transform`.

Left as they are: HEAD, range requests, bodies under `MIN_SIZE`, types that are compressed
already (images, video, audio, archives), answers that carry a `Content-Encoding` (the static
files, precompressed once), and event streams (`text/event-stream`: each event must leave at
once). Other streaming answers are compressed chunk by chunk, each flushed."""

from __future__ import annotations

import functools
import zlib
from typing import Final, Protocol

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:  # an optional extra (`solo[brotli]`): compiled, so not every Raspberry Pi has a wheel
    import brotli
except ImportError:  # pragma: no cover - depends on what is installed
    brotli = None

MIN_SIZE: Final = 512  # below this, the gzip header and the CPU cost more than they save
GZIP_LEVEL: Final = 5  # as fast as brotli 4 here, and within 2% of level 6's size
BROTLI_QUALITY: Final = 3  # on the fly: a 108 KB timeline in 0.5 ms (4: 0.8 ms, 6 % smaller)
MAX_ACCEPT_ENCODING: Final = 512  # longer headers are read this far only

COMPRESSIBLE_PREFIXES: Final = ("text/",)
COMPRESSIBLE_TYPES: Final = frozenset(
    {
        "application/json",
        "application/activity+json",
        "application/ld+json",
        "application/jrd+json",
        "application/xrd+xml",
        "application/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/javascript",
        "application/manifest+json",
        "image/svg+xml",
    }
)
NEVER: Final = frozenset({"text/event-stream"})


def available() -> tuple[str, ...]:
    """The encodings this process can produce, preferred first."""
    return ("br", "gzip") if brotli is not None else ("gzip",)


@functools.lru_cache(maxsize=64)
def compressible(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in NEVER:
        return False
    return media_type.startswith(COMPRESSIBLE_PREFIXES) or media_type in COMPRESSIBLE_TYPES


def choose_encoding(accept_encoding: str, offered: tuple[str, ...] | None = None) -> str | None:
    """The coding to answer with, by RFC 9110 §12.5.3: the highest q-value wins, `q=0` refuses,
    `*` stands for every coding not named; on a tie the earlier of `offered` wins."""
    offered = available() if offered is None else offered
    weights: dict[str, float] = {}
    star: float | None = None
    for part in accept_encoding[:MAX_ACCEPT_ENCODING].split(","):
        name, _, params = part.partition(";")
        coding = name.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    weight = 0.0
        if coding == "x-gzip":
            coding = "gzip"
        if coding == "*":
            star = weight
        else:
            weights[coding] = max(weight, weights.get(coding, 0.0))
    best: str | None = None
    best_weight = 0.0
    for coding in offered:
        weight = weights.get(coding, star if star is not None else 0.0)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


class Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Gzip:
    def __init__(self, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _Brotli:
    def __init__(self, quality: int) -> None:
        assert brotli is not None
        self._b = brotli.Compressor(quality=quality)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._b.process(data))

    def flush(self) -> bytes:
        return bytes(self._b.flush())

    def finish(self) -> bytes:
        return bytes(self._b.finish())


def encoder(coding: str, *, best: bool = False) -> Encoder:
    """A streaming compressor; `best` for what is compressed once and served many times."""
    if coding == "br":
        return _Brotli(11 if best else BROTLI_QUALITY)
    if coding == "gzip":
        return _Gzip(9 if best else GZIP_LEVEL)
    raise ValueError(f"unknown content coding {coding!r}")


def compress(coding: str, data: bytes, *, best: bool = False) -> bytes:
    if coding == "br":
        assert brotli is not None
        return bytes(brotli.compress(data, quality=11 if best else BROTLI_QUALITY))
    if coding == "gzip":
        z = zlib.compressobj(9 if best else GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return z.compress(data) + z.flush()
    raise ValueError(f"unknown content coding {coding!r}")


class Compression:
    """The ASGI middleware; goes outermost, so that it sees every header the others add."""

    def __init__(self, app: ASGIApp, minimum_size: int = MIN_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding: str | None = None
        if scope["method"] != "HEAD":
            accept = b""
            for name, value in scope["headers"]:
                if name == b"range":
                    accept = b""
                    break
                if name == b"accept-encoding":
                    accept = value
            if accept:
                coding = coding_for(accept)
        await _Responder(self.app, coding, self.minimum_size)(scope, receive, send)


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct headers between them
def coding_for(accept: bytes) -> str | None:
    """The coding an answer to this raw Accept-Encoding header gets (None: as it is)."""
    return choose_encoding(accept.decode("latin-1"))


class _Responder:
    """One answer's passage: holds the start until the first body shows the size."""

    def __init__(self, app: ASGIApp, coding: str | None, minimum_size: int) -> None:
        self.app = app
        self.coding = coding
        self.minimum_size = minimum_size
        self.start: Message | None = None
        self.encoder: Encoder | None = None
        self.passing = True  # until a start message says this answer may be compressed
        self.send: Send | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.on_message)

    def _eligible(self, message: Message) -> Message | None:
        """The start with `Vary: Accept-Encoding` added when this answer could be compressed
        for some client; None when it goes as it is whoever asks. Read in one pass over the
        raw headers: this runs for every answer, the inbox's 202s included."""
        status = message["status"]
        if status < 200 or status in (204, 206, 304):
            return None
        raw: list[tuple[bytes, bytes]] = list(message.get("headers", []))
        content_type = b""
        vary_at = -1
        for index, (name, value) in enumerate(raw):
            if name == b"content-length":
                if value.isdigit() and int(value) < self.minimum_size:
                    return None
            elif name == b"content-type":
                content_type = value
            elif name == b"content-encoding":
                return None
            elif name == b"cache-control":
                if b"no-transform" in value.lower():
                    return None
            elif name == b"vary":
                vary_at = index
        if not compressible(content_type.decode("latin-1")):
            return None
        if vary_at < 0:
            raw.append((b"vary", b"Accept-Encoding"))
        else:
            present = {v.strip().lower() for v in raw[vary_at][1].split(b",")}
            if b"accept-encoding" not in present and b"*" not in present:
                raw[vary_at] = (b"vary", raw[vary_at][1] + b", Accept-Encoding")
        return {**message, "headers": raw}

    async def on_message(self, message: Message) -> None:
        send = self.send
        assert send is not None
        kind = message["type"]
        if kind == "http.response.start":
            eligible = self._eligible(message)
            if eligible is None or self.coding is None:
                await send(message if eligible is None else eligible)
                return
            self.start = eligible
            self.passing = False
            return
        if self.passing:
            await send(message)
            return
        if kind != "http.response.body":  # e.g. pathsend: the file goes as it is
            await self._release_start()
            await send(message)
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.start is not None:
            if not more:  # the whole body at once: the common case
                if len(body) < self.minimum_size:
                    await self._release_start()
                    await send(message)
                    return
                assert self.coding is not None
                compressed = compress(self.coding, body)
                await send(self._encoded_start(len(compressed)))
                await send({"type": "http.response.body", "body": compressed})
                return
            await send(self._encoded_start(None))
            assert self.coding is not None
            self.encoder = encoder(self.coding)
        assert self.encoder is not None
        if more:
            chunk = self.encoder.compress(body) + self.encoder.flush()
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            chunk = self.encoder.compress(body) + self.encoder.finish()
            await send({"type": "http.response.body", "body": chunk, "more_body": False})

    async def _release_start(self) -> None:
        """Send the held start unchanged: this answer goes out as it is."""
        assert self.send is not None
        start, self.start = self.start, None
        self.passing = True
        if start is not None:
            await self.send(start)

    def _encoded_start(self, length: int | None) -> Message:
        """The held start, now saying the body is encoded (`length` None: streamed)."""
        assert self.start is not None and self.coding is not None
        headers = MutableHeaders(raw=list(self.start.get("headers", [])))
        headers["Content-Encoding"] = self.coding
        # The ETag stays as it is (as Starlette's GZipMiddleware leaves it): it names the
        # document, `If-None-Match` compares weakly anyway, and a peer revalidating with it must
        # get its 304 whichever coding it took. The one strong comparison, `If-Range`, never
        # meets a compressed body: range requests are not compressed.
        if length is None:
            del headers["content-length"]
        else:
            headers["Content-Length"] = str(length)
        start = {**self.start, "headers": headers.raw}
        self.start = None
        return start
