"""Uploads as the rest of Solo sees them: the limits, the result, the error, and the way in.

The decoding itself (`solo.media.process`, with Pillow, blurhash and mutagen: some 6 MB of
memory) is loaded at the first upload rather than at start, so an idle instance on a small
machine does not carry it.
"""

from __future__ import annotations

import asyncio
import importlib
import weakref
from dataclasses import dataclass
from typing import Final, Literal

from solo.errors import RequestError

MAX_PIXELS: Final = 7680 * 4320
MAX_ATTACHMENTS: Final = 4
MAX_DESCRIPTION: Final = 1500  # alt text characters, as Mastodon
BAD_FOCUS: Final = "The focus must be two numbers between -1 and 1, as in 0.5,-0.2."


class MediaError(RequestError):
    """An upload we refuse: 413 when too large (bytes or pixels), 422 when unreadable, of the
    wrong type or empty."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Processed:
    kind: Literal["image", "gifv", "video", "audio"]
    media_type: str  # of `data`
    extension: str
    data: bytes  # what we store and serve
    thumbnail: bytes | None  # images only: fits in 640×640
    thumbnail_type: str | None
    width: int | None
    height: int | None
    duration: float | None  # seconds
    blurhash: str | None  # images only


def _process_upload(
    data: bytes, *, filename: str, declared_type: str | None, max_bytes: int
) -> Processed:
    process = importlib.import_module("solo.media.process")
    processed: Processed = process.process_upload(
        data, filename=filename, declared_type=declared_type, max_bytes=max_bytes
    )
    return processed


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def process_upload_async(
    data: bytes,
    *,
    filename: str = "",
    declared_type: str | None = None,
    max_bytes: int,
    gate: asyncio.Semaphore | None = None,
) -> Processed:
    """`process_upload` in a worker thread, one at a time per event loop (or per `gate`), so
    that two large photos never decode side by side and double the peak memory."""
    if gate is None:
        gate = _gates.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1))
    async with gate:
        work = asyncio.ensure_future(
            asyncio.to_thread(
                _process_upload,
                data,
                filename=filename,
                declared_type=declared_type,
                max_bytes=max_bytes,
            )
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # A thread cannot be stopped: hold the gate until it has finished anyway.
            await asyncio.wait([work])
            raise


def parse_focus(value: str) -> tuple[float, float]:
    """A Mastodon focal point "x,y", each in [-1, 1]; "" is the centre."""
    if not value.strip():
        return 0.0, 0.0
    parts = value.split(",")
    try:
        x, y = (float(part) for part in parts)
    except ValueError:
        raise MediaError(BAD_FOCUS) from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise MediaError(BAD_FOCUS)
    return x, y
