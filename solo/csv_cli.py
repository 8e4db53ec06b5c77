"""`solo import KIND FILE.csv` and `solo export-csv KIND FILE.csv`.

With a server running on the data directory, `solo import` only stores the checked import (a
second writer is safe in WAL mode) and watches the server run it: the server alone follows,
blocks and rebuilds its in-memory feeds, so nothing it shows goes stale. With no server
running, the command runs the import itself with federation started as `solo serve` starts it
(Follows and Blocks it cannot deliver before it ends wait in the push queue for the next
`solo serve`). Either way a Ctrl-C or a crash loses nothing: the import resumes where it was
at the server's next start.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

from solo import control
from solo.actions import csv_imports
from solo.actions.csv_formats import KINDS, MAX_BYTES, CsvError
from solo.actions.csv_kinds import export as export_csv
from solo.config import Settings
from solo.db import Database
from solo.errors import SetupError
from solo.federation.runtime import federation
from solo.instance import open_instance
from solo.store import csv_imports as store
from solo.store.csv_imports import Import

BAR_WIDTH = 30
WATCH_SECONDS = 0.5


class ProgressBar:
    """One line redrawn in place on a terminal; on anything else a line every 10%."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.shown_tenth = -1

    def __call__(self, job: Import) -> None:
        total = max(job.total, 1)
        done = min(job.settled, total)
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        text = (
            f"[{bar}] {done}/{job.total}  added {job.added}, skipped {job.skipped},"
            f" failed {job.failed}"
        )
        if self.tty:
            self.out.write("\r" + text)
        elif 10 * done // total != self.shown_tenth:
            self.shown_tenth = 10 * done // total
            self.out.write(text + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def _read(path: str) -> bytes:
    try:
        with Path(path).open("rb") as file:
            return file.read(MAX_BYTES + 1)
    except OSError as error:
        raise SetupError(f"cannot read {path}: {error.strerror or error}") from None


def summary(job: Import) -> str:
    text = (
        f"Import of {job.kind} ({job.mode}) {job.state}: {job.added} added, {job.skipped} skipped,"
        f" {job.failed} failed of {job.total} lines"
    )
    if job.mode == "overwrite" and job.state == "done":
        text += f"; {job.removed} not in the file undone"
    return text + "."


async def _store(settings: Settings, kind: str, mode: str, path: str, data: bytes) -> int:
    db = Database(settings.db_path)
    await db.open()
    try:
        return await csv_imports.create(db, kind, mode, Path(path).name, data, settings.domain)
    finally:
        await db.close()


async def _watch(settings: Settings, import_id: int, bar: ProgressBar) -> Import:
    db = Database(settings.db_path)
    await db.open(readonly=True)
    try:
        while True:
            job = await store.get(db, import_id)
            assert job is not None
            bar(job)
            if not job.running:
                return job
            await asyncio.sleep(WATCH_SECONDS)
    finally:
        await db.close()


async def _run_here(
    settings: Settings, kind: str, mode: str, path: str, data: bytes, bar: ProgressBar
) -> Import:
    instance = await open_instance(settings)
    try:
        import_id = await csv_imports.create(
            instance.db, kind, mode, Path(path).name, data, settings.domain
        )
        async with federation(instance) as running:
            await csv_imports.run_pending(running, bar)
        job = await store.get(instance.db, import_id)
        assert job is not None
        return job
    finally:
        await instance.db.close()


def run_import(settings: Settings, kind: str, path: str, *, overwrite: bool) -> int:
    data = _read(path)
    mode = "overwrite" if overwrite else "merge"
    bar = ProgressBar(sys.stderr)
    pid = control.running_server(settings)
    try:
        if pid is not None:
            import_id = asyncio.run(_store(settings, kind, mode, path, data))
            control.look_now(pid)
            print(f"The running server (pid {pid}) imports {path}; its progress:", file=sys.stderr)
            try:
                job = asyncio.run(_watch(settings, import_id, bar))
            except KeyboardInterrupt:
                bar.end()
                print("The import goes on in the server; /settings/import shows it.")
                return 0
        else:
            job = asyncio.run(_run_here(settings, kind, mode, path, data, bar))
    except CsvError as error:
        raise SetupError(f"{error.message} Nothing was imported.") from None
    bar.end()
    print(summary(job))
    if job.failed or job.error:
        print(f"The failed lines and why: {settings.base_url}/settings/import/{job.id}")
    return 0 if job.state == "done" else 1


def run_export(settings: Settings, kind: str, path: str) -> int:
    if kind not in KINDS:
        raise SetupError(f"{kind} is not something Solo exports; choose one of {', '.join(KINDS)}")

    async def read() -> str:
        db = Database(settings.db_path)
        await db.open(readonly=True)  # a command that only looks never migrates
        try:
            return await export_csv(db, kind)
        finally:
            await db.close()

    text = asyncio.run(read())
    if path == "-":
        sys.stdout.write(text)
        return 0
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)  # never a half-written file under the name asked for
    except OSError as error:
        raise SetupError(f"cannot write {path}: {error.strerror or error}") from None
    lines = text.count("\n")
    print(f"Wrote {path} ({lines} lines) at {time.strftime('%Y-%m-%d %H:%M')}.", file=sys.stderr)
    return 0
