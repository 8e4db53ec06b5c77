"""The commands that move the whole instance: `solo backup`, `solo restore` and
`solo delete-account`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from solo import control, urls
from solo.actions import farewell, retention
from solo.config import TOML_NAME, Settings, load_settings
from solo.db import Database
from solo.errors import SetupError
from solo.federation.runtime import federation
from solo.instance import open_instance
from solo.lazy import lazy
from solo.media.storage import open_storage
from solo.store import retention as retention_store

if TYPE_CHECKING:
    from solo import backup, restore
else:  # for their own commands only, not for `solo serve` (see solo.lazy)
    backup = lazy("solo.backup")
    restore = lazy("solo.restore")

COMMANDS = ("backup", "restore", "delete-account", "prune")
MB = 1024 * 1024
DEFAULT_WAIT = 600.0
LABELS = {
    "database": "Database",
    "media": "Media",
    "writing": "Writing",
    "checking": "Checking",
    "restoring": "Restoring",
    "pruning": "Pruning",
}


class Bar:
    """A progress bar on standard error when it is a terminal; a line per stage otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.live = self.stream.isatty()
        self.stage = ""
        self.shown = -1.0
        self.last_total = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.end()
            self.stage = stage
        self.last_total = total
        fraction = done / total if total else 1.0
        now = time.monotonic()
        if self.live and (now - self.shown > 0.1 or done >= total):
            self.shown = now
            filled = int(fraction * 30)
            self.stream.write(
                f"\r{LABELS.get(stage, stage):9} [{'#' * filled}{'.' * (30 - filled)}]"
                f" {fraction * 100:5.1f}%"
            )
            self.stream.flush()

    def abort(self) -> None:
        """Leave the bar's line, so that the error that stopped it starts a line of its own."""
        if self.live and self.stage:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = ""

    def end(self) -> None:
        if not self.stage:
            return
        label = LABELS.get(self.stage, self.stage)
        if self.live:
            self.stream.write("\n")
        else:
            self.stream.write(f"{label}: done\n")
        self.stream.flush()
        self.stage = ""


def add_parsers(commands: Any) -> None:
    make = commands.add_parser(
        "backup", help="write a backup (database, keys, your media) while the server runs"
    )
    make.add_argument("file", type=Path, help="the backup file to write, e.g. solo-backup.tar")
    make.add_argument(
        "--pause",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="rest between steps of the database copy, leaving the disk to the server",
    )
    back = commands.add_parser("restore", help="restore a backup into an empty data directory")
    back.add_argument("file", type=Path, help="a file written by `solo backup`")
    back.add_argument("--check", action="store_true", help="only check the file, writing nothing")
    delete = commands.add_parser(
        "delete-account",
        help="tell every known server the account is gone, then delete all its data",
    )
    delete.add_argument(
        "--yes",
        action="store_true",
        help="for scripts: ask nothing (the handle must still be given with --handle)",
    )
    prune = commands.add_parser(
        "prune",
        help="remove remote posts nobody here touched, older than retention_days, and their files",
    )
    prune.add_argument(
        "--days",
        type=int,
        metavar="N",
        help="older than N days (default: retention_days, 90 unless set)",
    )
    delete.add_argument("--handle", help="with --yes: the account's handle, user@domain")
    delete.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the deliveries (default {DEFAULT_WAIT:.0f})",
    )


