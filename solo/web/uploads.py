"""Our stored files (uploads, their thumbnails, the avatar and header) served from storage.

Keys are random, so a file is found only through the post or profile that shows it (as on
Mastodon). The type comes from the key's extension, which we chose when storing the file.
A key is never reused for other bytes, so the key itself is the file's strong ETag: a peer
revalidating our avatar in a stampede gets a 304 without the file being hashed or sent.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.http_cache import matches, strong_etag
from solo.media.placeholder import placeholder_png
from solo.media.serve import media_response, not_modified
from solo.media.storage import check_key

TYPES: Final = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
}
GONE: Final = "This file does not exist here (any more)."


async def stored_file(request: Request) -> Response:
    key = str(request.path_params["key"])
    extension = key.rsplit(".", 1)[-1]
    try:
        check_key(key)
    except ValueError:
        raise NotFound(GONE) from None
    if not key.startswith(("uploads/", "profile/")) or extension not in TYPES:
        raise NotFound(GONE)
    data = await federation_of(request).storage.get(key)
    if data is None:
        raise NotFound(GONE)
    etag = strong_etag(key)
    if matches(request.headers, etag):
        return not_modified(etag)
    return media_response(data, TYPES[extension], head=request.method == "HEAD", etag=etag)


async def placeholder(request: Request) -> Response:
    """`/placeholder?h=<blurhash>`: what a sensitive attachment shows until opened."""
    try:
        data = placeholder_png(request.query_params.get("h", ""))
    except ValueError:
        raise NotFound("That is not a blurhash.") from None
    return media_response(data, "image/png", head=request.method == "HEAD")


routes: list[BaseRoute] = [
    Route("/media/{key:path}", stored_file, methods=["GET", "HEAD"]),
    Route("/placeholder", placeholder, methods=["GET", "HEAD"]),
]
