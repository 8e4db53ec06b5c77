"""`solo serve` with its event loop's thread under cProfile, for `SOLO_BENCH_CPROFILE=DIR`.

    python -m bench.cprofiled DIR serve        (what `procs.start_solo` runs instead)
    python -m pstats DIR/solo-PID.prof         (to read one further)

py-spy samples a thread wherever the kernel happens to have it; on some virtual machines that
is a system call (`getpid` under `get_running_loop`), and its counts say more about the VM than
about Solo. cProfile counts every call of the thread it runs on, which for Solo is the event
loop, where requests, deliveries and applied activities spend their Python time; SQLite's and
the signing threads are left out. It slows Python code down (about half as fast), so figures
taken with it are not results: read it for where the time goes, not for how much there is.

The profile is written when the process ends. Solo answers the SIGTERM that stops it by
shutting down cleanly, puts back the handler it found, and raises the signal again: the handler
put here first writes the profile, then lets the signal end the process as it would have.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import runpy
import signal
import sys
from pathlib import Path
from types import FrameType

TOP = 25


def main() -> None:
    directory, command = Path(sys.argv[1]), sys.argv[2:]
    path = directory / f"solo-{os.getpid()}.prof"
    profile = cProfile.Profile()

    def write() -> None:
        profile.disable()
        profile.dump_stats(path)

    def stop(number: int, frame: FrameType | None) -> None:
        write()
        signal.signal(number, signal.SIG_DFL)
        signal.raise_signal(number)

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, stop)
    sys.argv = ["solo", *command]
    profile.enable()
    try:
        runpy.run_module("solo", run_name="__main__", alter_sys=True)
    finally:
        write()


def report(path: Path, top: int = TOP) -> str:
    """The functions with the most time of their own, then Solo's by time inclusive."""
    stats = pstats.Stats(str(path))
    total: float = stats.total_tt  # type: ignore[attr-defined]
    rows = [
        (own, inclusive, calls, file, f"{Path(file).name}:{number}({function})")
        for (file, number, function), (_, calls, own, inclusive, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    # Solo's own code, less what runs once (imports, `main`, `serve`: they hold everything).
    ours = [row for row in rows if f"{os.sep}solo{os.sep}" in row[3] and row[2] > 1]

    def line(seconds: float, calls: int, name: str) -> str:
        return f"      {seconds:8.3f} s {100 * seconds / total:5.1f} %  {calls:>9,}  {name}"

    return "\n".join(
        [
            f"  cProfile of Solo's event loop: {path} (python -m pstats {path})",
            f"    own time, of {total:.2f} s (the poll for sockets is time spent idle):",
            *(
                line(own, calls, name)
                for own, _, calls, _, name in sorted(rows, reverse=True)[:top]
            ),
            "    Solo's functions by time inclusive (each resumption of a coroutine is a call):",
            *(
                line(inclusive, calls, name)
                for _, inclusive, calls, _, name in sorted(ours, key=lambda row: -row[1])[:top]
            ),
        ]
    )


if __name__ == "__main__":
    main()
