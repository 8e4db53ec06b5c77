"""One activity of an archive's `outbox.json`, read as a post to import.

The archive is the user's own, but it is still a file from elsewhere: its HTML is sanitized
like any remote post's, and every value is checked for its type and size before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from solo.activitystreams import as_list, id_of, text_of
from solo.federation.notes import MAX_CONTENT, parse_time, visibility_of
from solo.federation.tags import normal_tags
from solo.media.upload import MAX_ATTACHMENTS, MAX_DESCRIPTION
from solo.sanitize import plain_text, sanitize_remote_html
from solo.store.statuses import Visibility

POST_TYPES: Final = frozenset({"Note", "Question", "Article", "Page"})
MAX_SUMMARY: Final = 1000
MAX_URL: Final = 2048


@dataclass(frozen=True, slots=True)
class ArchivedAttachment:
    path: str  # inside the archive: Mastodon writes the URL's path without `/system/`
    media_type: str | None
    description: str
    focus: tuple[float, float]


@dataclass(frozen=True, slots=True)
class ArchivedPost:
    original_id: str
    url: str  # the original's page (its id when it names none)
    published: float
    parent: str | None  # the post it answers, as the original named it
    visibility: Visibility
    content_html: str
    source_text: str
    summary: str
    sensitive: bool
    language: str | None
    hashtags: tuple[str, ...]
    mentions: tuple[tuple[str, str], ...]  # (actor id, user@host)
    attachments: tuple[ArchivedAttachment, ...]


def _url(value: Any) -> str | None:
    found = value if isinstance(value, str) else id_of(value)
    if isinstance(found, str) and found.startswith(("https://", "http://")):
        return found if len(found) <= MAX_URL else None
    return None


def _focus(value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        x, y = value
        if all(isinstance(v, int | float) and -1 <= v <= 1 for v in (x, y)):
            return float(x), float(y)
    return 0.0, 0.0


def _attachments(value: Any) -> tuple[ArchivedAttachment, ...]:
    found = []
    for item in as_list(value)[:MAX_ATTACHMENTS]:
        if not isinstance(item, dict):
            continue
        path = item.get("url")
        if isinstance(path, dict):
            path = path.get("href")
        if not isinstance(path, str) or not path or len(path) > MAX_URL:
            continue
        media_type = item.get("mediaType")
        name = item.get("name")
        found.append(
            ArchivedAttachment(
                path=path,
                media_type=media_type if isinstance(media_type, str) else None,
                description=(name.strip() if isinstance(name, str) else "")[:MAX_DESCRIPTION],
                focus=_focus(item.get("focalPoint")),
            )
        )
    return tuple(found)


def _language(document: dict[str, Any]) -> str | None:
    content_map = document.get("contentMap")
    if isinstance(content_map, dict):
        for key in content_map:
            if isinstance(key, str) and 2 <= len(key) <= 35 and key.replace("-", "").isalnum():
                return key
    return None


def read_post(item: Any, now: float) -> ArchivedPost | str | None:
    """The post a Create carries; None for what is not a post (boosts and other activities),
    a reason when it is one but cannot be imported."""
    if not isinstance(item, dict) or item.get("type") != "Create":
        return None
    note = item.get("object")
    if not isinstance(note, dict) or note.get("type") not in POST_TYPES:
        return None
    original_id = _url(note.get("id"))
    if original_id is None:
        return "a post without an id"
    published = parse_time(note.get("published")) or parse_time(item.get("published"))
    if published is None or published > now:
        return f"{original_id} has no date, or one in the future"
    content = text_of(note.get("content"))
    summary_raw = note.get("summary")
    summary = plain_text(summary_raw).strip() if isinstance(summary_raw, str) else ""
    if len(content) > 4 * MAX_CONTENT:
        return f"{original_id} is too long to import"
    content_html = sanitize_remote_html(content)
    actor = _url(item.get("actor")) or _url(note.get("attributedTo"))
    tags = normal_tags(note.get("tag"))
    return ArchivedPost(
        original_id=original_id,
        url=_url(note.get("url")) or original_id,
        published=published,
        parent=_url(note.get("inReplyTo")),
        visibility=visibility_of(note, None if actor is None else f"{actor}/followers"),
        content_html=content_html,
        source_text=plain_text(content_html),
        summary=summary[:MAX_SUMMARY],
        sensitive=note.get("sensitive") is True,
        language=_language(note),
        hashtags=tuple(str(tag["name"]).lstrip("#") for tag in tags if tag["type"] == "Hashtag"),
        mentions=tuple(
            (str(tag["href"]), str(tag.get("name") or tag["href"]).lstrip("@"))
            for tag in tags
            if tag["type"] == "Mention"
        ),
        attachments=_attachments(note.get("attachment")),
    )
