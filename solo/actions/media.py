"""Uploads: a file checked and processed off the event loop, stored, and kept as an attachment
waiting for its post.

Nothing is half-stored: the files go to storage first and the row is written only once both
are there; if anything fails after that, the files are removed again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from solo import urls
from solo.actions import ActionError
from solo.federation import vocab
from solo.federation.context import Federation
from solo.media.storage import new_key
from solo.media.upload import (
    MAX_ATTACHMENTS,
    MAX_DESCRIPTION,
    MediaError,
    Processed,
    parse_focus,
    process_upload_async,
)
from solo.store import media as media_store
from solo.store.media import Media, NewMedia

# An upload that no post took is removed after this long.
UNATTACHED_LIFETIME: Final = 24 * 3600


class MediaRefused(ActionError):
    """An upload that cannot be used; the status is 413 (too large) or 422 (not readable)."""

    def __init__(self, message: str, status: int, **values: object) -> None:
        super().__init__(message, **values)
        self.status = status


def checked_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ActionError(
            "Image descriptions can be at most %(max_description)s characters; this"
            " one has %(count)s.",
            max_description=MAX_DESCRIPTION,
            count=len(description),
        )
    return description


async def process(federation: Federation, data: bytes, filename: str, declared: str) -> Processed:
    try:
        return await process_upload_async(
            data,
            filename=filename,
            declared_type=declared or None,
            max_bytes=federation.settings.max_upload_bytes,
        )
    except MediaError as error:
        if not filename:
            raise MediaRefused(error.message, error.status) from None
        raise MediaRefused(
            "%(filename)s: %(reason)s", error.status, filename=filename, reason=error.message
        ) from None


async def store_files(federation: Federation, processed: Processed) -> tuple[str, str | None]:
    """Put the file and its thumbnail in storage; their keys."""
    storage = federation.storage
    key = new_key("uploads", processed.extension)
    await storage.put(key, processed.data, processed.media_type)
    thumbnail_key = None
    if processed.thumbnail is not None and processed.thumbnail_type is not None:
        extension = processed.thumbnail_type.split("/")[1].replace("jpeg", "jpg")
        thumbnail_key = new_key("uploads", extension)
        try:
            await storage.put(thumbnail_key, processed.thumbnail, processed.thumbnail_type)
        except BaseException:
            await storage.delete(key)
            raise
    return key, thumbnail_key


async def upload(
    federation: Federation,
    data: bytes,
    *,
    filename: str = "",
    declared_type: str = "",
    description: str = "",
    focus: str = "",
) -> Media:
    """Check, process and store an uploaded file; the attachment, not yet on any post."""
    description = checked_description(description)
    try:
        focus_point = parse_focus(focus)
    except MediaError as error:
        raise MediaRefused(error.message, error.status) from None
    processed = await process(federation, data, filename, declared_type)
    key, thumbnail_key = await store_files(federation, processed)
    item = NewMedia(
        kind=processed.kind,
        media_type=processed.media_type,
        storage_key=key,
        thumbnail_key=thumbnail_key,
        description=description,
        width=processed.width,
        height=processed.height,
        duration=processed.duration,
        blurhash=processed.blurhash,
        focus_x=focus_point[0],
        focus_y=focus_point[1],
        size=len(processed.data),
    )
    try:
        return await media_store.insert_upload(federation.db, item)
    except BaseException:
        for stored in (key, thumbnail_key):
            if stored is not None:
                await federation.storage.delete(stored)
        raise


async def describe(
    federation: Federation, media_id: int, description: str, focus: str | None = None
) -> Media:
    """Change the alt text (and focal point) of one of our uploads."""
    found = await media_store.get_media(federation.db, media_id)
    if found is None or not found.local:
        raise ActionError("That attachment does not exist.")
    point = None
    if focus is not None:
        try:
            point = parse_focus(focus)
        except MediaError as error:
            raise MediaRefused(error.message, error.status) from None
    await media_store.describe(federation.db, media_id, checked_description(description), point)
    changed = await media_store.get_media(federation.db, media_id)
    assert changed is not None
    return changed


async def attachable(federation: Federation, media_ids: Sequence[int]) -> list[Media]:
    """Our uploads that a new post may take, in the order given; else ActionError."""
    if len(media_ids) > MAX_ATTACHMENTS:
        raise ActionError(
            "A post can have at most %(max_attachments)s attachments.",
            max_attachments=MAX_ATTACHMENTS,
        )
    if len(set(media_ids)) != len(media_ids):
        raise ActionError("The same attachment is there twice.")
    found = await media_store.get_many(federation.db, media_ids)
    items = []
    for media_id in media_ids:
        item = found.get(media_id)
        if item is None or not item.local:
            raise ActionError("One of the attachments no longer exists; upload it again.")
        if item.status_id is not None:
            raise ActionError("One of the attachments already belongs to another post.")
        items.append(item)
    return items


def document(federation: Federation, item: Media) -> vocab.Document:
    """An attachment of ours as peers read it (Mastodon's shape: a Document with its size,
    blurhash and focal point)."""
    assert item.storage_key is not None
    settings = federation.settings
    found: vocab.Document = {
        "type": "Document",
        "mediaType": item.media_type,
        "url": urls.media(settings, item.storage_key),
        "name": item.description or None,
    }
    if item.blurhash:
        found["blurhash"] = item.blurhash
    if item.width and item.height:
        found["width"], found["height"] = item.width, item.height
    if item.kind == "image":
        found["focalPoint"] = [item.focus_x, item.focus_y]
    return found


async def remove_files(federation: Federation, items: Sequence[Media]) -> None:
    """Delete the stored files of uploads whose rows are gone."""
    for key in media_store.keys_of(items):
        await federation.storage.delete(key)


async def prune_unattached(federation: Federation) -> int:
    """Remove uploads no post took within a day; how many."""
    stale = await media_store.stale_uploads(federation.db, time.time() - UNATTACHED_LIFETIME)
    await media_store.delete_rows(federation.db, [item.id for item in stale])
    await remove_files(federation, stale)
    return len(stale)
