"""The account as a Mastodon archive: a zip in the layout of Mastodon's `BackupService`.

`actor.json` (with `outbox`, `likes`, `bookmarks`, `icon` and `image` pointing inside the
archive), `outbox.json` (an OrderedCollection of every post as its Create, boosts as
Announce, all visibilities, oldest first), `likes.json` and `bookmarks.json`
(OrderedCollections of post URLs), `avatar.EXT` and `header.EXT`, and each attachment of our
posts at `media_attachments/files/KEY`, the path its URL in the outbox names.

The zip is produced as a stream of chunks (`zipfile` writing into a sink that cannot seek,
so each entry carries a data descriptor): the database is read a page at a time and one
media file is held at a time, so memory does not grow with the account.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from solo import urls
from solo.config import Settings
from solo.db import Database
from solo.federation import vocab
from solo.media.storage import Storage
from solo.store import account as account_store
from solo.store import archive as archive_store
from solo.store import statuses as status_store

PAGE: Final = 200
MEDIA_FOLDER: Final = "media_attachments/files/"
CHUNK: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    """What an export reads: the instance's database, settings and media storage."""

    db: Database
    settings: Settings
    storage: Storage


class _Sink:
    """A write-only file for `zipfile`: it keeps what was written until `take` hands it on."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def held(self) -> int:
        return len(self._chunks)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _key_of(settings: Settings, url: str | None) -> str | None:
    """The storage key of one of our files from its URL."""
    prefix = urls.media(settings, "")
    return url[len(prefix) :] if url and url.startswith(prefix) else None


def _archived_url(settings: Settings, url: Any) -> Any:
    key = _key_of(settings, url) if isinstance(url, str) else None
    return url if key is None else MEDIA_FOLDER + key


def _extension(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else ""


def _dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def _items(source: Source) -> AsyncIterator[bytes]:
    """The outbox's items, each as JSON, oldest first."""
    settings = source.settings
    after = 0
    while page := await status_store.own_statuses_after(source.db, after, PAGE):
        after = page[-1][0].id
        for status, reblog_ap_id, reblog_author in page:
            if status.reblog_of_id is not None:
                if reblog_ap_id is None:
                    continue
                item = vocab.announce(
                    settings,
                    status.ap_id,
                    reblog_ap_id,
                    reblog_author or urls.actor(settings),
                    status.published_at,
                )
                item.pop("@context", None)
            else:
                extras = vocab.stored_extras(await status_store.get_raw(source.db, status.id))
                item = vocab.create(settings, status, extras)
                for attachment in item["object"]["attachment"]:
                    attachment["url"] = _archived_url(settings, attachment.get("url"))
            yield _dumps(item)


async def export_archive(source: Source) -> AsyncIterator[bytes]:
    """The archive, as chunks of the zip file."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", allowZip64=True)
    settings = source.settings

    def small(name: str, data: bytes, *, compress: bool = True) -> None:
        kind = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        archive.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data, kind)

    account = await account_store.get_account(source.db)
    keys = await account_store.get_keypair(source.db, "user")
    assert account is not None and keys is not None
    actor = vocab.person(settings, account, keys.public_pem)
    actor.update(outbox="outbox.json", likes="likes.json", bookmarks="bookmarks.json")
    for field, name, url in (
        ("icon", "avatar", account.avatar_url),
        ("image", "header", account.header_url),
    ):
        key = _key_of(settings, url)
        data = None if key is None else await source.storage.get(key)
        if key is None or data is None:
            actor.pop(field, None)
            continue
        actor[field]["url"] = name + _extension(key)
        small(name + _extension(key), data, compress=False)
    small("actor.json", _dumps(actor))
    yield sink.take()

    total = await status_store.count_local_statuses(source.db)
    head = _dumps(vocab.ordered_collection("outbox.json", total, paged=False))
    with archive.open(_info("outbox.json"), "w", force_zip64=True) as outbox:
        outbox.write(head[: -len(b"[]}")] + b"[")
        first = True
        async for item in _items(source):
            outbox.write(item if first else b"," + item)
            first = False
            if sink.held > 64:
                yield sink.take()
        outbox.write(b"]}")
    yield sink.take()

    for kind, name in (("like", "likes.json"), ("bookmark", "bookmarks.json")):
        with archive.open(_info(name), "w", force_zip64=True) as collection:
            count = await archive_store.count_our_interactions(source.db, kind)
            front = vocab.ordered_collection(name, count, paged=False)
            collection.write(_dumps(front)[: -len(b"[]}")] + b"[")
            after, first = 0, True
            while page := await archive_store.our_interactions_after(source.db, kind, after, 1000):
                after = page[-1][0]
                for _, ap_id in page:
                    collection.write((b"" if first else b",") + _dumps(ap_id))
                    first = False
            collection.write(b"]}")
        yield sink.take()

    after = 0
    while media := await archive_store.own_media_after(source.db, after, PAGE):
        after = media[-1][0]
        for _, key, _media_type in media:
            data = await source.storage.get(key)
            if data is None:
                continue  # a file lost from storage: the archive goes on without it
            info = _info(MEDIA_FOLDER + key)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as entry:
                for start in range(0, len(data), CHUNK):
                    entry.write(data[start : start + CHUNK])
                    yield sink.take()
            del data
            yield sink.take()
    archive.close()
    yield sink.take()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
