"""The entities a Status carries: MediaAttachment, Poll, Card, Tag and the mentions, every
field present (null or [] when empty), as Mastodon emits them.

    media_attachment(federation, item)          # our upload, or a remote file via /proxy/
    poll(poll, own=…, viewer=…, emojis=…, now=…) # a Poll; `voted`/`own_votes` for the user
    card(card)                                  # a link preview (type "link")
    tag(settings, name)                         # a Tag of a post
    tags_of(raw)                                # the hashtag names and mentioned actor ids
"""

from __future__ import annotations

import json
from typing import Any, Final

from solo import hashtags, urls
from solo.api.entities import iso
from solo.config import Settings
from solo.federation import vocab
from solo.federation.context import Federation
from solo.federation.tags import MAX_HASHTAGS, MAX_MENTIONS
from solo.store.cards import Card
from solo.store.media import Media
from solo.store.polls import Poll

VISUAL: Final = frozenset({"image", "gifv", "video"})
TIMED: Final = frozenset({"gifv", "video", "audio"})
# Our thumbnails fit in this square (`solo.media.upload.Processed`); importing the constant
# from `solo.media.process` would load Pillow at start, which that module avoids.
THUMBNAIL_SIZE: Final = 640


def _absolute(settings: Settings, url: str) -> str:
    return settings.base_url + url if url.startswith("/") and not url.startswith("//") else url


def _dimensions(width: int, height: int) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": width / height,
    }


def _meta(item: Media) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if item.kind in VISUAL and item.width and item.height:
        original = _dimensions(item.width, item.height)
        ratio = min(THUMBNAIL_SIZE / item.width, THUMBNAIL_SIZE / item.height, 1.0)
        small = _dimensions(max(1, round(item.width * ratio)), max(1, round(item.height * ratio)))
        meta["original"], meta["small"] = original, small
    if item.kind in TIMED and item.duration is not None:
        meta.setdefault("original", {})["duration"] = item.duration
        meta["duration"] = item.duration
        minutes, seconds = divmod(item.duration, 60)
        hours, minutes = divmod(int(minutes), 60)
        meta["length"] = f"{hours}:{minutes:02d}:{seconds:05.2f}"
    if item.kind == "image":
        meta["focus"] = {"x": item.focus_x, "y": item.focus_y}
    return meta


def media_attachment(federation: Federation, item: Media) -> dict[str, Any]:
    """A MediaAttachment. Ours are served from /media/ (the thumbnail as preview); a remote
    one through our media proxy, with its origin as `remote_url`."""
    settings = federation.settings
    url: str | None
    preview: str | None
    if item.storage_key is not None:
        url = urls.media(settings, item.storage_key)
        preview = url if item.thumbnail_key is None else urls.media(settings, item.thumbnail_key)
    else:
        proxied = federation.media.proxy_url(item.remote_url)
        url = preview = None if proxied is None else _absolute(settings, proxied)
    return {
        "id": str(item.id),
        "type": item.kind,
        "url": url,
        "preview_url": preview,
        "remote_url": None if item.local else item.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": _meta(item),
        "description": item.description or None,
        "blurhash": item.blurhash,
    }


def poll(
    poll: Poll, *, own: bool, viewer: bool, emojis: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """A Poll; its id is its status's. Our own poll counts as voted in, as in Mastodon."""
    votes = sum(option.votes for option in poll.options)
    return {
        "id": str(poll.status_id),
        "expires_at": None if poll.expires_at is None else iso(poll.expires_at),
        "expired": poll.ended(now),
        "multiple": poll.multiple,
        "votes_count": votes,
        "voters_count": poll.voters_count,
        "options": [{"title": o.title, "votes_count": o.votes} for o in poll.options],
        "emojis": emojis,
        "voted": viewer and (own or poll.voted),
        "own_votes": sorted(poll.own_choices) if viewer else [],
    }


def card(card: Card) -> dict[str, Any]:
    return {
        "url": card.card_url or card.url,
        "title": card.title,
        "description": card.description,
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": card.site,
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "embed_url": "",
        "blurhash": None,
    }


def tag(settings: Settings, name: str) -> dict[str, Any]:
    return {"name": name, "url": vocab.hashtag_url(settings, name), "history": []}


def tags_of(raw: str | None) -> tuple[list[str], list[str]]:
    """The hashtag names (without '#', first spelling of each) and the mentioned actor ids in
    a status's `raw` column: our `vocab.Extras` or a remote post's document."""
    if not raw:
        return [], []
    try:
        document = json.loads(raw)
    except ValueError:
        return [], []
    items = document.get("tag") if isinstance(document, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return [], []
    # Rows stored before ingest normalised tags (`federation.tags`) may hold anything: the
    # same rule and caps apply as they are read.
    names: dict[str, str] = {}
    mentions: dict[str, None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name, href = item.get("name"), item.get("href")
        if item.get("type") == "Hashtag" and isinstance(name, str):
            clean = name.strip().removeprefix("#")
            if hashtags.is_valid(clean) and len(names) < MAX_HASHTAGS:
                names.setdefault(hashtags.normalise(clean), clean)
        elif (
            item.get("type") == "Mention" and isinstance(href, str) and len(mentions) < MAX_MENTIONS
        ):
            mentions.setdefault(href)
    return list(names.values()), list(mentions)
