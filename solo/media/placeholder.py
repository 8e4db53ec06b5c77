"""Blurhash placeholders: what a sensitive attachment shows until it is opened.

The blurhash (ours, or a peer's) is drawn on the server as a tiny PNG that the page scales up,
so no script or inline style is needed.
"""

from __future__ import annotations

import functools
import importlib
import io
from typing import Final

import blurhash

WIDTH: Final = 32
HEIGHT: Final = 24
MAX_LENGTH: Final = 128


def valid_blurhash(value: object) -> bool:
    """Whether `value` is a well-formed blurhash (its length matches its component counts)."""
    if not isinstance(value, str) or not 6 <= len(value) <= MAX_LENGTH:
        return False
    try:
        columns, rows = blurhash.components(value)
    except (ValueError, KeyError, IndexError):
        return False
    return bool(len(value) == 4 + 2 * columns * rows)


@functools.lru_cache(maxsize=256)
def placeholder_png(value: str) -> bytes:
    """The blurhash as a small PNG; ValueError when it is not one."""
    if not valid_blurhash(value):
        raise ValueError("not a blurhash")
    pixels = blurhash.decode(value, WIDTH, HEIGHT)
    # Pillow is loaded when first needed (see solo.media.upload: not carried by an idle server).
    image = importlib.import_module("PIL.Image").new("RGB", (WIDTH, HEIGHT))
    image.putdata([tuple(int(c) for c in pixel[:3]) for row in pixels for pixel in row])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
