"""Start-up and idle: time from `solo serve` to the first answered request, RSS after start, and
the CPU an idle Solo uses beside a bare uvicorn app measured in the same run.

Each run spawns a fresh `python -m solo serve` on a free port over an initialised data directory,
polls GET /.well-known/nodeinfo every 5 ms until it answers, then reads VmRSS from /proc after the
process has sat idle for a second. The children write their bytecode to a cache of this run
(as an installed package has its bytecode): a first start, not counted, fills it, and its time is
shown apart. The last run then sits idle for `IDLE_WINDOW` seconds beside a bare Starlette +
uvicorn app (one route, no lifespan) started at the same time: the CPU seconds of each over the
window, per minute, and the difference.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import summary
from bench.procs import cpu_seconds, pin_solo, proc_status
from solo.config import Settings
from solo.instance import initialise

RUNS = 5
IDLE_WINDOW = 60.0  # seconds
TARGET_START = 0.5  # seconds from spawn to the first answer
TARGET_RSS = 45.0  # MB after start
TARGET_IDLE_CPU = 0.05  # CPU seconds per minute above the bare app

# On the event loop Solo runs on (`--loop`, as `summary.event_loop` reads it; written out here
# because this app's memory is the baseline and must not import the bench): uvicorn's own
# choice would be uvloop whenever the test tools installed it.
BARE_APP = """
import os, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
async def hello(request): return PlainTextResponse("ok")
app = Starlette(routes=[Route("/", hello)])
loop = "uvloop" if os.environ.get("SOLO_EVENT_LOOP") == "uvloop" else "asyncio"
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop=loop)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    return proc_status(pid, "VmRSS")  # its descendants too: none, unless it signs


def _verdict(figure: str, value: float, target: float, unit: str) -> str:
    shown = f"{value:.1f}" if unit == "MB" else f"{value:.3f}"
    return summary.verdict(figure, f"{shown} {unit}", f"≤ {target:g} {unit}", value <= target)


