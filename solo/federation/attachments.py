"""Attachments of remote posts: the `attachment` Documents read into rows to store.

Only what can be shown is kept: an http(s) URL on a host that is not a private address, a media
type we serve, an alt text as plain text, and the numbers Mastodon adds (size, blurhash, focal
point) when they are sane. The file itself is fetched later, through the media cache, only when
someone looks at it.
"""

from __future__ import annotations

import math
from typing import Any, Final

import httpx

from solo.federation.activitystreams import as_list, href_of, text_of, types_of
from solo.federation.addresses import ip_literal, is_public_address
from solo.media.placeholder import valid_blurhash
from solo.media.serve import SERVABLE
from solo.sanitize import plain_text
from solo.store.media import MediaKind, NewMedia

# Mastodon allows 4, Misskey 16: more than that is noise (or an attack on our pages).
MAX_REMOTE_ATTACHMENTS: Final = 16
MAX_DESCRIPTION: Final = 1500
MAX_URL: Final = 2048
MAX_SIDE: Final = 100_000
_ATTACHMENT_TYPES: Final = frozenset({"Document", "Image", "Video", "Audio", "Link"})


def kind_of(media_type: str) -> MediaKind:
    family = media_type.split("/", 1)[0]
    if media_type == "image/gif":
        return "image"
    if family in ("image", "video", "audio"):
        return family  # type: ignore[return-value]
    return "unknown"


def public_http_url(value: str | None) -> str | None:
    """`value` when it is an http(s) URL whose host is a name or a public address."""
    if value is None or len(value) > MAX_URL:
        return None
    try:
        url = httpx.URL(value)
        host = url.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeDecodeError):
        return None
    if url.scheme not in ("http", "https") or not host or url.userinfo:
        return None
    literal = ip_literal(host)
    if literal is not None and not is_public_address(literal):
        return None
    return value


def _size(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SIDE:
        return value
    return None


def _focus(value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        x, y = value
        if all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in (x, y)
        ):
            return (max(-1.0, min(1.0, float(x))), max(-1.0, min(1.0, float(y))))
    return (0.0, 0.0)


def _media_type(item: dict[str, Any], kinds: set[str]) -> str | None:
    declared = item.get("mediaType")
    if isinstance(declared, str):
        media_type = declared.split(";", 1)[0].strip().lower()
        return media_type if media_type in SERVABLE else None
    # Pleroma and older peers leave mediaType out of Images.
    if "Image" in kinds:
        return "image/jpeg"
    return None


def parse_attachment(item: Any) -> NewMedia | None:
    """One attachment, or None when it cannot be shown safely."""
    if not isinstance(item, dict):
        return None
    kinds = types_of(item)
    if not kinds & _ATTACHMENT_TYPES:
        return None
    url = public_http_url(href_of(item.get("url")) or href_of(item.get("href")))
    media_type = _media_type(item, kinds)
    if url is None or media_type is None:
        return None
    blurhash = item.get("blurhash")
    focus_x, focus_y = _focus(item.get("focalPoint"))
    return NewMedia(
        kind=kind_of(media_type),
        media_type=media_type,
        remote_url=url,
        description=plain_text(text_of(item.get("name")) or text_of(item.get("summary")))[
            :MAX_DESCRIPTION
        ],
        width=_size(item.get("width")),
        height=_size(item.get("height")),
        blurhash=blurhash if valid_blurhash(blurhash) else None,
        focus_x=focus_x,
        focus_y=focus_y,
    )


def parse_attachments(document: dict[str, Any]) -> tuple[NewMedia, ...]:
    """The attachments of a post that can be shown, at most MAX_REMOTE_ATTACHMENTS."""
    found = []
    for item in as_list(document.get("attachment"))[: MAX_REMOTE_ATTACHMENTS * 2]:
        media = parse_attachment(item)
        if media is not None:
            found.append(media)
    return tuple(found[:MAX_REMOTE_ATTACHMENTS])
