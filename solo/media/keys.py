"""Storage keys: made by `new_key`, checked by `check_key` before any backend uses one.

A key never comes from a request; even so, a bad one could not leave the media directory or
reach another bucket path. Re-exported by `solo.media.storage`.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

KEY_RE: Final = re.compile(r"^[a-z0-9][a-z0-9/._-]{0,199}$")


def check_key(key: str) -> str:
    """`key` if it is one of ours ("uploads/ab/<hex>.jpg", "cache/<hex>"); else ValueError."""
    if not KEY_RE.match(key) or ".." in key or any(p in ("", ".") for p in key.split("/")):
        raise ValueError(f"not a media key: {key!r}")
    return key


def new_key(prefix: str, extension: str) -> str:
    """A fresh unguessable key: new_key("uploads", "jpg") → "uploads/3f/3f9a….jpg"."""
    name = secrets.token_hex(16)
    return check_key(f"{prefix}/{name[:2]}/{name}" + (f".{extension}" if extension else ""))
