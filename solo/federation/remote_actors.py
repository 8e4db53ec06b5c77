"""Remote actor documents: parsed, checked and reduced to what Solo stores."""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import urlsplit

from solo.activitystreams import (
    ACTOR_TYPES,
    as_list,
    href_of,
    id_of,
    text_of,
    types_of,
)
from solo.media import emoji
from solo.store.actors import RemoteActor
from solo.text import sanitize_name, sanitize_remote_html

MAX_FIELDS = 8


class InvalidActor(ValueError):
    """The document is not an actor Solo can talk to; the message says why."""


# What most URLs look like: a lowercase scheme and host, maybe a port, then the path. Such a URL
# needs none of urlsplit's work (unsafe characters, userinfo, IPv6 brackets, case) to yield the
# same answer; anything else takes the full path.
_PLAIN_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?(?=[/?#]|\Z)")


def authority(url: str) -> str | None:
    """host[:port], lowercased, of an http(s) URL; None for anything else."""
    match = _PLAIN_ORIGIN.match(url)
    if match is None or not url.isascii() or not url.isprintable():
        return _authority(url)
    scheme, host, port = match.groups()
    if port is None:
        return host
    number = int(port)
    if number > 65535:
        return None  # as urlsplit: not a port
    return host if number == (443 if scheme == "https" else 80) else f"{host}:{number}"


# The inbox asks this of the same few URLs (keyId, actor, activity id) several times a request;
# the answer depends on the string alone.
@functools.lru_cache(maxsize=4096)
def _authority(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    host = parts.hostname.lower()
    default = 443 if parts.scheme == "https" else 80
    return host if port in (None, default) else f"{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    origin = authority(a)
    return origin is not None and origin == authority(b)


def _http_url(value: Any) -> str | None:
    return value if isinstance(value, str) and authority(value) else None


def _public_key(document: dict[str, Any], actor_id: str) -> tuple[str | None, str | None]:
    for key in as_list(document.get("publicKey")):
        if not isinstance(key, dict):
            continue
        owner = id_of(key.get("owner"))
        key_id = key.get("id")
        pem = key.get("publicKeyPem")
        if (owner in (None, actor_id)) and isinstance(key_id, str) and isinstance(pem, str):
            return key_id, pem
    return None, None


def _fields(document: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for item in as_list(document.get("attachment")):
        if isinstance(item, dict) and item.get("type") == "PropertyValue":
            name = sanitize_name(text_of(item.get("name")))
            value = sanitize_remote_html(text_of(item.get("value")))
            if name:
                found.append({"name": name, "value": value})
        if len(found) == MAX_FIELDS:
            break
    return found


def parse_actor(document: dict[str, Any]) -> RemoteActor:
    """Check an actor document and keep what we use; raises InvalidActor."""
    actor_id = document.get("id")
    if not isinstance(actor_id, str) or (domain := authority(actor_id)) is None:
        raise InvalidActor("the actor has no http(s) id")
    kinds = types_of(document) & ACTOR_TYPES
    if not kinds:
        raise InvalidActor(f"{actor_id} is not an actor (type {document.get('type')!r})")
    inbox = document.get("inbox")
    if not isinstance(inbox, str) or authority(inbox) != domain:
        raise InvalidActor(f"{actor_id} has no inbox on its own host")
    username = document.get("preferredUsername")
    if not isinstance(username, str) or not username or len(username) > 100:
        raise InvalidActor(f"{actor_id} has no preferredUsername")
    endpoints = document.get("endpoints")
    shared = _http_url(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    key_id, pem = _public_key(document, actor_id)
    if key_id is not None and authority(key_id) != domain:
        raise InvalidActor(f"{actor_id} names a key on another host")
    return RemoteActor(
        ap_id=actor_id,
        type=sorted(kinds)[0],
        username=username,
        domain=domain,
        inbox=inbox,
        shared_inbox=shared,
        key_id=key_id,
        public_key_pem=pem,
        display_name=sanitize_name(text_of(document.get("name"))),
        summary_html=sanitize_remote_html(text_of(document.get("summary"))),
        url=_http_url(href_of(document.get("url"))),
        outbox=_http_url(document.get("outbox")),
        followers_url=_http_url(document.get("followers")),
        following_url=_http_url(document.get("following")),
        featured_url=_http_url(document.get("featured")),
        avatar_url=_http_url(href_of(document.get("icon"))),
        header_url=_http_url(href_of(document.get("image"))),
        locked=document.get("manuallyApprovesFollowers") is True,
        discoverable=document.get("discoverable") is True,
        fields=_fields(document),
        emojis_json=emoji.to_json(emoji.parse_emojis(document)),
        raw=json.dumps(document, separators=(",", ":")),
    )
