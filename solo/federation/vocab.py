"""Our objects as ActivityStreams documents: the actors, Notes, activities and collections.

Everything we publish about ourselves is rendered here, from the stored Account and Status and
the Settings, so the actor endpoint, deliveries and the outbox all say the same thing.
"""

from __future__ import annotations

import html
import json
import mimetypes
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

from solo import urls
from solo.activitystreams import AS_CONTEXT, PUBLIC, SECURITY_CONTEXT
from solo.config import Settings
from solo.store.account import Account, ProfileField
from solo.store.polls import Poll
from solo.store.statuses import Status, Visibility

Document = dict[str, Any]

# Mastodon's extension terms, so that JSON-LD processors expand our actor as Mastodon's.
MASTODON_TERMS: Document = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "Hashtag": "as:Hashtag",
    "discoverable": "toot:discoverable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
}
ACTOR_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, MASTODON_TERMS]
# The terms a Note uses beyond ActivityStreams, named as Mastodon names them.
NOTE_TERMS: Document = {
    "ostatus": "http://ostatus.org#",
    "conversation": "ostatus:conversation",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "votersCount": "toot:votersCount",
}
NOTE_CONTEXT: list[Any] = [AS_CONTEXT, NOTE_TERMS]


def iso8601(timestamp: float) -> str:
    """Unix seconds as Mastodon writes times: UTC, whole seconds, with a Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(url: str | None) -> Document | None:
    if url is None:
        return None
    image: Document = {"type": "Image", "url": url}
    media_type, _ = mimetypes.guess_type(url)
    if media_type is not None:
        image["mediaType"] = media_type
    return image


def person(settings: Settings, account: Account, public_pem: str) -> Document:
    """The local user's actor, as served at urls.actor and sent in Update(Person)."""
    actor = urls.actor(settings)
    document: Document = {
        "@context": ACTOR_CONTEXT,
        "id": actor,
        "type": "Person",
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": account.summary_html,
        "url": urls.profile(settings),
        "inbox": urls.inbox(settings),
        "outbox": urls.outbox(settings),
        "followers": urls.followers(settings),
        "following": urls.following(settings),
        "featured": urls.featured(settings),
        "featuredTags": urls.featured_tags(settings),
        "endpoints": {"sharedInbox": urls.shared_inbox(settings)},
        "publicKey": {
            "id": urls.key_id(settings),
            "owner": actor,
            "publicKeyPem": public_pem,
        },
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "published": iso8601(account.created_at),
        "tag": [],
        # Field values are stored as plain text; peers render PropertyValue values as HTML.
        # No verification claim is sent: each server checks rel="me" links itself.
        "attachment": [
            {"type": "PropertyValue", "name": field.name, "value": field_value_html(field)}
            for field in account.fields
        ],
    }
    for key, url in (("icon", account.avatar_url), ("image", account.header_url)):
        image = _image(url)
        if image is not None:
            document[key] = image
    if account.aliases:
        document["alsoKnownAs"] = [alias.ap_id for alias in account.aliases]
    if account.moved_to is not None:
        document["movedTo"] = account.moved_to
    return document


def field_value_html(field: ProfileField) -> str:
    """A field's value as peers render it: escaped text, or a link (Mastodon's shape) when it
    is one http(s) URL."""
    link = field.link
    if link is None:
        return html.escape(field.value)
    return (
        f'<a href="{html.escape(link)}" rel="me nofollow noopener noreferrer" target="_blank">'
        f"{html.escape(link)}</a>"
    )


def instance_actor(settings: Settings, public_pem: str) -> Document:
    """The server's own actor, which signs our fetches; Mastodon names it after the domain."""
    actor = urls.instance_actor(settings)
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor,
        "type": "Application",
        "preferredUsername": settings.domain,
        "name": settings.domain,
        "url": settings.base_url,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox(settings)},
        "publicKey": {
            "id": urls.instance_key_id(settings),
            "owner": actor,
            "publicKeyPem": public_pem,
        },
        # Nobody should follow a service actor; Mastodon's says the same.
        "manuallyApprovesFollowers": True,
    }