def _child_env(pycache: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(pycache), **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _wait_answer(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    with httpx.Client(timeout=1) as client:
        while True:
            try:
                client.get(url)
                return time.perf_counter() - started
            except httpx.TransportError:
                if process.poll() is not None:
                    raise RuntimeError(f"{url}: the server exited") from None
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"{url}: no answer within 30 s") from None
                time.sleep(0.005)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def _spawn_solo(data_dir: Path, pycache: Path) -> tuple[subprocess.Popen[bytes], float, int]:
    port = _free_port()
    env = _child_env(
        pycache,
        SOLO_DATA_DIR=str(data_dir),
        SOLO_PORT=str(port),
        SOLO_DOMAIN="bench.test",
        SOLO_USERNAME="bench",
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "solo", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pin_solo(process.pid)
    return process, started, port


def _spawn_bare(pycache: Path) -> tuple[subprocess.Popen[bytes], float, int]:
    """The bare Starlette + uvicorn app, started as Solo is (`_spawn_solo`)."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(port)],
        env=_child_env(pycache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pin_solo(process.pid)
    return process, started, port


def one_run(data_dir: Path, pycache: Path) -> tuple[float, float, float]:
    """(seconds to the first answer, CPU seconds Solo used until then, RSS 1 s later)"""
    process, started, port = _spawn_solo(data_dir, pycache)
    try:
        url = f"http://127.0.0.1:{port}/.well-known/nodeinfo"
        first_answer = _wait_answer(url, process, started)
        cpu = cpu_seconds(process.pid)
        time.sleep(1)
        rss = _rss_mb(process.pid)
    finally:
        _stop(process)
    return first_answer, cpu, rss


def bare_run(pycache: Path) -> tuple[float, float]:
    """The bare app's (seconds to its first answer, CPU seconds until then): the floor of a
    start on this machine, now."""
    bare, started, port = _spawn_bare(pycache)
    try:
        first_answer = _wait_answer(f"http://127.0.0.1:{port}/", bare, started)
        return first_answer, cpu_seconds(bare.pid)
    finally:
        _stop(bare)


def idle_run(data_dir: Path, pycache: Path) -> tuple[float, float, float, float]:
    """Solo and the bare app side by side, both idle over the window: (Solo's CPU s/min, the
    bare app's CPU s/min, Solo's RSS at the end, the bare app's RSS at the end)."""
    bare, bare_started, bare_port = _spawn_bare(pycache)
    solo, started, port = _spawn_solo(data_dir, pycache)
    try:
        _wait_answer(f"http://127.0.0.1:{bare_port}/", bare, bare_started)
        _wait_answer(f"http://127.0.0.1:{port}/.well-known/nodeinfo", solo, started)
        time.sleep(2)  # past the start-up's own work
        solo_before, bare_before = cpu_seconds(solo.pid), cpu_seconds(bare.pid)
        time.sleep(IDLE_WINDOW)
        minutes = IDLE_WINDOW / 60
        solo_cpu = (cpu_seconds(solo.pid) - solo_before) / minutes
        bare_cpu = (cpu_seconds(bare.pid) - bare_before) / minutes
        return solo_cpu, bare_cpu, _rss_mb(solo.pid), _rss_mb(bare.pid)
    finally:
        _stop(solo)
        _stop(bare)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        pycache = Path(tmp) / "pycache"
        settings = Settings(data_dir=data_dir, domain="bench.test", username="bench")
        asyncio.run(initialise(settings, "benchmark password"))
        compiling, _, _ = one_run(data_dir, pycache)
        results = [one_run(data_dir, pycache) for _ in range(RUNS)]
        bare_run(pycache)  # compiles the bare app's bytecode
        bare_starts = [bare_run(pycache) for _ in range(RUNS)]
        solo_cpu, bare_cpu, solo_rss, bare_rss = idle_run(data_dir, pycache)
    times = [t for t, _, _ in results]
    cpu = [c for _, c, _ in results]
    rss = [r for _, _, r in results]
    start, memory, extra = statistics.median(times), statistics.median(rss), solo_cpu - bare_cpu
    start_met = _verdict("start → first answer, median", start, TARGET_START, "s")
    rss_met = _verdict("RSS 1 s after start, median", memory, TARGET_RSS, "MB")
    idle_met = _verdict("idle CPU above a bare app", extra, TARGET_IDLE_CPU, "s/min")
    print(f"startup: serve → first answered request, {RUNS} runs (load {os.getloadavg()[0]:.2f})")
    print(
        f"  start → first answer: median {start:.3f} s (min {min(times):.3f}, max"
        f" {max(times):.3f}); target ≤ {TARGET_START} s: {start_met}"
        f"  [first start, compiling bytecode: {compiling:.3f} s]"
    )
    print(
        f"  CPU Solo used until its first answer: median {statistics.median(cpu):.2f} s"
        " (the start's own work, whatever else the machine is doing)"
    )
    print(
        "  the bare uvicorn app for comparison: first answer after median"
        f" {statistics.median(t for t, _ in bare_starts):.3f} s, using"
        f" {statistics.median(c for _, c in bare_starts):.2f} CPU s"
    )
    print(
        f"  RSS 1 s after the first answer: median {memory:.1f} MB (max {max(rss):.1f});"
        f" target ≤ {TARGET_RSS:.0f} MB: {rss_met}"
    )
    print(
        f"  idle CPU over {IDLE_WINDOW:.0f} s: Solo {solo_cpu:.3f} s/min, bare uvicorn app"
        f" {bare_cpu:.3f} s/min, difference {extra:.3f} s/min; target ≤ {TARGET_IDLE_CPU}:"
        f" {idle_met}"
    )
    print(
        f"  RSS after {IDLE_WINDOW:.0f} s idle: Solo {solo_rss:.1f} MB, bare app {bare_rss:.1f} MB"
    )
