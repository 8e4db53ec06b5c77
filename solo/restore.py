"""`solo restore`: a backup into an empty data directory, never half-written.

The file is read twice: once to check the manifest and every checksum before anything is
written, then again into a temporary folder beside the data directory (its checksums checked
once more, in case the file changed in between), which is renamed into place at the very end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from solo.backup_format import DB_NAME, Manifest, read_backup
from solo.db import schema_version
from solo.errors import SetupError

# Room kept free on the disk beyond the restored files: SQLite's WAL and the server's logs.
HEADROOM = 64 * 1024 * 1024


def check_empty(data_dir: Path) -> None:
    """SetupError unless `data_dir` is missing or an empty folder."""
    if not data_dir.exists():
        return
    if not data_dir.is_dir():
        raise SetupError(f"{data_dir} is a file, not a data folder; nothing was changed")
    if any(data_dir.iterdir()):
        what = "an instance" if (data_dir / DB_NAME).exists() else "files"
        raise SetupError(
            f"{data_dir} already holds {what}: restore into an empty or new folder"
            " (nothing was changed)"
        )


# progress(stage, done, total), stage "checking" or "restoring", in bytes.
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def verify(backup: Path, progress: Progress = _quiet) -> Manifest:
    """Check a backup from start to end without writing anything; its manifest."""
    with _open(backup) as source:
        manifest, _ = read_backup(
            source, schema_version(), progress=lambda done, total: progress("checking", done, total)
        )
    return manifest


def restore(backup: Path, data_dir: Path, progress: Progress = _quiet) -> Manifest:
    """Restore `backup` as `data_dir`; SetupError (and nothing changed) when it cannot."""
    data_dir = data_dir.absolute()
    check_empty(data_dir)
    manifest = verify(backup, progress)
    parent = data_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(parent).free
    if free < manifest.total_size + HEADROOM:
        raise SetupError(
            f"{parent} has {free // 2**20} MB free and the backup needs"
            f" {(manifest.total_size + HEADROOM) // 2**20} MB: nothing was changed"
        )
    work = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-", dir=parent))
    try:
        with _open(backup) as source:
            read_backup(
                source,
                schema_version(),
                sink=work,
                progress=lambda done, total: progress("restoring", done, total),
            )
        _check_database(work / DB_NAME, manifest)
        work.chmod(0o700)
        check_empty(data_dir)  # again: something may have appeared while we wrote
        if data_dir.exists():
            data_dir.rmdir()
        os.rename(work, data_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    descriptor = os.open(parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return manifest


@contextlib.contextmanager
def _open(backup: Path) -> Iterator[BinaryIO]:
    try:
        source = backup.open("rb")
    except FileNotFoundError:
        raise SetupError(f"{backup}: no such file") from None
    except IsADirectoryError:
        raise SetupError(f"{backup} is a folder, not a backup file") from None
    with source:
        yield source


def _check_database(path: Path, manifest: Manifest) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            keys = conn.execute("SELECT count(*) FROM keys").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise SetupError(f"the database in the backup cannot be read: {error}") from None
    if version != manifest.schema_version:
        raise SetupError("the database in the backup is not the schema its manifest names")
    if keys != 2:
        raise SetupError("the database in the backup has lost its keys")
