"""Validators for what many peers fetch at once: strong ETags and `If-None-Match` → 304.

When a big account boosts one of our posts, a thousand servers fetch the post, our actor and our
avatar within seconds (issue 15, "the stampede"). A peer or a shared cache that already holds
the document revalidates it with `If-None-Match` and gets an empty 304 instead of the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

# Mastodon keeps public posts and actors in shared caches for three minutes (`expires_in
# 3.minutes, public: true`): long enough to absorb a stampede, short enough for an edit.
PUBLIC_DOCUMENT: Final = "public, max-age=180"


def strong_etag(data: bytes | str) -> str:
    """A strong validator for exactly these bytes (or for what a never-reused key names)."""
    raw = data.encode() if isinstance(data, str) else data
    return f'"{hashlib.sha256(raw).hexdigest()[:32]}"'


def matches(headers: Mapping[str, str], etag: str) -> bool:
    """Whether the request's `If-None-Match` names `etag` (or `*`), compared weakly as RFC 9110
    §13.1.2 asks for this header: a `W/` prefix does not stop a match."""
    header = headers.get("if-none-match")
    if not header:
        return False
    # Bounded: a header of thousands of tags is not worth reading through.
    for candidate in header[:4096].split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
