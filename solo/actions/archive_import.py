"""Importing one's old posts from a Mastodon archive.

Each `Create` in `outbox.json` becomes a post of ours with its original date, text, content
warning, visibility, attachments (processed as uploads are: EXIF stripped) and threading
among the archived posts; it keeps the URL of the original (`imported_from`). Nothing is sent
to anyone: no delivery job is queued. Boosts (`Announce`) are skipped and counted. Replies to
other people's posts are imported as replies whose `inReplyTo` is the URL they answered, not
fetched.

Two passes over the outbox, each streamed (`ijson`), so memory does not grow with the
archive: the first reads every post's id, date and parent, and reserves a row id for each
(`archive_posts`); the second stores the posts. Row ids come from the original dates, so the
posts sort where they belong in every timeline. A rerun, after a crash or on the same archive
again, finds the reservations and the stored rows and stores only what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import ijson  # type: ignore[import-untyped]

from solo import urls
from solo.actions.archive_posts import ArchivedPost, read_post
from solo.actions.archive_zip import Archive, ArchiveError
from solo.config import Settings
from solo.db import Database
from solo.federation import vocab
from solo.media.storage import Storage, new_key
from solo.media.upload import MediaError, process_upload_async
from solo.store import archive as archive_store
from solo.store import media as media_store
from solo.store import statuses as status_store
from solo.store.media import NewMedia
from solo.store.statuses import NewStatus

MAX_ITEMS: Final = 50_000  # activities in outbox.json, boosts included
BATCH: Final = 100  # posts stored per transaction
NOT_JSON: Final = "outbox.json is not valid JSON: {error}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where an import writes: the instance's database, settings and media storage."""

    db: Database
    settings: Settings
    storage: Storage


@dataclass
class Report:
    total: int = 0  # posts in the archive (boosts not counted)
    done: int = 0  # posts looked at so far
    imported: int = 0
    already: int = 0  # stored by an earlier import (or deleted since)
    boosts: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (original id, reason)