def cmd_backup(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    if args.pause < 0 or args.pause > 10:
        raise SetupError("--pause takes 0 to 10 seconds")
    bar = Bar()
    started = time.monotonic()
    try:
        manifest = asyncio.run(backup.write_backup(settings, args.file, bar, pause=args.pause))
    except BaseException:
        bar.abort()
        raise
    bar.end()
    media = sum(1 for entry in manifest.files if entry.name.startswith("media/"))
    size = args.file.stat().st_size
    print(
        f"Backed up @{urls.handle(settings)} to {args.file} ({size / MB:.1f} MB, {media} media"
        f" files, schema {manifest.schema_version}) in {time.monotonic() - started:.1f} s."
        " It holds your keys and password hash: keep it as safe as the data directory."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    bar = Bar()
    try:
        if args.check:
            manifest = restore.verify(args.file, bar)
        else:
            manifest = restore.restore(args.file, settings.data_dir, bar)
    except BaseException:
        bar.abort()
        raise
    bar.end()
    if args.check:
        print(
            f"{args.file} is a complete backup of @{manifest.username}@{manifest.domain}"
            f" made {_when(manifest.created_at)} by Solo {manifest.solo_version}"
            f" ({len(manifest.files)} files, {manifest.total_size / MB:.1f} MB)."
        )
        return 0
    print(
        f"Restored @{manifest.username}@{manifest.domain} (backup of {_when(manifest.created_at)},"
        f" {len(manifest.files)} files) into {settings.data_dir}/. Start it with `solo serve`"
        f" (with the domain {manifest.domain} and username {manifest.username})."
    )
    return 0


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def cmd_delete_account(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    if not settings.db_path.is_file():
        raise SetupError(f"no Solo instance at {settings.data_dir}: nothing to delete")
    pid = control.running_server(settings)
    if pid is not None:
        raise SetupError(
            f"the server (pid {pid}) is serving {settings.data_dir}: stop it first; this command"
            " sends the deliveries itself, then removes the data. Nothing was changed"
        )
    if args.wait < 0:
        raise SetupError("--wait takes a number of seconds, 0 or more")
    _confirm(settings, args)
    # Holding the pid file keeps a `solo serve` from starting on data about to go.
    with control.pid_file(settings):
        sent = asyncio.run(_say_goodbye(settings, args.wait))
        _remove_data(settings)
    print(
        f"Delete sent to {sent.total} servers: {sent.delivered} took it, {sent.failed} refused"
        f" it, {sent.waiting} did not answer within {args.wait:.0f} s."
    )
    print(f"@{urls.handle(settings)} is deleted; {settings.data_dir} no longer holds its data.")
    return 0


def _confirm(settings: Settings, args: argparse.Namespace) -> None:
    handle = urls.handle(settings)
    if args.yes:
        if (args.handle or "").lstrip("@") != handle:
            raise SetupError(f"--yes needs --handle {handle}, to be sure of the account")
        return
    print(
        f"This deletes @{handle} for good: every server that knows it is told to remove it,"
        f" then the database, media and keys in {settings.data_dir} are removed."
    )
    typed = _ask(f"Type the handle ({handle}) to go on: ").strip().lstrip("@")
    if typed != handle:
        raise SetupError("that is not the handle; nothing was changed")
    if _ask("Really delete the account? This cannot be undone. [y/N] ").strip().lower() not in (
        "y",
        "yes",
    ):
        raise SetupError("not deleted; nothing was changed")


def _ask(prompt: str) -> str:
    print(prompt, end="", flush=True)
    line = sys.stdin.readline()
    if not line:
        raise SetupError("no answer (standard input ended); nothing was changed")
    return line


async def _say_goodbye(settings: Settings, wait: float) -> farewell.Deliveries:
    instance = await open_instance(settings)
    try:
        async with federation(instance) as running:
            sent = await farewell.send_delete(running)

            def show(now: farewell.Deliveries) -> None:
                print(
                    f"\rDeliveries: {now.delivered + now.failed}/{now.total}"
                    f" ({now.waiting} waiting)",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

            result = await farewell.wait_for(running, sent, wait, show)
            print(file=sys.stderr)
            return result
    finally:
        await instance.db.close()


def _remove_data(settings: Settings) -> None:
    if settings.media_storage == "s3":
        asyncio.run(_remove_bucket_files(settings))
    shutil.rmtree(settings.media_dir, ignore_errors=True)
    for path in settings.data_dir.glob(f"{backup.STAGING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
    for suffix in ("-wal", "-shm", ""):
        settings.db_path.with_name(settings.db_path.name + suffix).unlink(missing_ok=True)
    (settings.data_dir / TOML_NAME).unlink(missing_ok=True)


async def _remove_bucket_files(settings: Settings) -> None:
    """Our files and the cached ones, from the bucket (the database says which)."""
    keys = backup.own_media_keys(settings.db_path, settings)
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:
        keys += [row[0] for row in conn.execute("SELECT storage_key FROM media_cache")]
    storage = open_storage(settings)
    try:
        for key in keys:
            await storage.delete(key)
    finally:
        await storage.aclose()


def cmd_prune(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    days = settings.retention_days if args.days is None else args.days
    if days <= 0:
        raise SetupError(
            "retention_days is 0 (keep everything): give --days N to prune posts older than N days"
        )
    bar = Bar()

    async def run() -> tuple[retention.Progress, int]:
        db = Database(settings.db_path, checkpoints=not settings.litestream)
        await db.open()
        storage = open_storage(settings)
        try:
            total = await retention_store.count_prunable(db, retention.older_than(days))
            bar("pruning", 0, total)
            progress, _ = await retention.prune(
                db,
                storage,
                days,
                on_batch=lambda p: bar("pruning", p.removed, total),
                give_back=True,
            )
            return progress, total
        except BaseException:
            bar.abort()
            raise
        finally:
            await storage.aclose()
            await db.close()

    progress, _ = asyncio.run(run())
    bar.end()
    print(
        f"Removed {progress.removed:,} remote posts older than {days} days that nobody here"
        f" touched, and {progress.files:,} cached files ({progress.freed / MB:.1f} MB);"
        f" the database file shrank by {progress.given_back / MB:.1f} MB."
    )
    pid = control.running_server(settings)
    if pid is not None and progress.removed:
        os.kill(pid, signal.SIGHUP)
        print(f"Asked the running server (pid {pid}) to rebuild its feeds without them.")
    return 0


HANDLERS = {
    "backup": cmd_backup,
    "restore": cmd_restore,
    "delete-account": cmd_delete_account,
    "prune": cmd_prune,
}
