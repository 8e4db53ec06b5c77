"""Serving stored files: only as the media types we allow, never as something a browser runs.

Uploads and cached remote files are other people's bytes served from our origin. Whatever they
contain, they go out with their checked type, `nosniff`, and a CSP that sandboxes them, so that a
file crafted to look like HTML, SVG or JSON can run nothing here (FEDERATION.md, rule 34).
"""

from __future__ import annotations

from typing import Final

from starlette.responses import Response

from solo.store.media import MediaKind

# The types we store and serve; anything else is refused before it is stored.
SERVABLE: Final = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "audio/ogg",
        "audio/mp4",
        "video/ogg",
    }
)
# What servers send for "some bytes": a file served so is judged by its bytes alone.
GENERIC: Final = frozenset({"", "application/octet-stream", "binary/octet-stream"})
SANDBOX_CSP: Final = "default-src 'none'; media-src 'self'; img-src 'self'; sandbox"
# Our uploads and cached files never change under a key: caches may keep them a long time.
IMMUTABLE: Final = "public, max-age=31536000, immutable"


def kind_of(media_type: str) -> MediaKind:
    """How a file of this type is shown: an image, a video, a sound, or a link to it."""
    family = media_type.split("/", 1)[0]
    if family in ("image", "video", "audio") and media_type in SERVABLE:
        return family  # type: ignore[return-value]
    return "unknown"


def media_response(
    data: bytes,
    media_type: str,
    *,
    cache_control: str = IMMUTABLE,
    head: bool = False,
    etag: str | None = None,
) -> Response:
    """`data` as `media_type` with the safe headers; an unexpected type goes out as a download.
    With `etag`, the validator a requester sends back in `If-None-Match` (`not_modified`)."""
    servable = media_type in SERVABLE
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
        "Cache-Control": cache_control,
        "Cross-Origin-Resource-Policy": "same-site",
        "Content-Disposition": "inline" if servable else "attachment",
        "Content-Length": str(len(data)),
    }
    if etag is not None:
        headers["ETag"] = etag
    return Response(
        b"" if head else data,
        media_type=media_type if servable else "application/octet-stream",
        headers=headers,
    )


def not_modified(etag: str, *, cache_control: str = IMMUTABLE) -> Response:
    """The 304 for a requester that already holds this file: no body, the same validator."""
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})