Progress = Callable[[Report], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Entry:
    published: float
    parent: str | None


def _items(outbox: IO[bytes]) -> Iterator[Any]:
    return ijson.items(outbox, "orderedItems.item", use_float=True)  # type: ignore[no-any-return]


def _scan(archive: Archive, now: float) -> tuple[dict[str, _Entry], int]:
    """Every post's id, date and parent, and the number of boosts (off the event loop)."""
    entries: dict[str, _Entry] = {}
    boosts = count = 0
    with archive.open_outbox() as outbox:
        if outbox.read(1).lstrip() not in (b"{", b""):
            raise ArchiveError("outbox.json is not an OrderedCollection (a JSON object).")
    with archive.open_outbox() as outbox:
        try:
            for item in _items(outbox):
                count += 1
                if count > MAX_ITEMS:
                    raise ArchiveError(
                        "outbox.json has more than %(max_items)s activities; Solo imports at "
                        "most %(max_items)s.",
                        max_items=MAX_ITEMS,
                    )
                if isinstance(item, dict) and item.get("type") == "Announce":
                    boosts += 1
                    continue
                post = read_post(item, now)
                if isinstance(post, ArchivedPost):
                    entries.setdefault(post.original_id, _Entry(post.published, post.parent))
        except ijson.JSONError as error:
            raise ArchiveError(NOT_JSON.format(error=error)) from None
    return entries, boosts


async def _reserve(target: Target, entries: dict[str, _Entry]) -> dict[str, int]:
    """A row id for every archived post: the one reserved before, else a free one at its
    original date."""
    ids = await archive_store.reserved(target.db, entries)
    fresh = sorted(
        (entry.published, original) for original, entry in entries.items() if original not in ids
    )
    chosen: list[tuple[str, int]] = []
    for start in range(0, len(fresh), 500):
        chunk = fresh[start : start + 500]
        low = int(chunk[0][0] * 1000) << 16
        high = (int(chunk[-1][0] * 1000) << 16) | 0xFFFF
        taken = await archive_store.taken_ids(target.db, low, high)
        for published, original in chunk:
            candidate = int(published * 1000) << 16
            while candidate in taken:
                candidate += 1
            taken.add(candidate)
            chosen.append((original, candidate))
    for start in range(0, len(chosen), 1000):
        async with target.db.transaction() as conn:
            await archive_store.reserve(conn, chosen[start : start + 1000])
    ids.update(chosen)
    return ids


def _conversation(
    settings: Settings, original: str, entries: dict[str, _Entry], ids: dict[str, int]
) -> str:
    """The thread's id, from its topmost archived post (the same on every run)."""
    root = original
    for _ in range(1000):  # a loop of parents in a hostile archive ends here
        parent = entries[root].parent
        if parent is None or parent not in entries:
            break
        root = parent
    return vocab.conversation_id(settings, ids[root], entries[root].published)


async def _media(
    target: Target, archive: Archive, post: ArchivedPost, report: Report
) -> tuple[list[NewMedia], list[vocab.Document]]:
    """The post's attachments, processed and stored as uploads are; one that is missing or
    unreadable is left out and listed."""
    settings = target.settings
    stored: list[NewMedia] = []
    documents: list[vocab.Document] = []
    for attachment in post.attachments:
        data = await asyncio.to_thread(
            archive.read_file, attachment.path, settings.max_upload_bytes
        )
        if data is None:
            report.failures.append(
                (post.original_id, f"attachment {attachment.path} is missing or too large")
            )
            continue
        try:
            processed = await process_upload_async(
                data,
                filename=attachment.path.rsplit("/", 1)[-1],
                declared_type=attachment.media_type,
                max_bytes=settings.max_upload_bytes,
            )
        except MediaError as error:
            report.failures.append((post.original_id, f"{attachment.path}: {error.message}"))
            continue
        key = new_key("uploads", processed.extension)
        await target.storage.put(key, processed.data, processed.media_type)
        thumbnail_key = None
        if processed.thumbnail is not None and processed.thumbnail_type is not None:
            extension = processed.thumbnail_type.split("/")[1].replace("jpeg", "jpg")
            thumbnail_key = new_key("uploads", extension)
            await target.storage.put(thumbnail_key, processed.thumbnail, processed.thumbnail_type)
        item = NewMedia(
            kind=processed.kind,
            media_type=processed.media_type,
            storage_key=key,
            thumbnail_key=thumbnail_key,
            description=attachment.description,
            width=processed.width,
            height=processed.height,
            duration=processed.duration,
            blurhash=processed.blurhash,
            focus_x=attachment.focus[0],
            focus_y=attachment.focus[1],
            size=len(processed.data),
        )
        stored.append(item)
        document: vocab.Document = {
            "type": "Document",
            "mediaType": item.media_type,
            "url": urls.media(settings, key),
            "name": item.description or None,
        }
        if item.blurhash:
            document["blurhash"] = item.blurhash
        if item.width and item.height:
            document["width"], document["height"] = item.width, item.height
        if item.kind == "image":
            document["focalPoint"] = [item.focus_x, item.focus_y]
        documents.append(document)
    return stored, documents


def _next_batch(items: Iterator[Any]) -> list[Any]:
    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == BATCH:
                break
    except ijson.JSONError as error:
        raise ArchiveError(NOT_JSON.format(error=error)) from None
    return batch


async def import_archive(
    target: Target, path: Path, *, progress: Progress | None = None, now: float
) -> Report:
    """Import the posts of the archive at `path`; ArchiveError (nothing changed) when the
    archive is refused before its first post is stored."""
    report = Report()
    archive = await asyncio.to_thread(Archive, path)
    try:
        entries, report.boosts = await asyncio.to_thread(_scan, archive, now)
        report.total = len(entries)
        ids = await _reserve(target, entries)
        if progress is not None:
            await progress(report)
        with archive.open_outbox() as outbox:
            items = _items(outbox)
            seen: set[str] = set()
            while batch := await asyncio.to_thread(_next_batch, items):
                await _store_batch(target, archive, batch, entries, ids, seen, report, now)
                if progress is not None:
                    await progress(report)
    finally:
        archive.close()
    return report


async def _store_batch(
    target: Target,
    archive: Archive,
    batch: list[Any],
    entries: dict[str, _Entry],
    ids: dict[str, int],
    seen: set[str],
    report: Report,
    now: float,
) -> None:
    settings = target.settings
    posts = [post for item in batch if (post := read_post(item, now)) is not None]
    stored = await archive_store.stored_ids(
        target.db, [ids[p.original_id] for p in posts if isinstance(p, ArchivedPost)]
    )
    ready: list[tuple[NewStatus, list[NewMedia]]] = []
    for post in posts:
        if isinstance(post, str):
            report.failures.append(("?", post))
            continue
        if post.original_id in seen:
            continue  # listed twice in one outbox
        seen.add(post.original_id)
        report.done += 1
        status_id = ids[post.original_id]
        if status_id in stored:
            report.already += 1
            continue
        media, documents = await _media(target, archive, post, report)
        parent_id = None if post.parent is None else ids.get(post.parent)
        parent_ap_id = post.parent if parent_id is None else urls.status(settings, parent_id)
        extras = vocab.Extras(
            tag=tuple(vocab.hashtag_tag(settings, name) for name in post.hashtags)
            + tuple(vocab.mention_tag(href, handle) for href, handle in post.mentions),
            attachment=tuple(documents),
        )
        new = NewStatus(
            id=status_id,
            ap_id=urls.status(settings, status_id),
            actor_id=None,
            visibility=post.visibility,
            content_html=post.content_html,
            published_at=post.published,
            url=urls.status_page(settings, status_id),
            in_reply_to_ap_id=parent_ap_id,
            conversation=_conversation(settings, post.original_id, entries, ids),
            summary=post.summary,
            sensitive=post.sensitive or bool(post.summary),
            source_text=post.source_text,
            language=post.language,
            raw=extras.to_json(),
            imported_from=post.url,
        )
        ready.append((new, media))
    async with target.db.transaction() as conn:
        for new, media in ready:
            if await status_store.id_taken(conn, new.id):
                report.failures.append((new.imported_from or "?", "its id is taken"))
                continue
            row_id = await status_store.insert_remote_status(conn, new)
            if row_id is None:
                report.already += 1  # deleted after an earlier import: it stays deleted
                continue
            if media:
                await media_store.insert_remote(conn, row_id, media)
            report.imported += 1
