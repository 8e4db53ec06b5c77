"""OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, `profile` and the
granular `read:statuses`, `write:media`…

A token's scopes grant a needed scope when they name it, or its top level (`read` grants
`read:statuses`), or `follow`, which stands for the follow, block and mute scopes of both kinds.
`profile` grants only the account's own profile (verify_credentials).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

TOP_LEVEL: Final = ("read", "write", "follow", "push", "profile")
READ: Final = (
    "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
    "notifications", "search", "statuses",
)  # fmt: skip
WRITE: Final = (
    "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
    "lists", "media", "mutes", "notifications", "reports", "statuses",
)  # fmt: skip
GRANULAR: Final = tuple(f"read:{name}" for name in READ) + tuple(f"write:{name}" for name in WRITE)
ALL: Final = frozenset(TOP_LEVEL + GRANULAR)
# Mastodon's legacy `follow` scope, spelled out.
FOLLOW: Final = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
DEFAULT: Final = ("read",)


class ScopeError(ValueError):
    """A scope name Mastodon does not define; the message names it."""


def parse(text: str | Iterable[str] | None, default: tuple[str, ...] = DEFAULT) -> tuple[str, ...]:
    """Scopes as sent (space- or plus-separated text, or a list), in order, without repeats;
    `default` when none are given. Raises ScopeError for an unknown one."""
    if text is None:
        items: list[str] = []
    elif isinstance(text, str):
        items = text.replace("+", " ").split()
    else:
        items = [part for item in text for part in str(item).replace("+", " ").split()]
    if not items:
        return default
    unknown = [item for item in items if item not in ALL]
    if unknown:
        raise ScopeError(f"{unknown[0][:64]!r} is not a scope")
    return tuple(dict.fromkeys(items))


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """Every scope that `scopes` grant, the granular ones spelled out."""
    granted = set(scopes)
    if "read" in granted:
        granted.update(f"read:{name}" for name in READ)
    if "write" in granted:
        granted.update(f"write:{name}" for name in WRITE)
    if "follow" in granted:
        granted.update(FOLLOW)
    return frozenset(granted)


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Whether a token holding `scopes` may do what needs `needed`."""
    return needed in expand(scopes)


def within(requested: Iterable[str], registered: Iterable[str]) -> bool:
    """Whether an app registered for `registered` may ask for every one of `requested`."""
    allowed = expand(registered)
    return all(scope in allowed for scope in requested)


def text(scopes: Iterable[str]) -> str:
    return " ".join(scopes)
