"""`solo export FILE.zip` and `solo import-archive ARCHIVE.zip`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from solo import control
from solo.actions.archive_export import Source, export_archive
from solo.actions.archive_import import Report, Target, import_archive
from solo.actions.archive_zip import ArchiveError
from solo.config import load_settings
from solo.db import Database
from solo.errors import SetupError
from solo.media.storage import open_storage

BAR = 30


def _bar(out: IO[str], done: int, total: int, label: str) -> None:
    filled = BAR if total == 0 else BAR * done // total
    shown = f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} {label}"
    out.write(shown)
    out.flush()


def cmd_export(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    target = Path(args.file)
    if target.is_dir():
        raise SetupError(f"{target} is a folder; name the .zip file to write")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise SetupError(f"the folder {folder} does not exist")

    async def export() -> int:
        db = Database(settings.db_path)
        await db.open(readonly=True)
        storage = open_storage(settings)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".solo-export-")
        written = 0
        try:
            with os.fdopen(descriptor, "wb") as file:
                async for chunk in export_archive(Source(db, settings, storage)):
                    file.write(chunk)
                    written += len(chunk)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
        finally:
            await storage.aclose()
            await db.close()
        return written

    written = asyncio.run(export())
    print(f"Wrote your archive to {target} ({written / 1048576:.1f} MB).")
    return 0


def cmd_import_archive(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    path = Path(args.file)
    if not path.is_file():
        raise SetupError(f"there is no file at {path}")
    out = sys.stderr

    async def progress(report: Report) -> None:
        _bar(out, report.done, report.total, "posts")

    async def run() -> Report:
        db = Database(settings.db_path)
        await db.open()
        storage = open_storage(settings)
        try:
            return await import_archive(
                Target(db, settings, storage), path, progress=progress, now=time.time()
            )
        finally:
            await storage.aclose()
            await db.close()

    try:
        report = asyncio.run(run())
    except ArchiveError as error:
        raise SetupError(f"{error.message} Nothing was imported.") from None
    out.write("\n")
    print(summary(report))
    for original, reason in report.failures:
        print(f"  {original}: {reason}")
    pid = control.running_server(settings)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)  # its timelines are in memory: it rebuilds them
    return 0


def summary(report: Report) -> str:
    return (
        f"Imported {report.imported} of {report.total} posts"
        f" ({report.already} were already here); skipped {report.boosts} boosts;"
        f" {len(report.failures)} problems. None of them was sent to anyone."
    )
