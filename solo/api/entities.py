"""Mastodon's entities as JSON-ready dicts, every field present (null or [] when empty):
strict clients (Tusky, Ice Cubes, Ivory) refuse an entity with a field left out.

Account ids are strings. A remote account's id is its `actors` row id. The local account is
not in that table, so it needs an id no row can take: `local_account_id` derives one from the
account's creation time, Mastodon-style (`unix_ms << 16`), stable for the life of the instance
and far above any row id SQLite hands out. `is_local_account_id` recognises it in a URL.

    local_account(settings, account, counts, source=False)   # the Account of our user
    remote_account(settings, actor, proxy, statuses=0)        # the Account of a remote actor
    application(app, client_secret=None)                      # the Application entity
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from solo import urls
from solo.config import Settings
from solo.media.emoji import from_json as emojis_from_json
from solo.store.account import Account, ProfileField
from solo.store.actors import RemoteActor, published_at
from solo.store.counts import AccountCounts
from solo.store.oauth import OAuthApp

MISSING_AVATAR: Final = "/static/avatar-missing.png"
MISSING_HEADER: Final = "/static/header-missing.png"
BOT_TYPES: Final = frozenset({"Service", "Application"})

# `MediaCache.proxy_url`: our /proxy/ path of a remote file (None when it cannot be proxied).
Proxy = Callable[[str | None], str | None]


def iso(timestamp: float) -> str:
    """Mastodon's timestamps: `2024-05-01T12:00:00.000Z`."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def day(timestamp: float | None) -> str | None:
    """`last_status_at` is a date: `2024-05-01`."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def absolute(settings: Settings, url: str | None, missing: str) -> str:
    """An image URL clients can load; our default picture when there is none."""
    if not url:
        url = missing
    if url.startswith("/") and not url.startswith("//"):
        return settings.base_url + url
    return url


def local_account_id(account: Account) -> str:
    return str(int(account.created_at * 1000) << 16)


def is_local_account_id(account: Account, raw: str) -> bool:
    return raw == local_account_id(account)


def _field_html(field: ProfileField) -> str:
    text = html.escape(field.value)
    link = field.link
    if link is None:
        return text
    return (
        f'<a href="{html.escape(link)}" target="_blank" rel="nofollow noopener noreferrer me"'
        f' translate="no">{text}</a>'
    )


def _local_fields(account: Account) -> list[dict[str, Any]]:
    return [
        {
            "name": field.name,
            "value": _field_html(field),
            "verified_at": None if field.verified_at is None else iso(field.verified_at),
        }
        for field in account.fields
    ]


def local_account(
    settings: Settings, account: Account, counts: AccountCounts, *, source: bool = False
) -> dict[str, Any]:
    """Our user as an Account; with `source` (verify_credentials, update_credentials) the
    CredentialAccount: the bio as typed, the fields unformatted, the default post settings."""
    avatar = absolute(settings, account.avatar_url, MISSING_AVATAR)
    header = absolute(settings, account.header_url, MISSING_HEADER)
    entity: dict[str, Any] = {
        "id": local_account_id(account),
        "username": account.username,
        "acct": account.username,
        "display_name": account.display_name,
        "locked": account.locked,
        "bot": False,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
        "group": False,
        "created_at": iso(account.created_at),
        "note": account.summary_html,
        "url": urls.profile(settings),
        "uri": urls.actor(settings),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": counts.followers,
        "following_count": counts.following,
        "statuses_count": counts.statuses,
        "last_status_at": day(counts.last_status_at),
        "hide_collections": False,
        "noindex": not account.discoverable,
        "emojis": [],
        "roles": [],
        "fields": _local_fields(account),
    }
    if source:
        entity["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": account.summary_source,
            "fields": [
                {
                    "name": field.name,
                    "value": field.value,
                    "verified_at": None if field.verified_at is None else iso(field.verified_at),
                }
                for field in account.fields
            ],
            "follow_requests_count": counts.follow_requests,
            "hide_collections": False,
            "discoverable": account.discoverable,
            "indexable": account.discoverable,
        }
    return entity


def _midnight(timestamp: float) -> float:
    return timestamp - timestamp % 86400  # UTC days are 86,400 s in unix time


def emoji_entities(emojis_json: str | None) -> list[dict[str, Any]]:
    """The CustomEmoji entities of an `emojis_json` column."""
    return [
        {
            "shortcode": emoji.shortcode,
            "url": emoji.url,
            "static_url": emoji.url,
            "visible_in_picker": False,
            "category": None,
        }
        for emoji in emojis_from_json(emojis_json)
    ]


def remote_account(
    settings: Settings,
    actor: RemoteActor,
    proxy: Proxy,
    *,
    statuses: int = 0,
    last_status_at: float | None = None,
) -> dict[str, Any]:
    """A remote actor as an Account. Its pictures are served through our media proxy
    (`proxy` is `federation.media.proxy_url`), as absolute URLs; `statuses` counts the posts
    of theirs we have (`solo.store.counts.actor_post_counts`). Follower counts are 0: actor
    documents do not carry them."""
    assert actor.id is not None, "only stored actors have an account id"
    avatar = absolute(settings, proxy(actor.avatar_url), MISSING_AVATAR)
    header = absolute(settings, proxy(actor.header_url), MISSING_HEADER)
    # Mastodon: the document's `published`, else when the account was first seen here; either
    # truncated to the day. Never the epoch: apps would show "joined 1970".
    published = published_at(actor.raw) or actor.first_seen_at or time.time()
    return {
        "id": str(actor.id),
        "username": actor.username,
        "acct": actor.handle,
        "display_name": actor.display_name,
        "locked": actor.locked,
        "bot": actor.type in BOT_TYPES,
        "discoverable": actor.discoverable,
        "indexable": False,
        "group": actor.type == "Group",
        "created_at": iso(_midnight(published)),
        "note": actor.summary_html,
        "url": actor.url or actor.ap_id,
        "uri": actor.ap_id,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": actor.followers_count or 0,
        "following_count": actor.following_count or 0,
        "statuses_count": statuses if actor.statuses_count is None else actor.statuses_count,
        "last_status_at": day(last_status_at),
        "hide_collections": None,
        "noindex": False,
        "emojis": emoji_entities(actor.emojis_json),
        "roles": [],
        "fields": [
            {
                "name": str(field.get("name", "")),
                "value": str(field.get("value", "")),
                "verified_at": None,
            }
            for field in actor.fields
        ],
    }


def application(
    app: OAuthApp, *, client_secret: str | None = None, vapid_key: str = ""
) -> dict[str, Any]:
    """The Application entity; the client id and secret only when registering (the secret is
    not stored, so it can be shown only then). `vapid_key`: the Web Push key, which Mastodon
    gave here before instance v2 had it."""
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": list(app.scopes),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": vapid_key,
    }
    if client_secret is not None:
        entity["client_id"] = app.client_id
        entity["client_secret"] = client_secret
        entity["client_secret_expires_at"] = 0
    return entity
