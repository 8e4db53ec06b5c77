"""Talking to a running `solo serve` from the command line: a pid file, SIGHUP and SIGUSR1.

The feeds live in the server's memory, so `solo rebuild-feeds` cannot rebuild them itself: it
asks the running server to (SIGHUP), as `tootctl feeds build` asks Mastodon's Redis. A command
that stores work for the server (`solo import`) tells it to look now (SIGUSR1, `look_now`), so
that an idle server need not look for such work more than once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator
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
def serving(
    settings: Settings, feeds: Feeds, look: Callable[[], None] | None = None
) -> Iterator[None]:
    """While the server runs: SIGHUP rebuilding the feeds, SIGUSR1 calling `look` (wake what
    looks for work another process stores). The pid file is `pid_file`'s."""
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
    if look is not None:
        loop.add_signal_handler(signal.SIGUSR1, look)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        if look is not None:
            loop.remove_signal_handler(signal.SIGUSR1)
        # Here and not only in `pid_file`: after a SIGTERM, uvicorn raises the signal again
        # once it has stopped, which ends the process before `pid_file` gets to clean up.
        release(settings)


@contextlib.contextmanager
def pid_file(settings: Settings) -> Iterator[None]:
    """Our pid in `<data dir>/solo.pid` while we serve; SetupError while another live server's
    pid is there. A file left by a server that died is replaced. On the way out the file goes
    only if it still names us: a file that is not ours is never removed."""
    path = pid_path(settings)
    # Until `serving` installs its handlers, a SIGHUP from `solo rebuild-feeds` or a SIGUSR1
    # from `solo import` would otherwise end the process (the default action): before the feeds
    # exist there is nothing to rebuild, and the start-up looks for pending work anyway.
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    before_usr1 = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        _claim(path, settings)
        try:
            yield
        finally:
            release(settings)
    finally:
        signal.signal(signal.SIGHUP, before)
        signal.signal(signal.SIGUSR1, before_usr1)


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


def look_now(pid: int) -> None:
    """Tell the running server `pid` that work waits for it in the database (SIGUSR1)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # it looks each minute anyway
        os.kill(pid, signal.SIGUSR1)
