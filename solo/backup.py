"""Making a backup while the server runs: the database through SQLite's online backup API, the
files of our own posts, avatar and header, and solo.toml, staged in a private folder of the data
directory and packed by `solo.backup_format`.

The keys and secrets (both key pairs, the session secret, the password hash, app tokens) live in
the database, so the backup holds them: it is as secret as the data directory, and is written
readable by its owner alone. The cache of remote media is left out: it refills from its origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from solo import __version__, urls
from solo.backup_format import (
    DB_NAME,
    MEDIA_PREFIX,
    TOML_NAME,
    Entry,
    Manifest,
    sha256_of,
    tar_chunks,
)
from solo.config import Settings
from solo.errors import SetupError
from solo.media.storage import LocalStorage, Storage, open_storage

# progress(stage, done, total): stage is "database", "media" or "writing".
Progress = Callable[[str, int, int], None]
STAGING_PREFIX = ".backup-"
# Pages copied per step of the online backup (4 MB of 4 KB pages): between steps SQLite lets
# the server's writer go on, and `pause` lets its readers have the disk.
STEP_PAGES = 1024


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def copy_database(
    source: Path, target: Path, progress: Progress = _quiet, *, pause: float = 0.0
) -> int:
    """Copy the live database to `target` with the online backup API; its schema version.

    One read transaction spans every step, so each step reads the same WAL snapshot: the
    server's writes neither restart the copy nor make it a mix of two moments."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout = 5000")
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(target, isolation_level=None)
        try:

            def step(status: int, remaining: int, total: int) -> None:
                progress("database", total - remaining, total)
                if pause:
                    time.sleep(pause)

            src.backup(dst, pages=STEP_PAGES, progress=step)
            # The copy is a single file; `solo serve` turns WAL on again when it opens it.
            dst.execute("PRAGMA journal_mode = DELETE")
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
        finally:
            dst.close()
        src.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        raise SetupError(f"cannot copy {source}: {error}") from None
    finally:
        src.close()
    return version


def own_media_keys(db_path: Path, settings: Settings) -> list[str]:
    """The storage keys of our uploads (originals and thumbnails), avatar and header."""
    ours = urls.media(settings, "")
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        keys = [
            key
            for row in conn.execute("SELECT storage_key, thumbnail_key FROM media WHERE local = 1")
            for key in row
            if key
        ]
        account = conn.execute("SELECT avatar_url, header_url FROM account").fetchone()
    for url in account or ():
        if url and url.startswith(ours):
            keys.append(url.removeprefix(ours))
    return sorted(set(keys))


@contextlib.contextmanager
def staging(settings: Settings) -> Iterator[Path]:
    """A private folder in the data directory (same disk: media are hard-linked, not copied),
    removed afterwards; folders left by a backup that was killed are removed first."""
    _remove_abandoned(settings.data_dir)
    work = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=settings.data_dir))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_abandoned(data_dir: Path) -> None:
    for path in data_dir.glob(f"{STAGING_PREFIX}*"):
        pid = path.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def stage(
    settings: Settings, work: Path, progress: Progress = _quiet, *, pause: float = 0.0
) -> Manifest:
    """Gather everything into `work` and describe it: the manifest of the backup."""
    created = time.time()
    db_copy = work / DB_NAME
    version = await asyncio.to_thread(
        copy_database, settings.db_path, db_copy, progress, pause=pause
    )
    names = [DB_NAME, *await asyncio.to_thread(_stage_toml, settings, work)]
    keys = await asyncio.to_thread(own_media_keys, db_copy, settings)
    storage = open_storage(settings)
    try:
        for done, key in enumerate(keys, 1):
            if await _stage_file(storage, key, work / MEDIA_PREFIX / key):
                names.append(MEDIA_PREFIX + key)
            progress("media", done, len(keys))
    finally:
        await storage.aclose()
    entries = await asyncio.to_thread(_describe, work, names)
    return Manifest(__version__, version, created, settings.domain, settings.username, entries)


def _stage_toml(settings: Settings, work: Path) -> list[str]:
    toml = settings.data_dir / TOML_NAME
    if not toml.is_file():
        return []
    shutil.copyfile(toml, work / TOML_NAME)
    return [TOML_NAME]


async def _stage_file(storage: Storage, key: str, target: Path) -> bool:
    """Put our file `key` at `target`; False when the storage no longer has it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(storage, LocalStorage):
        source = storage.root / key
        try:
            os.link(source, target)  # files never change under a key
        except FileNotFoundError:
            return False
        except OSError:
            await asyncio.to_thread(shutil.copyfile, source, target)
        return True
    data = await storage.get(key)
    if data is None:
        return False
    await asyncio.to_thread(target.write_bytes, data)
    return True


def _describe(work: Path, names: list[str]) -> tuple[Entry, ...]:
    return tuple(
        Entry(name, (work / name).stat().st_size, sha256_of(work / name)) for name in names
    )


async def write_backup(
    settings: Settings, target: Path, progress: Progress = _quiet, *, pause: float = 0.0
) -> Manifest:
    """Write a backup to `target`, atomically: under a temporary name beside it, renamed once
    complete and on disk, so a backup that is killed leaves no file that looks complete."""
    target = _checked_target(settings, target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            with staging(settings) as work:
                manifest = await stage(settings, work, progress, pause=pause)
                await asyncio.to_thread(_write_tar, manifest, work, out, progress)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    return manifest


async def stream(settings: Settings, *, pause: float = 0.0) -> tuple[Manifest, Iterator[bytes]]:
    """A backup as chunks for an HTTP answer: staged first (the database copy is the slow
    part), then read from the staging folder chunk by chunk; the folder goes once the chunks
    are all read or the iterator is closed (a folder left by a dropped connection that never
    closes it goes with the next backup)."""
    _remove_abandoned(settings.data_dir)
    work = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=settings.data_dir))
    try:
        manifest = await stage(settings, work, pause=pause)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise

    def chunks() -> Iterator[bytes]:
        try:
            yield from tar_chunks(manifest, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return manifest, chunks()


def _checked_target(settings: Settings, target: Path) -> Path:
    target = target.absolute()
    if not target.parent.is_dir():
        raise SetupError(f"{target.parent} is not a folder; nothing was written")
    if target.is_dir():
        raise SetupError(f"{target} is a folder; name a file to write the backup to")
    if not settings.db_path.is_file():
        raise SetupError(f"no Solo instance at {settings.data_dir}: nothing to back up")
    return target


def _write_tar(manifest: Manifest, work: Path, out: BinaryIO, progress: Progress) -> None:
    total, done = manifest.total_size, 0
    for chunk in tar_chunks(manifest, work):
        out.write(chunk)
        done = min(total, done + len(chunk))
        progress("writing", done, total)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
