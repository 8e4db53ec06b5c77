"""`python -m bench archive`: `solo import-archive` of a 10,000-post archive with 2,000 images,
then `solo export` of the same instance, each a fresh process: wall time and peak RSS (the
process's own, from wait4 in a small parent: see WAIT4), with the machine's load beside them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import summary
from bench.archive_data import write_archive
from bench.procs import pin_solo

POSTS = 10_000
IMAGES = 2_000
TIMEOUT = 600.0
TARGETS = {"import": (120.0, 150.0), "export": (60.0, 100.0)}  # seconds, MB
ROOT = Path(__file__).resolve().parent.parent


# Linux keeps a process's peak RSS (ru_maxrss) across exec, and a forked child starts with its
# parent's pages: `solo` forked straight from this process, which earlier benchmarks of the same
# run may have grown to 250 MB, would report this process's size as its own. So a small Python
# process forks `solo`, waits for it, and reports its wait4 figures on stderr.
WAIT4 = """
import os, sys
pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, file=sys.stderr)
"""


def _measured(data: Path, *argv: str, stdin: str | None = None) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    waiter = subprocess.Popen(
        [sys.executable, "-c", WAIT4, sys.executable, "-m", "solo", "--data-dir", str(data), *argv],
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pin_solo(waiter.pid)  # as `solo serve` is under --cores; `solo` inherits it
    output, report = waiter.communicate(
        stdin.encode() if stdin is not None else None, timeout=TIMEOUT
    )
    seconds = time.monotonic() - started
    code, maxrss = (int(word) for word in report.split()[-2:])
    if code != 0:
        raise RuntimeError(f"solo {' '.join(argv)} failed")
    return seconds, maxrss / 1024, output.decode()


def main() -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="solo-bench-archive-") as tmp:
        folder = Path(tmp)
        archive = write_archive(folder / "archive.zip", POSTS, IMAGES)
        data = folder / "data"
        _measured(data, "init", "--username", "alice", "--password-stdin", stdin="bench pass 1\n")
        results = {
            "import": _measured(data, "import-archive", str(archive)),
            "export": _measured(data, "export", str(folder / "export.zip")),
        }
        exported_mb = (folder / "export.zip").stat().st_size / 1024 / 1024
    load_after = os.getloadavg()
    print(
        f"archive: {POSTS:,} posts with {IMAGES:,} images ({archive.name}); export"
        f" {exported_mb:.1f} MB; load average {load_before[0]:.1f} before,"
        f" {load_after[0]:.1f} after, on {os.cpu_count()} cores"
    )
    print(f"  {'':<10}{'time (s)':>10}{'target':>8}{'peak RSS (MB)':>15}{'target':>8}")
    for name, (seconds, peak, _) in results.items():
        time_target, rss_target = TARGETS[name]
        verdict = summary.verdict(
            f"solo {name}: time, peak RSS",
            f"{seconds:.1f} s, {peak:.0f} MB",
            f"≤ {time_target:.0f} s, ≤ {rss_target:.0f} MB",
            seconds <= time_target and peak <= rss_target,
        )
        print(
            f"  {name:<10}{seconds:>10.1f}{time_target:>8.0f}{peak:>15.1f}{rss_target:>8.0f}"
            f"  {verdict}"
        )
