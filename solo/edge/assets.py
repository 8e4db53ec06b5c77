"""The static files under content-hashed names, cached for a year, precompressed once.

At start every file of `static/` is read once and named by its content: `style.css` is also
`style.<10 hex of its SHA-256>.css`. Templates link the hashed name through `{{ static('style.css')
}}`, answered with `Cache-Control: immutable`: a browser never asks again, and a new release
has new names. The plain name keeps working, answered `no-cache` (the browser revalidates it by
its ETag and gets a 304), for whatever still links it: older pages in a cache, the API's missing
avatar, a template not converted yet.

Compressible files (CSS, JS, SVG…) are compressed at their best (brotli 11, gzip 9) on their
first request and kept: the `Compression` middleware passes them by, as they carry their own
`Content-Encoding`.

The stylesheet is inlined in the pages of a browser that does not have it yet (first paint on
a slow network: no second round trip before anything shows), which then fetches it at leisure
(`rel=prefetch`) for the next page. Its answer sets the cookie `solo_css` to its digest, by
which pages know to link it instead. The Content-Security-Policy allows that one inline
stylesheet by its SHA-256 (`inline_source`), nothing else inline."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from solo.edge.compression import available, choose_encoding, compress, compressible
from solo.paths import static_dir

HASH_LENGTH: Final = 10
INLINED: Final = "style.css"  # in the page until the browser has it (see the module)
CSS_COOKIE: Final = "solo_css"  # the digest of the stylesheet the browser has
CSS_COOKIE_AGE: Final = 31536000  # as long as the file is cached
IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"  # a plain name: kept, but checked by its ETag before each use
PREFIX: Final = "/static/"
MAX_FILE: Final = (
    8 * 1024 * 1024
)  # the folder is ours; this only keeps a mistake from filling memory
EXTRA_TYPES: Final = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


def _media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    guessed = EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    media_type = guessed or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("image/svg+xml", "application/json"):
        return f"{media_type}; charset=utf-8"
    return media_type


def inline_source(data: bytes) -> str:
    """The Content-Security-Policy source that allows exactly this inline text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode() + "'"


def stylesheet_link(url: str) -> Markup:
    return Markup('<link rel="stylesheet" href="{}">').format(url)


def stylesheet_source() -> str:
    """`inline_source` of the stylesheet pages inline, or nothing when there is none."""
    try:
        return inline_source((static_dir() / INLINED).read_bytes())
    except OSError:
        return ""


def hashed_name(name: str, digest: str) -> str:
    """`css/style.css` → `css/style.<digest>.css` (a name without a suffix gets `.<digest>`)."""
    path = PurePosixPath(name)
    stem, suffix = path.stem, path.suffix
    renamed = f"{stem}.{digest}{suffix}" if suffix else f"{path.name}.{digest}"
    return str(path.with_name(renamed))


@dataclass
class Asset:
    name: str
    data: bytes
    digest: str
    media_type: str
    encoded: dict[str, bytes] = field(default_factory=dict)  # coding → smaller body, once made

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


class StaticAssets:
    """Every file of one folder, read at start; serves `/static/{path}` (a route endpoint)."""

    def __init__(self, directory: Path) -> None:
        self.by_name: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        self._lock = asyncio.Lock()
        self._prepared: set[str] = set()
        self._inline: Markup | None = None  # the stylesheet's inline form, once made
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if not path.is_file() or any(part.startswith(".") for part in relative.split("/")):
                continue
            data = path.read_bytes()[: MAX_FILE + 1]
            if len(data) > MAX_FILE:
                raise RuntimeError(f"static/{relative} is over {MAX_FILE} bytes")
            digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
            asset = Asset(relative, data, digest, _media_type(relative))
            self.by_name[relative] = asset
            self.by_hashed[hashed_name(relative, digest)] = asset

    def stylesheet(self, request: Request) -> Markup:
        """The page's stylesheet: linked when the browser has it (its cookie names this
        digest), else inlined, and prefetched for the next page."""
        asset = self.by_name.get(INLINED)
        if asset is None or request.cookies.get(CSS_COOKIE) == asset.digest:
            return stylesheet_link(self.url(INLINED))
        if self._inline is None:
            # Our own file, as is: escaped, it would no longer have the hash the policy allows.
            css = Markup(asset.data.decode())  # noqa: S704 - our own static file
            prefetch = Markup('<link rel="prefetch" href="{}">').format(self.url(INLINED))
            self._inline = Markup("<style>") + css + Markup("</style>\n  ") + prefetch
        return self._inline

    def url(self, name: str) -> str:
        """The address a page links: hashed when the file is known, else the plain name."""
        asset = self.by_name.get(name)
        if asset is None:
            return PREFIX + name
        return PREFIX + hashed_name(name, asset.digest)

    async def _prepare(self, asset: Asset) -> None:
        """The compressed bodies, made once (off the event loop: brotli 11 takes a while)."""
        if asset.name in self._prepared:
            return
        async with self._lock:
            if asset.name in self._prepared:
                return
            if compressible(asset.media_type):
                for coding in available():
                    body = await asyncio.to_thread(compress, coding, asset.data, best=True)
                    if len(body) < len(asset.data):
                        asset.encoded[coding] = body
            self._prepared.add(asset.name)

    async def serve(self, request: Request) -> Response:
        name = request.path_params["path"]
        asset = self.by_hashed.get(name)
        cache_control = IMMUTABLE
        if asset is None:
            asset = self.by_name.get(name)
            cache_control = REVALIDATE
        if asset is None:
            raise HTTPException(404)
        await self._prepare(asset)
        headers = {"Cache-Control": cache_control}
        if asset.name == INLINED and cache_control == IMMUTABLE:
            # Pages link it from now on instead of inlining it.
            secure = "; Secure" if request.app.state.settings.secure_cookies else ""
            headers["Set-Cookie"] = (
                f"{CSS_COOKIE}={asset.digest}; Path=/; Max-Age={CSS_COOKIE_AGE}"
                f"; HttpOnly; SameSite=Lax{secure}"
            )
        if compressible(asset.media_type):
            headers["Vary"] = "Accept-Encoding"
        coding = None
        if asset.encoded and "range" not in request.headers:
            coding = choose_encoding(
                request.headers.get("accept-encoding", ""), tuple(asset.encoded)
            )
        etag = asset.etag if coding is None else f'"{asset.digest}-{coding}"'
        headers["ETag"] = etag
        variants = (asset.etag, *(f'"{asset.digest}-{c}"' for c in asset.encoded))
        held = _matching(request.headers.get("if-none-match", ""), variants)
        if held is not None:  # the same bytes, in whichever coding the cache holds them
            headers["ETag"] = held
            return Response(status_code=304, headers=headers)
        body = asset.data
        if coding is not None:
            headers["Content-Encoding"] = coding
            body = asset.encoded[coding]
        return Response(body, media_type=asset.media_type, headers=headers)


def _matching(header: str, etags: tuple[str, ...]) -> str | None:
    """The one of `etags` that `If-None-Match` names (compared weakly), if any."""
    for candidate in header[:4096].split(","):
        tag = candidate.strip().removeprefix("W/")
        if tag == "*":
            return etags[0]
        if tag in etags:
            return tag
    return None
