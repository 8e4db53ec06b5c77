"""Attachments of remote posts: the `attachment` Documents read into rows to store.

Only what can be shown is kept: an http(s) URL on a host that is not a private address (unless
`allow_private_addresses` is set), a media type we serve (the sender's, or the chosen `url`
Link's; a file whose type nobody said is kept and judged by its bytes when fetched), an alt
text as plain text, and the numbers Mastodon adds (size, blurhash, focal point) when they are
sane. The file itself is fetched later, through the media cache, only when someone looks at it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import httpx

from solo.activitystreams import as_list, href_of, text_of, types_of
from solo.media.placeholder import valid_blurhash
from solo.media.serve import SERVABLE, kind_of
from solo.net.addresses import ip_literal, is_allowed_address
from solo.sanitize import plain_text
from solo.store.media import NewMedia

# Mastodon allows 4, Misskey 16: more than that is noise (or an attack on our pages).
MAX_REMOTE_ATTACHMENTS: Final = 16
MAX_DESCRIPTION: Final = 1500
MAX_URL: Final = 2048
MAX_SIDE: Final = 100_000
_ATTACHMENT_TYPES: Final = frozenset({"Document", "Image", "Video", "Audio", "Link"})
_FAMILY: Final = {"Image": "image", "Video": "video", "Audio": "audio"}
# A PeerTube video offers a dozen files (resolutions, playlists, torrents): enough to choose.
MAX_LINKS: Final = 32
# A file whose type nobody said: shown as a link until the media cache has read its bytes.
UNKNOWN_TYPE: Final = "application/octet-stream"
_BY_EXTENSION: Final = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "ogv": "video/ogg",
}


def public_http_url(value: str | None, *, allow_private: bool = False) -> str | None:
    """`value` when it is an http(s) URL whose host is a name or an address we may fetch from:
    a public one, or any unicast one when `allow_private_addresses` is set (rule 35)."""
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
    if literal is not None and not is_allowed_address(literal, allow_private=allow_private):
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


def _declared(item: dict[str, Any]) -> str | None:
    """The media type an object or Link names, lowercase without parameters; None for none.

    Funkwhale writes `mimeType`."""
    for key in ("mediaType", "mimeType"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.split(";", 1)[0].strip().lower()
    return None


@dataclass(frozen=True, slots=True)
class _Link:
    url: str
    media_type: str | None  # None: the sender did not say
    height: int | None
    nested: bool  # inside another Link's `tag` (PeerTube's HLS files)


def _links(item: dict[str, Any], allow_private: bool) -> list[_Link]:
    """Every file an attachment offers: its `url` (a string, a Link or a list of them) or,
    for a Link, its `href`; a Link without a type of its own has the attachment's."""
    found = []
    own = _declared(item)
    values = [(value, False) for value in as_list(item.get("url"))[:MAX_LINKS]]
    if not values:
        values = [(item.get("href"), False)]
    for value, nested in values:
        if isinstance(value, dict):
            if not nested:
                tags = as_list(value.get("tag"))[:MAX_LINKS]
                values.extend((tag, True) for tag in tags if isinstance(tag, dict))
            href = value.get("href") if "href" in value else href_of(value.get("url"))
            media_type = _declared(value) or own
            height = _size(value.get("height"))
        else:
            href, media_type, height = value, own, None
        url = public_http_url(href if isinstance(href, str) else None, allow_private=allow_private)
        if url is not None:
            found.append(_Link(url, media_type, height, nested))
    return found


def _preference(link: _Link, family: str | None) -> tuple[int, int, int, int]:
    """Sort key of the playable files: the attachment's own kind first, then a file offered
    directly, then the height nearest 720 lines from below (a phone plays it, and it is more
    likely to fit the cache's size limit than a 4K file)."""
    assert link.media_type is not None
    other_kind = family is not None and not link.media_type.startswith(family + "/")
    height = link.height
    size_rank = (0, -height) if height is not None and height <= 720 else (1, height or 1 << 30)
    return (int(other_kind), int(link.nested), *size_rank)


def _guess(url: str) -> str | None:
    """The servable type a URL's extension names: a typeless file's best guess, checked by its
    bytes when the media cache fetches it."""
    path = httpx.URL(url).path.lower()
    extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return _BY_EXTENSION.get(extension)


def _choose(item: dict[str, Any], kinds: set[str], allow_private: bool) -> tuple[str, str] | None:
    """The URL and media type of the file to show, or None when none can be shown."""
    links = _links(item, allow_private)
    family = next((f for k, f in _FAMILY.items() if k in kinds), None)
    playable = [link for link in links if link.media_type in SERVABLE]
    if playable:
        best = min(playable, key=lambda link: _preference(link, family))
        assert best.media_type is not None
        return best.url, best.media_type
    typeless = next((link for link in links if link.media_type is None), None)
    if typeless is None:
        return None  # only types we do not serve: an HTML page, a playlist, a torrent
    guessed = _guess(typeless.url)
    if guessed is not None:
        return typeless.url, guessed
    # Pleroma and older peers leave mediaType out of Images.
    return typeless.url, "image/jpeg" if "Image" in kinds else UNKNOWN_TYPE


def parse_attachment(item: Any, *, allow_private: bool = False) -> NewMedia | None:
    """One attachment, or None when it cannot be shown safely.

    `item` may also be a Video or Audio object itself (PeerTube, Funkwhale): its `url` Links
    are its files."""
    if not isinstance(item, dict):
        return None
    kinds = types_of(item)
    if not kinds & _ATTACHMENT_TYPES:
        return None
    chosen = _choose(item, kinds, allow_private)
    if chosen is None:
        return None
    url, media_type = chosen
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


def parse_attachments(
    document: dict[str, Any], *, allow_private: bool = False
) -> tuple[NewMedia, ...]:
    """The attachments of a post that can be shown, at most MAX_REMOTE_ATTACHMENTS;
    `allow_private` is the setting `allow_private_addresses`."""
    found = []
    for item in as_list(document.get("attachment"))[: MAX_REMOTE_ATTACHMENTS * 2]:
        media = parse_attachment(item, allow_private=allow_private)
        if media is not None:
            found.append(media)
    return tuple(found[:MAX_REMOTE_ATTACHMENTS])
