"""The `solo` command: init, serve, passwd, queue, doctor, rebuild-feeds, media, import,
export-csv, export, import-archive, backup, restore, delete-account."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from solo import __version__, cli_data, control, jobs, server, urls
from solo.actions.csv_formats import KINDS
from solo.config import TOML_NAME, Settings, load_settings, write_toml
from solo.db import DAMAGE, Database, damaged
from solo.errors import SetupError
from solo.events import EventBus
from solo.feeds import Feeds
from solo.instance import initialise, open_instance
from solo.lazy import lazy
from solo.media import cache as media_cache
from solo.media.storage import open_storage
from solo.passwords import generate_password, hash_password, validate_new_password
from solo.store import hosts, refusals
from solo.store import media_cache as media_cache_store
from solo.store.account import get_keypair, set_password_hash

if TYPE_CHECKING:
    from solo import archive_cli, csv_cli, doctor
else:  # for their own commands only, not for `solo serve` (see solo.lazy)
    archive_cli = lazy("solo.archive_cli")
    csv_cli = lazy("solo.csv_cli")
    doctor = lazy("solo.doctor")

COMMANDS = (
    "init",
    "serve",
    "passwd",
    "queue",
    "doctor",
    "rebuild-feeds",
    "media",
    "import",
    "export-csv",
    "export",
    "import-archive",
    *cli_data.COMMANDS,
)
MB = 1024 * 1024
RECENT_REFUSALS = 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="solo",
        description="Solo: a person's own fediverse server. Settings come from SOLO_* variables"
        " and <data dir>/solo.toml (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"solo {__version__}")
    parser.add_argument("--data-dir", help="where the database lives (default ./data)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help="create the instance: database, keys, account")
    init.add_argument("--domain", help="the public domain, e.g. social.example.org")
    init.add_argument("--username", help="your username (the part before @domain)")
    init.add_argument("--scheme", choices=("http", "https"), help="http only for local use")
    init.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    init.add_argument("--force", action="store_true", help="replace an existing instance")

    serve = commands.add_parser("serve", help="serve the instance over HTTP")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")

    passwd = commands.add_parser("passwd", help="set a new password (logs out every session)")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    commands.add_parser("queue", help="show the delivery and ingress queues and the worst hosts")
    checkup = commands.add_parser(
        "doctor", help="check the running instance at its public URL as other servers see it"
    )
    checkup.add_argument(
        "--min-free",
        type=int,
        metavar="BYTES",
        default=None,  # doctor.MIN_FREE_BYTES
        help="warn when the data directory's disk has less free (default 1 GB)",
    )
    commands.add_parser(
        "rebuild-feeds", help="rebuild the timelines of the running server from the database"
    )
    media = commands.add_parser("media", help="the cache of remote avatars, headers and files")
    media_actions = media.add_subparsers(dest="media_action", metavar="ACTION", required=True)
    prune = media_actions.add_parser(
        "prune", help="remove the least recently shown cached files until the cache fits"
    )
    prune.add_argument(
        "--budget",
        type=int,
        metavar="BYTES",
        help="the size to bring the cache down to (default: media_cache_bytes)",
    )
    imports = commands.add_parser(
        "import", help="import a CSV file exported from Mastodon (follows, blocks, mutes, …)"
    )
    imports.add_argument("kind", choices=KINDS, help="what the file holds")
    imports.add_argument("file", help="the CSV file")
    imports.add_argument(
        "--overwrite",
        action="store_true",
        help="also undo what the file does not list (default: merge, keeping the rest)",
    )
    exports = commands.add_parser("export-csv", help="export a CSV file as Mastodon writes it")
    exports.add_argument("kind", choices=KINDS, help="what to export")
    exports.add_argument("file", help="where to write it (- for standard output)")
    export = commands.add_parser(
        "export", help="write your account as a Mastodon archive (a .zip of posts and media)"
    )
    export.add_argument("file", metavar="FILE.zip", help="where to write the archive")
    import_archive = commands.add_parser(
        "import-archive", help="import your old posts from a Mastodon archive (.zip)"
    )
    import_archive.add_argument("file", metavar="ARCHIVE.zip", help="the archive to import")
    cli_data.add_parsers(commands)
    return parser


def cmd_import(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    return csv_cli.run_import(settings, args.kind, args.file, overwrite=args.overwrite)


def cmd_export_csv(args: argparse.Namespace) -> int:
    return csv_cli.run_export(load_settings(data_dir=args.data_dir), args.kind, args.file)


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise SetupError("the two passwords differ; nothing was changed")
    problem = validate_new_password(password)
    if problem:
        raise SetupError(f"{problem} Nothing was changed.")
    return password


def cmd_init(args: argparse.Namespace) -> int:
    settings = load_settings(
        data_dir=args.data_dir, domain=args.domain, username=args.username, scheme=args.scheme
    )
    if args.password_stdin:
        password, generated = _read_password(True), False
    else:
        password, generated = generate_password(), True
    asyncio.run(initialise(settings, password, force=args.force))
    toml = settings.data_dir / TOML_NAME
    if not toml.exists():
        chosen = ["domain", "scheme", "username"]
        if settings.port != Settings.port:
            chosen.append("port")  # so that later commands serve where the links point
        write_toml(settings, chosen)
    print(f"Created @{urls.handle(settings)} in {settings.data_dir}/ (settings in {toml}).")
    if generated:
        print(f"Your password: {password}")
        print("Keep it somewhere safe; `solo passwd` sets another one.")
    print(f"Log in at {settings.base_url}/login once `solo serve` runs.")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    password = _read_password(args.password_stdin)

    async def change() -> None:
        instance = await open_instance(settings)
        try:
            await set_password_hash(instance.db, hash_password(password))
        finally:
            await instance.db.close()

    asyncio.run(change())
    print("Password changed; every session was logged out.")
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)

    async def show() -> None:
        db = Database(settings.db_path)
        await db.open(readonly=True)  # a command that only looks never migrates
        try:
            counts = await jobs.summary(db)
            waiting = await jobs.waiting_by_host(db)
            unavailable = await hosts.unavailable_hosts(db)
        finally:
            await db.close()
        for queue in ("push", "ingress", "webpush"):
            states = counts.get(queue, {})
            shown = ", ".join(f"{state} {states.get(state, 0)}" for state in jobs.STATES)
            print(f"{queue:8} {shown}")
        if waiting:
            print("\nDeliveries waiting, by host:")
            for host, number, error in waiting:
                print(f"  {host:40} {number:6}  {error or ''}")
        if unavailable:
            print("\nUnavailable hosts (skipped until heard from): " + ", ".join(unavailable))

    asyncio.run(show())
    _show_refusals(settings)
    return 0


def _show_refusals(settings: Settings) -> None:
    recent = refusals.recent_in(str(settings.db_path), RECENT_REFUSALS)
    if not recent:
        return
    print("\nIncoming activities refused (HTTP status) or ignored (-), newest first:")
    for refusal in recent:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(refusal.at))
        status = "-" if refusal.status is None else str(refusal.status)
        print(f"  {when}  {status:>3}  {refusal.type or '?':12} {refusal.sender}")
        print(f"      {refusal.reason}")


def cmd_doctor(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    min_free = doctor.MIN_FREE_BYTES if args.min_free is None else args.min_free
    if min_free < 0:
        raise SetupError(f"--min-free {min_free} is negative")

    async def run() -> doctor.Report:
        db = Database(settings.db_path)
        await db.open(readonly=True)
        try:
            keys = await get_keypair(db, "user")
        finally:
            await db.close()
        if keys is None:
            raise SetupError(f"no instance in {settings.data_dir}: run `solo init` first")
        return await doctor.examine(settings, keys, min_free_bytes=min_free)

    report = asyncio.run(run())
    print("\n".join(report.lines()))
    doctor.save_report(settings, report)
    return 1 if report.failed else 0


def cmd_rebuild_feeds(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    pid = control.running_server(settings)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)
        print(f"Asked the running server (pid {pid}) to rebuild its feeds; its log says when.")
        return 0

    async def count() -> str:
        db = Database(settings.db_path)
        await db.open(readonly=True)
        try:
            feeds = Feeds(db, EventBus())
            await feeds.rebuild()
        except DAMAGE as error:
            raise damaged(settings.db_path, error) from None
        finally:
            await db.close()
        sizes = ", ".join(f"{name} {len(feed)}" for name, feed in feeds.timelines.items())
        return f"{sizes}, notifications {len(feeds.notifications)}"

    sizes = asyncio.run(count())
    print(f"No server is running; it builds its feeds from the database at start ({sizes}).")
    return 0


def cmd_media(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    budget = settings.media_cache_bytes if args.budget is None else args.budget
    if budget < 0:
        raise SetupError(f"--budget {budget} is negative")

    async def prune() -> tuple[int, int, int]:
        db = Database(settings.db_path, checkpoints=not settings.litestream)
        await db.open()
        storage = open_storage(settings)
        try:
            removed, freed = await media_cache.prune(db, storage, budget)
            return removed, freed, await media_cache_store.total_size(db)
        finally:
            await storage.aclose()
            await db.close()

    removed, freed, held = asyncio.run(prune())
    print(
        f"Removed {removed} files, freed {freed / MB:.1f} MB; the cache now holds"
        f" {held / MB:.1f} MB of {budget / MB:.1f} MB."
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir, host=args.host, port=args.port)
    server.run(settings)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "init": cmd_init,
        "serve": cmd_serve,
        "passwd": cmd_passwd,
        "queue": cmd_queue,
        "doctor": cmd_doctor,
        "rebuild-feeds": cmd_rebuild_feeds,
        "media": cmd_media,
        "import": cmd_import,
        "export-csv": cmd_export_csv,
        "export": lambda args: archive_cli.cmd_export(args),
        "import-archive": lambda args: archive_cli.cmd_import_archive(args),
        **cli_data.HANDLERS,
    }
    try:
        return handlers[args.command](args)
    except SetupError as error:
        print(f"solo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