def audience(
    settings: Settings, visibility: Visibility, mentions: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """`to` and `cc` for a visibility, the inverse of how Mastodon reads them (FEDERATION 25)."""
    followers = urls.followers(settings)
    mentioned = list(mentions)
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "private":
        return [followers], mentioned
    return mentioned, []


def with_context(document: Document, context: Any = NOTE_CONTEXT) -> Document:
    """`document` as a top-level document: delivered or served rather than embedded."""
    return {"@context": context, **document}


def hashtag_url(settings: Settings, name: str) -> str:
    """Where a hashtag links; the same URL `solo.text` puts in the post's HTML."""
    return f"{settings.base_url}/tags/{quote(name, safe='')}"


def mention_tag(actor_ap_id: str, handle: str) -> Document:
    """A Mention tag: how peers learn whom a post mentions (and whom to notify)."""
    return {"type": "Mention", "href": actor_ap_id, "name": f"@{handle}"}


def hashtag_tag(settings: Settings, name: str) -> Document:
    return {"type": "Hashtag", "href": hashtag_url(settings, name), "name": f"#{name}"}


@dataclass(frozen=True, slots=True)
class Extras:
    """What one of our Notes carries beyond its columns, fixed when it is written or edited:
    its tags, its attachments (Documents) and, for a poll, the Question's static part (the
    options with zero counts, `endTime`; live counts come from the polls table).

    Kept as JSON in the status's `raw` column, so that the object served at its id, an Update
    and a Delete name the same mentions and audience as the Create did, even if a mentioned
    account later changes its name or disappears.
    """

    tag: tuple[Document, ...] = ()
    attachment: tuple[Document, ...] = ()
    question: Document | None = None

    def to_json(self) -> str:
        document: Document = {"tag": list(self.tag)}
        if self.attachment:
            document["attachment"] = list(self.attachment)
        if self.question is not None:
            document["question"] = self.question
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


NO_EXTRAS: Final = Extras()


def _dicts(value: Any) -> tuple[Document, ...]:
    return (
        tuple(item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()
    )


def stored_extras(raw: str | None) -> Extras:
    """The extras in the `raw` of one of our statuses, as `Extras.to_json` wrote them."""
    if not raw:
        return NO_EXTRAS
    try:
        document = json.loads(raw)
    except ValueError:
        return NO_EXTRAS
    if not isinstance(document, dict):
        return NO_EXTRAS
    question = document.get("question")
    return Extras(
        tag=_dicts(document.get("tag")),
        attachment=_dicts(document.get("attachment")),
        question=question if isinstance(question, dict) else None,
    )


def mentioned(tags: Iterable[Document]) -> list[str]:
    """The actor ids of the Mention tags, in order: the audience a post adds to followers."""
    return [
        tag["href"]
        for tag in tags
        if tag.get("type") == "Mention" and isinstance(tag.get("href"), str)
    ]


def conversation_id(settings: Settings, status_id: int, published: float) -> str:
    """A new thread's id, in the tag: URI form Mastodon gives its `conversation`."""
    day = datetime.fromtimestamp(published, UTC).strftime("%Y-%m-%d")
    host = settings.domain.split(":")[0]  # a tag: URI's authority has no port
    return f"tag:{host},{day}:objectId={status_id}:objectType=Conversation"


def live_question(question: Document, poll: Poll) -> Document:
    """Our Question's stored part (`Extras.question`) with its poll's live counts, and
    `closed` once it has ended, as Mastodon serves its polls."""
    live = dict(question)
    key = "anyOf" if "anyOf" in question else "oneOf"
    options = question.get(key)
    if isinstance(options, list):
        live[key] = [
            {**option, "replies": {"type": "Collection", "totalItems": counted.votes}}
            if isinstance(option, dict)
            else option
            for option, counted in zip(options, poll.options, strict=False)
        ]
    live["votersCount"] = poll.voters_count or 0
    closed = poll.closed_at or poll.expires_at
    if closed is not None and poll.ended(time.time()):
        live["closed"] = iso8601(closed)
    return live


def note(
    settings: Settings, status: Status, extras: Extras = NO_EXTRAS, *, poll: Poll | None = None
) -> Document:
    """A local status as a Note, or a Question for a poll (without @context: it is usually
    embedded in an activity).

    `extras` are the status's stored extras (`stored_extras`); its Mention tags add to the
    audience. `poll` gives a Question its live counts (`live_question`).
    """
    to, cc = audience(settings, status.visibility, mentioned(extras.tag))
    document: Document = {
        "id": status.ap_id,
        "type": status.type,
        "attributedTo": urls.actor(settings),
        "summary": status.summary or None,
        "sensitive": status.sensitive,
        "content": status.content_html,
        "published": iso8601(status.published_at),
        "url": status.url or urls.status_page(settings, status.id),
        "inReplyTo": status.in_reply_to_ap_id,
        "to": to,
        "cc": cc,
        "tag": list(extras.tag),
        "attachment": list(extras.attachment),
    }
    if extras.question is not None:
        question = extras.question if poll is None else live_question(extras.question, poll)
        document.update(question)
    if status.conversation:
        document["conversation"] = status.conversation
    if status.language:
        document["contentMap"] = {status.language: status.content_html}
    if status.edited_at is not None:
        document["updated"] = iso8601(status.edited_at)
    return document


def create(
    settings: Settings, status: Status, extras: Extras = NO_EXTRAS, *, poll: Poll | None = None
) -> Document:
    """The Create that published a local status, with the same audience as its Note."""
    obj = note(settings, status, extras, poll=poll)
    return {
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": urls.actor(settings),
        "published": obj["published"],
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


def update(
    settings: Settings,
    status: Status,
    update_id: str,
    extras: Extras = NO_EXTRAS,
    *,
    poll: Poll | None = None,
) -> Document:
    """Update(Note) after an edit: the whole new Note, carrying `updated` (Mastodon needs it to
    accept the edit as newer than what it has). A poll's new counts go the same way, as an
    Update(Question) without a new `updated`."""
    obj = note(settings, status, extras, poll=poll)
    return {
        "@context": NOTE_CONTEXT,
        "id": update_id,
        "type": "Update",
        "actor": urls.actor(settings),
        "published": obj.get("updated", obj["published"]),
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


def tombstone(ap_id: str) -> Document:
    return {"id": ap_id, "type": "Tombstone"}


def delete(settings: Settings, status: Status, extras: Extras = NO_EXTRAS) -> Document:
    """Delete of a local status, addressed as the status was."""
    to, cc = audience(settings, status.visibility, mentioned(extras.tag))
    return {
        "@context": AS_CONTEXT,
        "id": f"{status.ap_id}#delete",
        "type": "Delete",
        "actor": urls.actor(settings),
        "to": to,
        "cc": cc,
        "object": tombstone(status.ap_id),
    }


def page_url(collection: str, max_id: int | None = None) -> str:
    """A page of a collection; pages are cursors (`max_id`), so inserts never shift them."""
    params: dict[str, str] = {"page": "true"}
    if max_id is not None:
        params["max_id"] = str(max_id)
    return f"{collection}?{urlencode(params)}"


def ordered_collection(collection: str, total: int, *, paged: bool = True) -> Document:
    """A collection's front: its size, and a link to its first page (or, if empty, no pages)."""
    document: Document = {
        "@context": AS_CONTEXT,
        "id": collection,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if paged:
        document["first"] = page_url(collection)
    else:
        document["orderedItems"] = []
    return document


def ordered_collection_page(
    collection: str,
    items: Sequence[Any],
    *,
    max_id: int | None,
    next_max_id: int | None,
    total: int | None = None,
) -> Document:
    """One page: `next` is present only when older items remain."""
    document: Document = {
        "@context": AS_CONTEXT,
        "id": page_url(collection, max_id),
        "type": "OrderedCollectionPage",
        "partOf": collection,
    }
    if total is not None:
        document["totalItems"] = total
    if next_max_id is not None:
        document["next"] = page_url(collection, next_max_id)
    document["orderedItems"] = list(items)
    return document


def activity_id(settings: Settings, kind: str, snowflake: int) -> str:
    """A fresh id for one of our activities that has no object of its own (Follow, Accept…)."""
    return f"{urls.actor(settings)}#{kind.lower()}s/{snowflake}"


def follow(settings: Settings, target: str, follow_id: str) -> Document:
    return {
        "@context": AS_CONTEXT,
        "id": follow_id,
        "type": "Follow",
        "actor": urls.actor(settings),
        "object": target,
    }


def answer_follow(
    settings: Settings, kind: str, answer_id: str, follow_id: str, follower: str
) -> Document:
    """Accept or Reject of a Follow, with the Follow embedded (FEDERATION.md rule 27)."""
    me = urls.actor(settings)
    return {
        "@context": AS_CONTEXT,
        "id": answer_id,
        "type": kind,
        "actor": me,
        "object": {"id": follow_id, "type": "Follow", "actor": follower, "object": me},
    }


def undo(settings: Settings, undo_id: str, original: Document) -> Document:
    """Undo with the whole original embedded: Mastodon dispatches on its type (rule 28)."""
    embedded = {key: value for key, value in original.items() if key != "@context"}
    return {
        "@context": AS_CONTEXT,
        "id": undo_id,
        "type": "Undo",
        "actor": urls.actor(settings),
        "object": embedded,
    }


def like(settings: Settings, like_id: str, object_ap_id: str) -> Document:
    return {
        "@context": AS_CONTEXT,
        "id": like_id,
        "type": "Like",
        "actor": urls.actor(settings),
        "object": object_ap_id,
    }


def announce(
    settings: Settings, announce_id: str, object_ap_id: str, author: str, published: float
) -> Document:
    """A boost: public, copied to the author and our followers (as Mastodon addresses it)."""
    return {
        "@context": AS_CONTEXT,
        "id": announce_id,
        "type": "Announce",
        "actor": urls.actor(settings),
        "published": iso8601(published),
        "to": [PUBLIC],
        "cc": [author, urls.followers(settings)],
        "object": object_ap_id,
    }
