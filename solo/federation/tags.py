"""The `tag` of a remote post, normalised before anything reads or stores it (rule 40).

AS2 lets `tag` be one object or a list of objects, Links or bare URL strings, and peers send
all of these (and some send thousands). What is kept is a list of dicts of four known shapes,
each capped, as Mastodon caps what a document may make it do:

    {"type": "Hashtag", "name": "#name", "href": "https://…"}       (href optional)
    {"type": "Mention", "href": "https://…", "name": "@user@host"}  (name optional)
    {"type": "Emoji", "name": ":code:", "icon": {"type": "Image", "url": "https://…"}}
    {"type": "Link", "mediaType": "application/activity+json", "href": "https://…"}  (FEP-e232)

Everything else (strings, Infohashes, Places, broken objects) is dropped. The hashtag and tag
queries (`store.statuses`) read these shapes from the stored document, and stay robust to any
shape stored before this existed.
"""

from __future__ import annotations

from typing import Any, Final

from solo import hashtags
from solo.activitystreams import as_list, href_of, text_of, types_of
from solo.federation.remote_actors import authority
from solo.media import emoji

MAX_HASHTAGS: Final = 64
MAX_MENTIONS: Final = 100
MAX_EMOJI: Final = emoji.MAX_PER_DOCUMENT
MAX_LINKS: Final = 4
MAX_NAME: Final = 300
MAX_URL: Final = 2048
# FEP-e232: a Link tag whose media type says it names an ActivityStreams object (a quote).
OBJECT_LINK_TYPES: Final = frozenset(
    {
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/activity+json",
    }
)

Tag = dict[str, Any]


def _http_url(value: str | None) -> str | None:
    if value is None or len(value) > MAX_URL or authority(value) is None:
        return None
    return value


def _hashtag(item: dict[str, Any]) -> Tag | None:
    # PeerTube names its tags without the '#'; stored with it, as Mastodon sends them.
    name = text_of(item.get("name")).strip().removeprefix("#")
    if not hashtags.is_valid(name):
        return None
    tag: Tag = {"type": "Hashtag", "name": f"#{name}"}
    href = _http_url(href_of(item.get("href")))
    if href is not None:
        tag["href"] = href
    return tag


def _mention(item: dict[str, Any]) -> Tag | None:
    href = _http_url(href_of(item.get("href")))
    if href is None:
        return None
    tag: Tag = {"type": "Mention", "href": href}
    name = text_of(item.get("name")).strip()
    if name and len(name) <= MAX_NAME:
        tag["name"] = name
    return tag


def _emoji(item: dict[str, Any]) -> Tag | None:
    found = emoji.parse_emojis({"tag": [item]})
    if not found:
        return None
    return {
        "type": "Emoji",
        "name": f":{found[0].shortcode}:",
        "icon": {"type": "Image", "url": found[0].url},
    }


def _link(item: dict[str, Any]) -> Tag | None:
    media_type = " ".join(text_of(item.get("mediaType")).split())
    href = _http_url(href_of(item.get("href")))
    if media_type not in OBJECT_LINK_TYPES or href is None:
        return None
    return {"type": "Link", "mediaType": media_type, "href": href}


def _identity(tag: Tag) -> str:
    if tag["type"] == "Hashtag":
        return hashtags.normalise(tag["name"])
    return str(tag["name"] if tag["type"] == "Emoji" else tag["href"])


_KINDS: Final = (
    ("Hashtag", _hashtag, MAX_HASHTAGS),
    ("Mention", _mention, MAX_MENTIONS),
    ("Emoji", _emoji, MAX_EMOJI),
    ("Link", _link, MAX_LINKS),
)


def normal_tags(value: Any) -> list[Tag]:
    """A document's `tag` value as a list of known shapes, each kind capped, in order; the
    first spelling of each hashtag (any case), each mentioned actor and each emoji kept."""
    found: list[Tag] = []
    counts = dict.fromkeys((kind for kind, _, _ in _KINDS), 0)
    seen: set[tuple[str, str]] = set()
    for item in as_list(value):
        if not isinstance(item, dict):
            continue
        kinds = types_of(item)
        for kind, parse, cap in _KINDS:
            if kind not in kinds or counts[kind] >= cap:
                continue
            tag = parse(item)
            if tag is None:
                continue
            key = (kind, _identity(tag))
            if key not in seen:
                seen.add(key)
                counts[kind] += 1
                found.append(tag)
            break
    return found


def with_normal_tags(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its `tag` normalised (a copy; the original is left as received)."""
    return {**document, "tag": normal_tags(document.get("tag"))}
