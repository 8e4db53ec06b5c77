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
from solo.feeds import Feeds

PID_FILE = "solo.pid"
# uvicorn configures its "uvicorn.error" logger at info level: what `solo serve` prints.
log = logging.getLogger("uvicorn.error")


def pid_path(settings: Settings) -> Path:
    return settings.data_dir / PID_FILE


@contextlib.contextmanager
def serving(settings: Settings, feeds: Feeds) -> Iterator[None]:
    """While the server runs: its pid on disk, and SIGHUP rebuilding the feeds."""
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

    path = pid_path(settings)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        with contextlib.suppress(FileNotFoundError):
            if path.read_text(encoding="ascii").strip() == str(os.getpid()):
                path.unlink()


def running_server(settings: Settings) -> int | None:
    """The pid of the `solo serve` of this data directory, if one is running."""
    try:
        pid = int(pid_path(settings).read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a pid file left by a server that was killed
    except PermissionError:
        pass  # running as another user: it exists
    return pid
