"""Summarise a py-spy raw profile (`--format raw --threads`): where Solo's event loop went.

    python -m bench.pyspy_top PROFILE.txt

Solo runs on one event loop, so the main thread is what limits it; the summary is about that
thread. It prints the samples per thread, then for the main thread the functions with the most
samples of their own (the leaf of the stack: where the CPU was) and the functions by inclusive
samples (the leaf or anything it called: which code path cost the most), leaving out the frames
every stack shares. Line numbers are dropped so that a function counts once.

py-spy counts aiosqlite's worker threads as busy while they wait on their queue, so their share
overstates the time SQLite really takes; `SOLO_BENCH_PYSPY=--native` shows the C frames.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")
TOP_OWN = 15
TOP_INCLUSIVE = 30
SHARED = 0.97  # frames in at least this share of the stacks are the runner's, not news


def _function(frame: str) -> str:
    return _LINE.sub(")", frame.strip())


def load(path: Path) -> list[tuple[str, list[str], int]]:
    """(thread name, frames from the outermost, samples) per distinct stack."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        name = thread.partition(": ")[2] or thread
        stacks.append((name, [_function(frame) for frame in frames], int(count)))
    return stacks


def report(path: Path) -> None:
    stacks = load(path)
    total = sum(count for _, _, count in stacks)
    if not total:
        print(f"  profile {path}: no samples")
        return
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for thread, frames, count in stacks:
        threads[thread.split(" ")[0]] += count
        if not thread.startswith("MainThread") or not frames:
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    main = threads["MainThread"] or 1
    print(f"  profile {path}: {total:,} samples; by thread:")
    print("    " + ", ".join(f"{name} {n / total:.0%}" for name, n in threads.most_common(6)))
    print("  event loop (MainThread), own samples:")
    for frame, count in own.most_common(TOP_OWN):
        print(f"    {count / main:6.1%}  {frame}")
    print("  event loop (MainThread), inclusive samples:")
    shown = [(f, n) for f, n in inclusive.most_common() if n < SHARED * main][:TOP_INCLUSIVE]
    for frame, count in shown:
        print(f"    {count / main:6.1%}  {frame}")


if __name__ == "__main__":
    report(Path(sys.argv[1]))
