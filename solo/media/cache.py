"""The remote media cache: avatars, headers, attachments and emoji of other servers, fetched once
through the guarded fetcher, kept in our storage and served from our origin.

A file is fetched only when a page shows it (through `/proxy/…`, see `solo.media.proxy`), only
as a type `solo.media.serve` serves and whose bytes really are of that type (a file that says
`image/png` but holds HTML is refused), at most `max_upload_bytes`. Requests for the same URL
share one fetch. The files together stay under `media_cache_bytes`: after each new file, the
least recently shown go first (`solo media prune` does the same by hand). Showing a file marks
it used at most once an hour, so that browsing does not write to the database on every image.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from solo.config import Settings
from solo.db import Database
from solo.media.proxy import MediaProxy
from solo.media.serve import GENERIC, SERVABLE, kind_of
from solo.media.storage import Storage, new_key
from solo.net.fetch import BadContentType, Fetcher
from solo.store import media as media_store
from solo.store import media_cache as cache_store
from solo.store.media_cache import Entry

log = logging.getLogger(__name__)

TOUCH_SECONDS: Final = 3600
ACCEPT: Final = "image/*, video/*, audio/*;q=0.9"
# What a remote server may answer: a type we serve, or a generic one judged by its bytes.
FETCHED_TYPES: Final = SERVABLE | GENERIC
EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "audio/mp4": "m4a",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "video/ogg": "ogv",
}


def _kinds(data: bytes) -> frozenset[str]:
    """The media types these bytes can be, by their magic numbers."""
    if data.startswith(b"\xff\xd8\xff"):
        return frozenset({"image/jpeg"})
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return frozenset({"image/png"})
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return frozenset({"image/gif"})
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return frozenset({"image/webp"})
    if data[4:8] == b"ftyp":
        return frozenset({"video/mp4", "audio/mp4"})
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return frozenset({"video/webm"})
    if data.startswith(b"OggS"):
        return frozenset({"audio/ogg", "video/ogg"})
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return frozenset({"audio/mpeg"})
    return frozenset()


# When the magic number fits two types, a file of unknown type is taken as the one that plays
# both: an MP4 video player plays MP4 audio, and an Ogg audio player the sound of an Ogg video.
_SNIFFED: Final = {"video/mp4", "audio/ogg"}


def verified_type(data: bytes, declared: str) -> str | None:
    """`declared` when the bytes are of that type; an image's real type when it was served as
    another image type (PNGs named `.jpg` are common); the type of the bytes when it was served
    as a generic type (`application/octet-stream`); None when the bytes are something else."""
    kinds = _kinds(data)
    if declared in kinds:
        return declared
    if declared in GENERIC and kinds:
        return next(iter(kinds)) if len(kinds) == 1 else min(kinds & _SNIFFED)
    if declared.startswith("image/") and len(kinds) == 1:
        (actual,) = kinds
        if actual.startswith("image/"):
            return actual
    return None


async def prune(db: Database, storage: Storage, budget: int) -> tuple[int, int]:
    """Remove the least recently used cached files until the rest fit in `budget` bytes; how
    many files went and how many bytes they freed (also `solo media prune`, without a server).
    Rows go first: a file whose row is gone is never served, a row whose file is gone is
    fetched again."""
    excess = await cache_store.total_size(db) - max(budget, 0)
    if excess <= 0:
        return 0, 0
    removed = await cache_store.remove_least_recent(db, excess)
    for key, _ in removed:
        await storage.delete(key)
    freed = sum(size for _, size in removed)
    log.info("media cache: removed %d files, %d bytes", len(removed), freed)
    return len(removed), freed


class MediaCache:
    """Built by the lifespan; owns the storage it is given and closes it in `aclose`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: Storage,
        fetcher: Fetcher,
        proxy: MediaProxy,
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.fetcher = fetcher
        self.proxy = proxy
        self._fetching: dict[str, asyncio.Task[tuple[bytes, str]]] = {}

    def proxy_url(self, url: str | None) -> str | None:
        """Our `/proxy/…` path for a remote http(s) URL; None for anything else."""
        return self.proxy.url(url)

    async def fetch(self, url: str) -> tuple[bytes, str]:
        """The file at `url` and its media type, from the cache or fetched now; raises the
        fetcher's FetchError when the remote fails or sends something we do not serve."""
        entry = await cache_store.get(self.db, url)
        if entry is not None:
            data = await self.storage.get(entry.storage_key)
            if data is not None:
                now = time.time()
                if now - entry.last_used_at >= TOUCH_SECONDS:
                    await cache_store.touch(self.db, url, now)
                return data, entry.media_type
            await cache_store.forget(self.db, url)  # the file went missing: fetch it again
        task = self._fetching.get(url)
        if task is None:
            task = asyncio.create_task(self._download(url), name="solo-media-cache")
            self._fetching[url] = task
            task.add_done_callback(self._finished)
        # Shielded: a reader who goes away does not cancel the fetch the others wait for.
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[tuple[bytes, str]]) -> None:
        for url, running in list(self._fetching.items()):
            if running is task:
                del self._fetching[url]
        if not task.cancelled():
            task.exception()  # retrieved, even when every reader went away before the end

    async def _download(self, url: str) -> tuple[bytes, str]:
        data, declared = await self.fetcher.get_media(
            url, max_bytes=self.settings.max_upload_bytes, accept=ACCEPT, types=FETCHED_TYPES
        )
        media_type = verified_type(data, declared)
        if media_type is None:
            raise BadContentType(f"{url} was served as {declared}, but it is not one", url)
        key = new_key("cache", EXTENSIONS[media_type])
        await self.storage.put(key, data, media_type)
        now = time.time()
        replaced = await cache_store.put(self.db, Entry(url, key, media_type, len(data), now, now))
        # An attachment whose type its sender did not say is now known by its bytes, and the
        # pages and apps show it as what it is rather than as a link.
        await media_store.learn_type(self.db, url, media_type, kind_of(media_type))
        if replaced is not None:
            await self.storage.delete(replaced)
        if await cache_store.total_size(self.db) > self.settings.media_cache_bytes:
            await self.prune()
        return data, media_type

    async def usage(self) -> int:
        """The bytes the cached files take."""
        return await cache_store.total_size(self.db)

    async def prune(self, budget: int | None = None) -> tuple[int, int]:
        """Remove the least recently used files until the rest fit in `budget` (by default
        `media_cache_bytes`); how many files went and how many bytes they freed."""
        limit = self.settings.media_cache_bytes if budget is None else budget
        return await prune(self.db, self.storage, limit)

    async def aclose(self) -> None:
        """Stop the fetches under way and close the storage."""
        tasks = list(self._fetching.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.storage.aclose()
