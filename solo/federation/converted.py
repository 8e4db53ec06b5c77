"""Objects that are not posts but are shown as posts, as Mastodon converts them (rule 40):
PeerTube's Videos, Funkwhale's Audio, Mobilizon's Events and plain Images.

The text is the object's name linked to its page, then its summary or, failing that, its
description (`content`); the attachments come from `attachment` and from the media Links in
`url` (PeerTube lists each rendition there, Funkwhale its audio file). Mastodon uses the
summary as text rather than as a content warning for these, and so does Solo.
"""

from __future__ import annotations

import html
import re
from typing import Any, Final

from solo.federation.activitystreams import as_list, href_of, text_of, types_of
from solo.federation.attachments import MAX_REMOTE_ATTACHMENTS, parse_attachment
from solo.store.media import NewMedia

CONVERTED_TYPES: Final = frozenset({"Image", "Video", "Audio", "Event"})
# The rendition shown of a video offered in several sizes: the largest up to this height,
# enough for a timeline without fetching a gigabyte.
_PREFERRED_HEIGHT: Final = 720
_MEDIA_FAMILIES: Final = ("image/", "video/", "audio/")
_PARAGRAPHS: Final = re.compile(r"\n\s*\n")


def is_converted(document: dict[str, Any]) -> bool:
    """Whether `document` is only a post once converted (no Note, Article, Page or Question)."""
    kinds = types_of(document)
    return bool(kinds & CONVERTED_TYPES) and not kinds & {"Note", "Article", "Page", "Question"}


def _media_type_of(link: dict[str, Any]) -> str:
    # Funkwhale writes `mimeType`.
    value = link.get("mediaType") or link.get("mimeType")
    return value.split(";", 1)[0].strip().lower() if isinstance(value, str) else ""


def _links(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [link for link in as_list(document.get("url")) if isinstance(link, dict)]


def page_url(document: dict[str, Any]) -> str | None:
    """Where a person watches or reads the object: its text/html Link, else its first URL."""
    for link in _links(document):
        if _media_type_of(link) == "text/html":
            found = href_of(link.get("href"))
            if found:
                return found
    for value in as_list(document.get("url")):
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and not _media_type_of(value).startswith(_MEDIA_FAMILIES):
            found = href_of(value.get("href"))
            if found:
                return found
    return None


def _paragraphs(text: str) -> str:
    """Plain text or Markdown (PeerTube's descriptions) as escaped paragraphs."""
    blocks = _PARAGRAPHS.split(text.replace("\r\n", "\n").strip())
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
        if block.strip()
    )


def text(document: dict[str, Any], content: str, summary: str) -> str:
    """The post's HTML, before sanitizing: the name linked to the page, then the summary or
    the content (`content` and `summary` as the caller read them)."""
    name = text_of(document.get("name")).strip()
    url = page_url(document) or text_of(document.get("id"))
    parts = []
    if name or url:
        parts.append(f'<p><a href="{html.escape(url)}">{html.escape(name or url)}</a></p>')
    start = text_of(document.get("startTime")).strip()
    if start and "Event" in types_of(document):
        parts.append(f"<p>{html.escape(start)}</p>")
    if summary.strip():
        parts.append(summary)
    elif content.strip():
        markup = text_of(document.get("mediaType")).lower()
        parts.append(content if markup in ("", "text/html") else _paragraphs(content))
    return "".join(parts)


def _height(link: dict[str, Any]) -> int:
    value = link.get("height")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _media_links(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The media Links of `url`, and those one level down: a PeerTube server that only
    streams (HLS) lists its mp4 files in the `tag` of the playlist's Link."""
    found = []
    for link in _links(document):
        nested = [item for item in as_list(link.get("tag")) if isinstance(item, dict)]
        for candidate in (link, *nested):
            if _media_type_of(candidate).startswith(_MEDIA_FAMILIES):
                found.append(candidate)
    return found


def _rendition(document: dict[str, Any]) -> dict[str, Any] | None:
    """The media Link of `url` to show: for a video in several sizes, the largest up to
    `_PREFERRED_HEIGHT`, else the smallest."""
    media = _media_links(document)
    if not media:
        return None
    fitting = [link for link in media if _height(link) <= _PREFERRED_HEIGHT]
    if fitting:
        return max(fitting, key=_height)
    return min(media, key=_height)


def media(document: dict[str, Any]) -> tuple[NewMedia, ...]:
    """The attachment the object's `url` names, as an attachment Document checked by the same
    rules as any other (`attachments.parse_attachment`)."""
    item: dict[str, Any] | None = None
    link = _rendition(document)
    if link is not None:
        item = {"type": "Document", "mediaType": _media_type_of(link), "url": link.get("href")}
        for key in ("width", "height"):
            if key in link:
                item[key] = link[key]
    elif "Image" in types_of(document) and isinstance(document.get("url"), str):
        item = {"type": "Image", "url": document["url"]}  # the image itself
    if item is None:
        return ()
    item["name"] = text_of(document.get("name"))
    found = parse_attachment(item)
    return () if found is None else (found,)


def with_url_media(
    attached: tuple[NewMedia, ...], document: dict[str, Any]
) -> tuple[NewMedia, ...]:
    """The `attachment`s already read, then the media of `url`, within the usual cap."""
    return (*attached, *media(document))[:MAX_REMOTE_ATTACHMENTS]
