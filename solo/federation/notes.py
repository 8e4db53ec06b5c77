"""Incoming posts: Note, Article, Page and Question objects, and the kinds Mastodon converts
into posts (`converted`), checked and made into a NewStatus.

Every check that concerns the object alone is here, shared by Create, Update and Announce:
the origin (the object's id on its author's host, `attributedTo` naming the author, rule 21),
the visibility read from the addressing (rule 25), sanitized content (rule 34) and the size
cap; the `tag` list is normalised and capped (`tags`). Whether a post is wanted at all
(rule 24) is the handlers' business.
"""

from __future__ import annotations

import html
import json
import re
import time
from datetime import datetime
from typing import Any, Final

from solo.activitystreams import PUBLIC, as_list, href_of, id_of, text_of, types_of
from solo.federation import converted
from solo.federation.attachments import parse_attachments
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.remote_actors import authority, same_origin
from solo.federation.tags import OBJECT_LINK_TYPES, normal_tags, with_normal_tags
from solo.ids import IdGenerator
from solo.media import emoji
from solo.net.fetch import FetchError
from solo.sanitize import plain_text, sanitize_remote_html
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus, Visibility

POST_TYPES: Final = frozenset({"Note", "Article", "Page", "Question"}) | converted.CONVERTED_TYPES
# Long-form types whose `name` is a title the reader must see (Mastodon shows it too).
_TITLED: Final = frozenset({"Article", "Page"})
# Compacted JSON-LD may name the public collection by its short forms (rule 25).
PUBLIC_IDS: Final = frozenset({PUBLIC, "as:Public", "Public"})
AS_MEDIA_TYPE: Final = "application/activity+json"
MAX_CONTENT: Final = 100 * 1024  # characters of sanitized content and summary together
MAX_RAW_CONTENT: Final = 4 * MAX_CONTENT  # before sanitizing, markup included
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")
# What a content warning reads when its markup holds no text (`<p></p>`): still a warning.
FALLBACK_SUMMARY: Final = "Sensitive content"


def first(value: Any) -> Any:
    """The first item of an AS2 value that may be one thing or an array."""
    items = as_list(value)
    return items[0] if items else None


def ids_in(value: Any) -> set[str]:
    """The ids named by an addressing-like value (strings, objects with an id, or arrays)."""
    return {found for item in as_list(value) if (found := id_of(item)) is not None}


def audience(document: dict[str, Any]) -> set[str]:
    """Everyone a document is addressed to, blind copies and `audience` included."""
    found: set[str] = set()
    for key in ("to", "cc", "bto", "bcc", "audience"):
        found |= ids_in(document.get(key))
    return found


def mentioned(document: dict[str, Any]) -> set[str]:
    """The `href`s of the document's Mention tags."""
    return {tag["href"] for tag in normal_tags(document.get("tag")) if tag["type"] == "Mention"}


def visibility_of(document: dict[str, Any], followers_url: str | None) -> Visibility:
    """Mastodon's reading of the addressing: Public in `to` → public, Public in `cc` → unlisted,
    the author's followers addressed → followers-only, anything else → direct."""
    to = ids_in(document.get("to")) | ids_in(document.get("bto"))
    cc = ids_in(document.get("cc")) | ids_in(document.get("bcc"))
    if to & PUBLIC_IDS:
        return "public"
    if cc & PUBLIC_IDS:
        return "unlisted"
    if followers_url is not None and followers_url in to | cc:
        return "private"
    return "direct"


def author_of(document: dict[str, Any]) -> str | None:
    """The first actor `attributedTo` names (PeerTube lists the account, then its channel)."""
    for item in as_list(document.get("attributedTo")):
        found = id_of(item)
        if found is not None:
            return found
    return None


