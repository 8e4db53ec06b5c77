"""`solo serve`: the app under uvicorn, with the pid file, the start-up and the signals.

The app's lifespan runs here rather than under uvicorn, for two reasons: a failure while it
starts (a damaged database) becomes the one-line `SetupError` of every other start-up problem
instead of uvicorn's traceback, and its shutdown (workers, database) still runs after a SIGTERM,
which uvicorn raises again once it has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import resource
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from solo import __version__, control, urls
from solo.app import create_app
from solo.config import Settings, port_warning
from solo.db import DAMAGE, damaged
from solo.errors import SetupError
from solo.lazy import lazy

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)
OPEN_FILES = 8192
# Allocations (less deallocations) of objects the cyclic collector tracks between two of its
# youngest collections; Python's default is 700.
YOUNG_COLLECTION_EVERY = 10_000


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop `event_loop` asks for: uvloop's (by default when it is installed) or
    asyncio's (None); SetupError when uvloop is asked for and not installed.

    Measured on the fan-out (bench/fanout.py): the event loop's own CPU per delivery fell by
    a sixth to a quarter, most of it connection set-up and socket calls done in C.
    """
    if settings.event_loop == "asyncio":
        return None
    try:  # an optional extra (`solo[fast]`): compiled, with wheels for x86-64 and 64-bit ARM
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if settings.event_loop == "uvloop":
            raise SetupError(
                "event_loop is uvloop but uvloop is not installed:"
                " pip install 'uvloop>=0.19' (or 'solo[fast]'), or set event_loop = auto"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def raise_open_files_limit(wanted: int = OPEN_FILES) -> int:
    """Raise this process's soft limit on open files towards `wanted` (never above the hard
    limit, never lower than it was); returns the soft limit now.

    A fan-out keeps up to 512 deliveries in flight and 256 idle connections, beside the
    visitors' connections and the database's files: more than the 1,024 a systemd service
    gets by default (its hard limit is far higher)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here: the limit stays as it was
    return soft


def tune_collector() -> None:
    """Set the cyclic garbage collector for a server whose start-up is over.

    With Python's default, 64 inbox POSTs in flight (about twenty dicts, lists and futures
    each) were enough to start a collection: 50-80 a second, each moving the requests' objects
    to an older generation, so that every 2 s a full collection walked the whole heap for
    25-60 ms with the event loop stopped. In all, 5 % of the loop under a flood of POSTs.
    Nearly every one of those objects is freed by its reference count once its request is
    answered, long before 10,000 more are made. And what start-up made (modules, classes,
    the settings, the feeds) is frozen, left out of every later collection, since it lives
    as long as the process."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)


def run(settings: Settings) -> None:
    """`solo serve` until it is stopped, on the loop `loop_factory` picks."""
    raise_open_files_limit()
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        runner.run(serve(settings))


if TYPE_CHECKING:
    from uvicorn.protocols.websockets import websockets_sansio_impl
else:  # at the first WebSocket, not at start (see solo.lazy)
    websockets_sansio_impl = lazy("uvicorn.protocols.websockets.websockets_sansio_impl")


class WebSocketsOnDemand(asyncio.Protocol):
    """uvicorn's sans-I/O `websockets` protocol, imported at the first WebSocket upgrade: given
    by its name, uvicorn would import it (and the websockets library) before the first answer,
    a seventh of the start's CPU. uvicorn makes one per upgrade, calling the class."""

    def __new__(cls, **kwargs: Any) -> Any:  # the real protocol, not an instance of this class
        return websockets_sansio_impl.WebSocketsSansIOProtocol(**kwargs)


async def serve(settings: Settings) -> None:
    # Claimed first: a second `solo serve` of the same data directory stops here, before it
    # touches the database or the first server's pid file.
    with control.pid_file(settings):
        app = create_app(settings, serving=True)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                lifespan="off",  # run below
                proxy_headers=True,
                forwarded_allow_ips="127.0.0.1",
                server_header=False,
                # An open /streaming connection would otherwise hold a SIGTERM off for ever.
                timeout_graceful_shutdown=5,
                # The client API's streaming WebSocket (solo/api/streaming.py); clients only
                # send small subscribe messages.
                ws=WebSocketsOnDemand,
                ws_max_size=64 * 1024,
                log_level="info",
                # One log line per request costs more than the inbox itself at a thousand a
                # second: off unless asked for (start-up, shutdown and errors are logged
                # either way).
                access_log=settings.access_log,
            )
        )
        with held_signals(server):
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(app.router.lifespan_context(app))
                except SetupError:
                    raise
                except DAMAGE as error:
                    raise damaged(settings.db_path, error) from None
                tune_collector()
                print_banner(settings)
                mismatch = port_warning(settings)
                if mismatch:
                    print(f"solo: warning: {mismatch}", file=sys.stderr, flush=True)
                await server.serve()
                if not server.started:
                    raise SetupError(
                        f"could not serve on {settings.host}:{settings.port} (see above)"
                    )


@contextlib.contextmanager
def held_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server without ending the process at once; they are raised
    again once everything is closed, so the process still ends as they ask."""
    held: list[int] = []

    def hold(number: int, frame: FrameType | None) -> None:
        held.append(number)
        server.should_exit = True  # received while starting: stop as soon as started

    before: dict[int, signal._HANDLER] = {
        number: signal.signal(number, hold) for number in STOPPING_SIGNALS
    }
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(held):
            signal.raise_signal(number)


def _loop_name() -> str:
    loop = asyncio.get_running_loop()
    return "uvloop's" if type(loop).__module__.startswith("uvloop") else "asyncio's"


def print_banner(settings: Settings) -> None:
    print(
        f"Solo {__version__} serving @{urls.handle(settings)} on"
        f" http://{settings.host}:{settings.port} (public address {settings.base_url};"
        f" {_loop_name()} event loop)\n"
        f"Log in at {settings.base_url}/login as {settings.username};"
        " forgot the password? Run `solo passwd`.",
        flush=True,
    )
