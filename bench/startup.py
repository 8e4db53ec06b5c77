"""Start-up: time from `solo serve` to the first answered request, and idle RSS after start.

Each run spawns a fresh `python -m solo serve` on a free port over an initialised data directory,
polls GET /.well-known/nodeinfo every 5 ms until it answers, then reads VmRSS from /proc after the
process has sat idle for a second.
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

from bench.procs import pin_solo
from solo.config import Settings
from solo.instance import initialise

RUNS = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_run(data_dir: Path) -> tuple[float, float]:
    port = _free_port()
    env = {
        **os.environ,
        "SOLO_DATA_DIR": str(data_dir),
        "SOLO_PORT": str(port),
        "SOLO_DOMAIN": "bench.test",
        "SOLO_USERNAME": "bench",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "solo", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pin_solo(process.pid)
    try:
        with httpx.Client(timeout=1) as client:
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/.well-known/nodeinfo")
                    break
                except httpx.TransportError:
                    if process.poll() is not None:
                        raise RuntimeError("solo serve exited") from None
                    if time.perf_counter() - started > 30:
                        raise RuntimeError("no answer within 30 s") from None
                    time.sleep(0.005)
        first_answer = time.perf_counter() - started
        time.sleep(1)
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return first_answer, rss


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(data_dir=data_dir, domain="bench.test", username="bench")
        asyncio.run(initialise(settings, "benchmark password"))
        results = [one_run(data_dir) for _ in range(RUNS)]
    times = [t for t, _ in results]
    rss = [r for _, r in results]
    print(f"startup: serve → first answered request, {RUNS} runs")
    print(
        f"  median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"
    )
    print(f"  idle RSS after start: median {statistics.median(rss):.1f} MB (max {max(rss):.1f} MB)")
