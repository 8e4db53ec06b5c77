"""`solo backup` of a 1 GB database while the server serves the home page.

    python -m bench backup

The world of `bench/timelines.py` (100,000 statuses, a full home feed), grown to 1 GB with one
bulk insert of random blobs into a table of its own (incompressible, so the copy and the tar do
all their work), then `solo serve` on it. The home page is requested one at a time over one
keep-alive connection: IDLE requests first, then for as long as `solo backup FILE` (a separate
process, as a cron job would run it) takes. Reports the backup's wall time and size, and the
home page's p99 during the backup against idle. Target: p99 during ≤ 3× idle.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.loadgen import one_at_a_time, percentile
from bench.procs import CpuShare, Processes, pin_solo
from bench.summary import verdict
from bench.timelines import PASSWORD, log_in, populate, request_bytes
from bench.world import World
from solo.instance import initialise

TARGET_BYTES = 1024**3
BLOB = 4000  # about one 4 KB page per row
IDLE = 300
WARM_UP = 10
TARGET_RATIO = 3.0
BACKUP_TIMEOUT = 900.0


def grow(db_path: Path, target: int = TARGET_BYTES) -> int:
    """Bring the database to `target` bytes with one bulk insert; its size."""
    rows = max(0, (target - db_path.stat().st_size) // (BLOB + 96))
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        # Out of WAL for the bulk insert, so the gigabyte is written once, not twice.
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_filler (id INTEGER PRIMARY KEY, data BLOB)")
        conn.execute(
            "INSERT INTO bench_filler (data) SELECT randomblob(?) FROM"
            " (WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)"
            " SELECT x FROM n)",
            (BLOB, rows),
        )
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return db_path.stat().st_size


async def run() -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-backup-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        await initialise(settings, PASSWORD)
        populate(settings)
        size = grow(settings.db_path, TARGET_BYTES)  # read now: --quick makes it smaller
        print(
            f"backup: a {size / 1024**3:.2f} GB database (100,000 statuses and filler) made in"
            f" {time.perf_counter() - began:.1f} s; load average {os.getloadavg()[0]:.1f}"
            f" on {os.cpu_count()} cores"
        )
        domain, port = world.solo_domain, world.solo_port
        with Processes(tmp, world) as procs:
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            request = request_bytes("/", domain, await log_in(port, domain))
            await one_at_a_time(port, request, WARM_UP)
            idle = await one_at_a_time(port, request, IDLE)
            share = CpuShare(procs)
            target = tmp / "backup.tar"
            env = {
                **os.environ,
                "SOLO_DATA_DIR": str(settings.data_dir),
                "SOLO_DOMAIN": domain,
                "SOLO_SCHEME": "http",
                "SOLO_USERNAME": "bench",
            }
            started = time.perf_counter()
            backup = subprocess.Popen(  # noqa: ASYNC220 - returns at once; polled below
                [sys.executable, "-m", "solo", "backup", str(target)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            pin_solo(backup.pid)  # cron's backup shares the Pi's core with `solo serve`
            try:
                during = await asyncio.wait_for(
                    one_at_a_time(port, request, None, lambda: backup.poll() is not None),
                    BACKUP_TIMEOUT,
                )
                elapsed = time.perf_counter() - started
            finally:
                if backup.poll() is None:
                    backup.kill()
                _, errors = backup.communicate(timeout=30)
            if backup.returncode != 0:
                raise RuntimeError(f"solo backup failed: {errors.decode()[-500:]}")
            cpu = share.summary()
        report(idle, during, elapsed, target.stat().st_size if target.exists() else 0, cpu)


def report(idle: list[float], during: list[float], elapsed: float, size: int, cpu: str) -> None:
    idle_p99, during_p99 = percentile(idle, 99), percentile(during, 99)
    ratio = during_p99 / idle_p99 if idle_p99 else float("inf")
    met = verdict(
        "home p99 during the backup over idle",
        f"{ratio:.1f}× ({during_p99 * 1000:.1f} ms)",
        f"≤ {TARGET_RATIO:.0f}×",
        ratio <= TARGET_RATIO,
    )
    print(
        f"backup: {size / 1024**3:.2f} GB written in {elapsed:.1f} s"
        f" ({size / 1024**2 / elapsed:.0f} MB/s); home page p99 {during_p99 * 1000:.1f} ms during"
        f" the backup ({len(during)} requests, p50 {percentile(during, 50) * 1000:.1f} ms) vs"
        f" {idle_p99 * 1000:.1f} ms idle (p50 {percentile(idle, 50) * 1000:.1f} ms):"
        f" {ratio:.1f}x, target ≤ {TARGET_RATIO:.0f}x {met}"
    )
    print(f"backup: CPU during the backup: {cpu}; load average {os.getloadavg()[0]:.1f}")
