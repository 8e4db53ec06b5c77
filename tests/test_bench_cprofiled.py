"""`SOLO_BENCH_CPROFILE`: `solo serve` with its event loop under cProfile (bench/cprofiled.py)
writes its profile when stopped as the benchmarks stop it, and still ends as SIGTERM asks."""

from __future__ import annotations

import pstats
import signal
from collections import Counter
from pathlib import Path

from bench import cprofiled
from tests.processes import SoloProcess

PAGES = 20


async def test_solo_under_cprofile_writes_its_profile_when_stopped(
    tmp_path: Path, template_root: Path
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    solo = SoloProcess("alice", tmp_path)
    solo.command = ["-m", "bench.cprofiled", str(profiles), "serve"]
    await solo.initialise(template_root)
    await solo.start()
    async with solo.client() as client:
        for _ in range(PAGES):
            assert (await client.get("/@alice")).status_code == 200
    assert solo.process is not None
    pid = solo.process.pid
    solo.process.send_signal(signal.SIGTERM)
    assert solo.process.wait(timeout=20) == -signal.SIGTERM  # ended as the signal asks
    assert "Shutting down" in solo.log.read_text()  # after Solo's own clean shutdown

    path = profiles / f"solo-{pid}.prof"
    calls: Counter[str] = Counter()
    for (file, _, function), (_, count, *_) in pstats.Stats(str(path)).stats.items():  # type: ignore[attr-defined]
        if file.endswith("/solo/edge/middleware.py") and function == "__call__":
            calls[file] += count
    # Every request went through the app's middleware, on the event loop's thread.
    assert sum(calls.values()) >= PAGES
    text = cprofiled.report(path)
    assert text.startswith(f"  cProfile of Solo's event loop: {path}")
    assert "middleware.py" in text
