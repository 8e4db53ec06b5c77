"""The URLs of our own objects. Everything we publish is addressed through these functions."""

from __future__ import annotations

from solo.config import Settings

INSTANCE_ACTOR_PATH = "/actor"


def actor(s: Settings) -> str:
    return f"{s.base_url}/users/{s.username}"


def key_id(s: Settings) -> str:
    return f"{actor(s)}#main-key"


def inbox(s: Settings) -> str:
    return f"{actor(s)}/inbox"


def outbox(s: Settings) -> str:
    return f"{actor(s)}/outbox"


def followers(s: Settings) -> str:
    return f"{actor(s)}/followers"


def following(s: Settings) -> str:
    return f"{actor(s)}/following"


def featured(s: Settings) -> str:
    return f"{actor(s)}/collections/featured"


def featured_tags(s: Settings) -> str:
    return f"{actor(s)}/collections/tags"


def shared_inbox(s: Settings) -> str:
    return f"{s.base_url}/inbox"


def profile(s: Settings) -> str:
    return f"{s.base_url}/@{s.username}"


def status(s: Settings, status_id: int) -> str:
    return f"{actor(s)}/statuses/{status_id}"


def status_page(s: Settings, status_id: int) -> str:
    return f"{profile(s)}/{status_id}"


def instance_actor(s: Settings) -> str:
    return f"{s.base_url}{INSTANCE_ACTOR_PATH}"


def instance_key_id(s: Settings) -> str:
    return f"{instance_actor(s)}#main-key"


def handle(s: Settings) -> str:
    return f"{s.username}@{s.domain}"


def media(s: Settings, key: str) -> str:
    """Where one of our stored files (an upload, its thumbnail, an avatar) is served."""
    return f"{s.base_url}/media/{key}"
