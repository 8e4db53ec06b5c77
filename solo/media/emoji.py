"""Custom emoji of remote posts and profiles: `Emoji` tags in, `<img class="emoji">` out.

Mastodon, Pleroma/Akkoma and Misskey name an emoji in a document's `tag`:

    {"type": "Emoji", "name": ":blobcat:", "icon": {"type": "Image", "url": "https://…"}}

(Misskey and Kroeg vary: `icon` may be a list, the name may lack its colons, `tag` may be one
object). What is kept is a shortcode and an http(s) URL, at most `MAX_PER_DOCUMENT` of them
(CVE-2026-23962: cap what a document may make us do). They are shown through the media proxy,
so a page never points at the remote URL itself; a URL that is not plain http(s) (`javascript:`,
`data:`, anything with quotes or brackets in it) is dropped here and its shortcode stays text.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from markupsafe import Markup

from solo.activitystreams import as_list, href_of, types_of
from solo.media.proxy import MAX_URL, is_http_url

MAX_PER_DOCUMENT: Final = 64
SHORTCODE: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
# `:code:` not glued to a word on either side (`10:30:45` is a time, not an emoji).
_IN_TEXT: Final = re.compile(r"(?<![A-Za-z0-9_]):([A-Za-z0-9_]{1,64}):(?![A-Za-z0-9_])")
# Sanitized HTML: tags (attributes included) and the text between them.
_TAG: Final = re.compile(r"(<[^>]*>)")

Proxy = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Emoji:
    shortcode: str  # without colons
    url: str  # the remote image, http(s)


def _emoji(shortcode: Any, url: Any) -> Emoji | None:
    if not isinstance(shortcode, str) or not isinstance(url, str):
        return None
    code = shortcode.strip().strip(":")
    if not SHORTCODE.fullmatch(code) or len(url) > MAX_URL or not is_http_url(url):
        return None
    return Emoji(code, url)


def parse_emojis(document: dict[str, Any]) -> list[Emoji]:
    """The usable Emoji tags of a post or actor document, first of each shortcode kept."""
    found: dict[str, Emoji] = {}
    for tag in as_list(document.get("tag")):
        if len(found) >= MAX_PER_DOCUMENT:
            break
        if not isinstance(tag, dict) or "Emoji" not in types_of(tag):
            continue
        emoji = _emoji(tag.get("name"), href_of(tag.get("icon")))
        if emoji is not None:
            found.setdefault(emoji.shortcode, emoji)
    return list(found.values())


def to_json(emojis: Iterable[Emoji]) -> str | None:
    """What the `emojis_json` columns hold; None when there are none."""
    items = [{"shortcode": e.shortcode, "url": e.url} for e in emojis]
    return json.dumps(items, separators=(",", ":")) if items else None


@functools.lru_cache(maxsize=4096)
def from_json(text: str | None) -> tuple[Emoji, ...]:
    """The emoji of an `emojis_json` column, checked again as they are read (a page shows
    the same few authors and posts again and again, hence the cache)."""
    if not text:
        return ()
    try:
        items = json.loads(text)
    except ValueError:
        return ()
    found = (
        _emoji(item.get("shortcode"), item.get("url"))
        for item in as_list(items)[:MAX_PER_DOCUMENT]
        if isinstance(item, dict)
    )
    return tuple(emoji for emoji in found if emoji is not None)


def _images(emojis: Iterable[Emoji], proxy: Proxy) -> dict[str, str]:
    images = {}
    for emoji in emojis:
        src = proxy(emoji.url)
        if src is not None:
            code = f":{emoji.shortcode}:"
            images[emoji.shortcode] = (
                f'<img class="emoji" src="{html.escape(src)}" alt="{code}" title="{code}"'
                ' draggable="false">'
            )
    return images


def emojify(markup: str, emojis: Iterable[Emoji], proxy: Proxy) -> Markup:
    """Sanitized HTML with each known `:shortcode:` of its text (never of a tag or attribute)
    replaced by its image. `markup` must already be safe HTML: it is returned as Markup."""
    images = _images(emojis, proxy)
    if not images:
        return Markup(markup)  # noqa: S704 - the caller's sanitized or escaped HTML
    chunks = _TAG.split(markup)
    for index in range(0, len(chunks), 2):  # even chunks are text, odd ones are tags
        chunks[index] = _IN_TEXT.sub(
            lambda match: images.get(match.group(1), match.group(0)), chunks[index]
        )
    return Markup("".join(chunks))  # noqa: S704 - safe HTML plus our own <img> tags


def emojify_text(text: str, emojis: Iterable[Emoji], proxy: Proxy) -> Markup:
    """Plain text (a display name, a content warning), escaped, with its emoji as images."""
    return emojify(str(Markup.escape(text)), emojis, proxy)
