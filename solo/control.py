"""Talking to a running `solo serve` from the command line: a pid file and SIGHUP.

The feeds live in the server's memory, so `solo rebuild-feeds` cannot rebuild them itself: it
asks the running server to, as `tootctl feeds build` asks Mastodon's Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from solo.config import Settings
from solo.errors import SetupError
from solo.feeds import Feeds

PID_FILE = "solo.pid"
# uvicorn configures its "uvicorn.error" logger at info level: what `solo serve` prints.
log = logging.getLogger("uvicorn.error")


def pid_path(settings: Settings) -> Path:
    return settings.data_dir / PID_FILE


@contextlib.contextmanager
def serving(settings: Settings, feeds: Feeds) -> Iterator[None]:
    """While the server runs: SIGHUP rebuilding the feeds (the pid file is `pid_file`'s)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def rebuild() -> None:
        await feeds.rebuild()
        sizes = ", ".join(f"{name} {len(feed)}" for name, feed in feeds.timelines.items())
        log.info(
            "feeds rebuilt from the database: %s, notifications %d", sizes, len(feeds.notifications)
        )

    def on_hangup() -> None:
        task = loop.create_task(rebuild())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        # Here and not only in `pid_file`: after a SIGTERM, uvicorn raises the signal again
        # once it has stopped, which ends the process before `pid_file` gets to clean up.
        release(settings)


@contextlib.contextmanager
def pid_file(settings: Settings) -> Iterator[None]:
    """Our pid in `<data dir>/solo.pid` while we serve; SetupError while another live server's
    pid is there. A file left by a server that died is replaced. On the way out the file goes
    only if it still names us: a file that is not ours is never removed."""
    path = pid_path(settings)
    # Until `serving` installs its handler, a SIGHUP from `solo rebuild-feeds` would otherwise
    # end the process (the default action): before the feeds exist there is nothing to rebuild.
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        _claim(path, settings)
        try:
            yield
        finally:
            release(settings)
    finally:
        signal.signal(signal.SIGHUP, before)


def release(settings: Settings) -> None:
    """Remove the pid file if it names us, and only then."""
    path = pid_path(settings)
    with contextlib.suppress(FileNotFoundError):
        if _holder(path) == os.getpid():
            path.unlink()


def _claim(path: Path, settings: Settings) -> None:
    if not path.parent.is_dir():
        raise SetupError(f"no Solo instance at {settings.data_dir}: run `solo init` first")
    mine = f"{os.getpid()}\n".encode("ascii")
    for _ in range(3):  # a stale file is removed, then created anew exclusively
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is not None and holder != os.getpid() and _alive(holder):
                raise SetupError(
                    f"another Solo server (pid {holder}) is serving {settings.data_dir}: stop it"
                    f" first (if no server runs, remove {path})"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(descriptor, "wb") as file:
            file.write(mine)
        return
    raise SetupError(f"{path} keeps coming back: is another Solo server starting?")


def _holder(path: Path) -> int | None:
    """The pid a pid file names; None when it names none (empty, garbled)."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False  # a pid file left by a server that was killed
    except PermissionError:
        return True  # running as another user: it exists
    return True


def running_server(settings: Settings) -> int | None:
    """The pid of the `solo serve` of this data directory, if one is running."""
    try:
        pid = _holder(pid_path(settings))
    except FileNotFoundError:
        return None
    return pid if pid is not None and _alive(pid) else None