def parse_time(value: Any) -> float | None:
    """An xsd:dateTime as unix seconds; None when absent, unreadable or before 1970."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a time without a zone could be anyone's local time
    stamp = parsed.timestamp()
    return stamp if stamp >= 0 else None


def _published(document: dict[str, Any], now: float) -> float:
    stamp = parse_time(document.get("published"))
    # Ids come from publication times: a date in the future would pin a post to the top.
    return now if stamp is None or stamp > now else stamp


def _language(document: dict[str, Any]) -> str | None:
    content_map = document.get("contentMap")
    candidates: list[Any] = list(content_map) if isinstance(content_map, dict) else []
    language = document.get("language")  # Lemmy: {"identifier": "ko", "name": "한국어"}
    if isinstance(language, dict):
        candidates.append(language.get("identifier"))
    for candidate in candidates:
        if isinstance(candidate, str) and _LANGUAGE.fullmatch(candidate):
            return candidate
    return None


def _content(document: dict[str, Any]) -> str:
    content = text_of(document.get("content"))
    if not content:
        content_map = document.get("contentMap")
        if isinstance(content_map, dict):
            content = next((v for v in content_map.values() if isinstance(v, str) and v), "")
    return content


def _http_url(value: str | None) -> str | None:
    return value if value is not None and authority(value) is not None else None


# Where each kind of server names the post quoted, most trusted first: Mastodon 4.5 and
# FEP-044f, Misskey, then the older `quoteUrl` (Pleroma, Misskey) and Fedibird's `quoteUri`.
# Only the id is read: an embedded copy is never trusted, the post is fetched from its origin.
_QUOTE_KEYS: Final = ("quote", "_misskey_quote", "quoteUrl", "quoteUri", "quoteURL")


def quote_of(document: dict[str, Any]) -> str | None:
    """The id of the post `document` quotes; None when it quotes nothing or itself."""
    candidates = [id_of(first(document.get(key))) for key in _QUOTE_KEYS]
    for tag in normal_tags(document.get("tag")):
        if tag["type"] == "Link" and tag["mediaType"] in OBJECT_LINK_TYPES:
            candidates.append(tag["href"])
    for candidate in candidates:
        url = _http_url(candidate)
        if url is not None:
            return None if url == document.get("id") else url
    return None


def check_origin(document: dict[str, Any], author: RemoteActor) -> str:
    """The object's id, once it is known to be a post by `author` on `author`'s host."""
    kinds = types_of(document)
    if not kinds & POST_TYPES:
        raise Ignored(f"a {document.get('type')!r} is not a kind of post Solo keeps")
    object_id = document.get("id")
    if not isinstance(object_id, str) or not same_origin(object_id, author.ap_id):
        raise Ignored(f"the object {object_id!r} is not on {author.domain}")
    if author.ap_id not in ids_in(document.get("attributedTo")):
        raise Ignored(f"{object_id} is not attributed to {author.ap_id}")
    return object_id


def parse_post(
    document: dict[str, Any],
    author: RemoteActor,
    ids: IdGenerator,
    *,
    fallback_addressing: dict[str, Any] | None = None,
    allow_private: bool = False,
) -> NewStatus:
    """Check a post object by `author` and turn it into a status to store; raises Ignored.

    The addressing is the object's own, or `fallback_addressing`'s (the activity's) when the
    object has none. `in_reply_to_id` is left for the caller to resolve.
    """
    object_id = check_origin(document, author)
    assert author.id is not None
    document = with_normal_tags(document)
    content = _content(document)
    reply_to = id_of(first(document.get("inReplyTo")))
    name = text_of(document.get("name")).strip()
    if not content and name and reply_to and "Note" in types_of(document):
        # Mastodon votes in a poll with a Note whose `name` is the chosen option.
        raise Ignored("a poll vote")
    if name and types_of(document) & _TITLED:
        content = f"<h2>{html.escape(name)}</h2>{content}"
    raw_summary = text_of(document.get("summary"))
    url = _http_url(href_of(document.get("url")))
    media = parse_attachments(document, allow_private=allow_private)
    if converted.is_converted(document):
        content = converted.text(document, content, raw_summary)
        raw_summary = ""
        url = _http_url(converted.page_url(document))
        media = converted.with_url_media(media, document, allow_private=allow_private)
    if len(content) + len(raw_summary) > MAX_RAW_CONTENT:
        # Sanitizing costs ~0.5 s per MB on the event loop: refuse the absurd before it.
        raise Ignored(f"{object_id} is longer than {MAX_RAW_CONTENT} characters")
    content_html = sanitize_remote_html(content)
    summary = plain_text(raw_summary).strip()
    if raw_summary.strip() and not summary:
        summary = FALLBACK_SUMMARY
    if len(content_html) + len(summary) > MAX_CONTENT:
        raise Ignored(f"{object_id} is longer than {MAX_CONTENT} characters")
    addressing = document
    if fallback_addressing is not None and not (
        ids_in(document.get("to")) or ids_in(document.get("cc"))
    ):
        addressing = fallback_addressing
    published = _published(document, time.time())
    context = document.get("conversation") or document.get("context")
    conversation = context if isinstance(context, str) else id_of(context)
    return NewStatus(
        id=ids.next(at=published),
        ap_id=object_id,
        actor_id=author.id,
        visibility=visibility_of(addressing, author.followers_url),
        content_html=content_html,
        published_at=published,
        url=url,
        type=sorted(types_of(document) & POST_TYPES)[0],
        in_reply_to_ap_id=_http_url(reply_to),
        conversation=conversation,
        summary=summary,
        # A content warning hides the post, so the post is sensitive (as Mastodon has it).
        sensitive=document.get("sensitive") is True or bool(summary),
        language=_language(document),
        raw=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        quote_ap_id=quote_of(document),
        emojis_json=emoji.to_json(emoji.parse_emojis(document)),
        media=media,
    )


async def fetch_object(federation: Federation, url: str) -> dict[str, Any]:
    """Fetch an object from its origin (the id rule applies); raises Ignored when the origin
    refuses for good, and lets the FetchError through when asking later may work."""
    try:
        return await federation.resolver.fetch(url)
    except FetchError as error:
        if error.temporary:
            raise
        raise Ignored(str(error)) from None


async def object_of(
    federation: Federation, activity: dict[str, Any], actor: RemoteActor
) -> dict[str, Any]:
    """The object of a Create or Update: embedded, or fetched when only its id is given.

    Either way it must be on the actor's host (rule 21): what the actor may vouch for.
    """
    obj = first(activity.get("object"))
    object_id = id_of(obj)
    if object_id is None:
        raise Ignored("the activity has no object with an id")
    if not same_origin(object_id, actor.ap_id):
        raise Ignored(f"the object {object_id} is not on {actor.domain}")
    if isinstance(obj, dict) and (types_of(obj) - {"Link"}):
        return obj
    document = await fetch_object(federation, object_id)
    if not same_origin(str(document["id"]), actor.ap_id):
        raise Ignored(f"{object_id} is served as {document['id']}, not on {actor.domain}")
    return document
