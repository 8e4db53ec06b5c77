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

from solo.activitystreams import as_list, href_of, text_of, types_of
from solo.federation.attachments import MAX_REMOTE_ATTACHMENTS, parse_attachment
from solo.store.media import NewMedia

CONVERTED_TYPES: Final = frozenset({"Image", "Video", "Audio", "Event"})
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


def media(document: dict[str, Any], *, allow_private: bool = False) -> tuple[NewMedia, ...]:
    """The file the object's `url` offers, chosen and checked as any attachment's
    (`attachments.parse_attachment` reads a Video's or Audio's `url` Links as its files)."""
    if not _media_links(document) and not (
        "Image" in types_of(document) and isinstance(document.get("url"), str)
    ):
        return ()
    found = parse_attachment(document, allow_private=allow_private)
    return () if found is None else (found,)


def with_url_media(
    attached: tuple[NewMedia, ...], document: dict[str, Any], *, allow_private: bool = False
) -> tuple[NewMedia, ...]:
    """The `attachment`s already read, then the media of `url`, within the usual cap."""
    return (*attached, *media(document, allow_private=allow_private))[:MAX_REMOTE_ATTACHMENTS]
