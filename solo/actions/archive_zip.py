"""Reading a Mastodon archive (a zip) without trusting it.

Mastodon's archive (`BackupService`) holds `actor.json`, `outbox.json`, `likes.json`,
`bookmarks.json`, the avatar and header, and the media of the account's posts under
`media_attachments/files/…`, at the paths the outbox's attachment URLs name. Everything is
checked before anything is imported: the entry names (no absolute path, no `..`, no
symlink), the number of entries, the total uncompressed size and each entry's compression
ratio (a zip bomb is refused, not unpacked), and that `outbox.json` is there. The headers'
sizes are then binding: `zipfile` stops reading an entry at its declared size and checks its
CRC, so an entry cannot grow past what was checked here.
"""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Final

from solo.actions import ActionError
from solo.lazy import lazy

if TYPE_CHECKING:
    import zipfile
else:  # at the first archive read: the app needs only this module's limits at start
    zipfile = lazy("zipfile")

MAX_ARCHIVE_BYTES: Final = 4 * 1024**3  # the zip itself, as uploaded
MAX_ENTRIES: Final = 250_000
MAX_UNCOMPRESSED: Final = 16 * 1024**3  # all entries together
MAX_RATIO: Final = 200  # uncompressed ÷ compressed, for entries over RATIO_FLOOR
RATIO_FLOOR: Final = 1024 * 1024
MAX_JSON_BYTES: Final = 1024**3  # outbox.json, read as a stream
MAX_SMALL_JSON: Final = 64 * 1024 * 1024  # actor.json, likes.json, bookmarks.json
OUTBOX: Final = "outbox.json"


class ArchiveError(ActionError):
    """An archive we refuse, with the reason; nothing was imported from it."""

    status = 422


def _checked_name(name: str) -> str:
    """The entry's name if it is a plain relative path inside the archive."""
    if "\x00" in name or "\\" in name:
        raise ArchiveError(
            "The archive has an entry with a strange name: %(name)s.", name=repr(name)
        )
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise ArchiveError("The archive has an entry with an absolute path: %(name)s.", name=name)
    if ".." in path.parts:
        raise ArchiveError("The archive has an entry that points outside it: %(name)s.", name=name)
    return name


class Archive:
    """An open, checked archive. Entries are found by their names inside the archive, below
    the folder that holds `outbox.json` (some people unpack and zip it again in a folder)."""

    def __init__(self, path: Path) -> None:
        try:
            size = path.stat().st_size
        except OSError as error:
            raise ArchiveError(
                "The archive cannot be read: %(strerror)s.", strerror=error.strerror
            ) from None
        if size > MAX_ARCHIVE_BYTES:
            raise ArchiveError(
                "The archive is %(size)s GB; the limit is %(limit)s GB.",
                size=round(size / 1024**3, 1),
                limit=MAX_ARCHIVE_BYTES // 1024**3,
            )
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise ArchiveError(
                "This file is not a zip archive. Download your archive from your old server's"
                " Import and export page and upload the .zip file as it is."
            ) from None
        try:
            self.prefix = self._check()
        except BaseException:
            self.zip.close()
            raise
        self.names = {info.filename for info in self.zip.infolist() if not info.is_dir()}

    def _check(self) -> str:
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(
                "The archive has %(count)s entries; the limit is %(max_entries)s.",
                count=len(infos),
                max_entries=MAX_ENTRIES,
            )
        total = 0
        for info in infos:
            _checked_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(
                    "The archive has a symbolic link: %(filename)s.", filename=info.filename
                )
            if info.flag_bits & 0x1:
                raise ArchiveError(
                    "The archive is encrypted (%(filename)s).", filename=info.filename
                )
            total += info.file_size
            if total > MAX_UNCOMPRESSED:
                raise ArchiveError(
                    "The archive unpacks to more than %(limit)s GB; that is more"
                    " than an account's archive holds.",
                    limit=MAX_UNCOMPRESSED // 1024**3,
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise ArchiveError(
                    "The archive's %(filename)s unpacks to %(size)s MB from "
                    "%(compress_size)s bytes: it looks like a zip bomb.",
                    filename=info.filename,
                    size=info.file_size // 1024**2,
                    compress_size=info.compress_size,
                )
        names = [info.filename for info in infos]
        if OUTBOX in names:
            return ""
        nested = sorted(name for name in names if PurePosixPath(name).name == OUTBOX)
        if nested and len(PurePosixPath(nested[0]).parts) == 2:
            return nested[0][: -len(OUTBOX)]
        raise ArchiveError(
            "The archive has no outbox.json, so it is not a Mastodon archive (or it is incomplete)."
        )

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        full = self.prefix + name
        return self.zip.getinfo(full) if full in self.names else None

    def open_outbox(self) -> IO[bytes]:
        info = self._info(OUTBOX)
        assert info is not None  # checked when opened
        if info.file_size > MAX_JSON_BYTES:
            raise ArchiveError(
                "outbox.json is %(size)s MB; the limit is %(limit)s MB.",
                size=info.file_size // 1024**2,
                limit=MAX_JSON_BYTES // 1024**2,
            )
        return self.zip.open(info)

    def read_small(self, name: str) -> bytes | None:
        """A small JSON file (actor.json…); None when the archive has none."""
        info = self._info(name)
        if info is None:
            return None
        if info.file_size > MAX_SMALL_JSON:
            raise ArchiveError(
                "%(name)s is %(size)s MB, too large to read.",
                name=name,
                size=info.file_size // 1024**2,
            )
        return self._read(info)

    def read_file(self, name: str, limit: int) -> bytes | None:
        """A media file by its path in the archive; None when missing or over `limit`."""
        try:
            cleaned = _checked_name(name.lstrip("/"))
        except ArchiveError:
            return None
        info = self._info(cleaned)
        if info is None or info.file_size > limit:
            return None
        return self._read(info)

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        try:
            with self.zip.open(info) as entry:
                return entry.read()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise ArchiveError(
                "The archive's %(filename)s is damaged: %(error)s.",
                filename=info.filename,
                error=error,
            ) from None
