"""A process and its descendants, from /proc: Solo and its signing process."""

from __future__ import annotations

from pathlib import Path


def tree(pid: int) -> list[int]:
    """`pid` and its descendants still running: Solo's signing process (`sign_worker`, started
    for a burst of signatures) is Solo too, and every figure of Solo's CPU, memory and cores
    counts it."""
    pids, at = [pid], 0
    while at < len(pids):
        for task in tasks(pids[at]):
            try:
                pids.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue  # ended meanwhile
        at += 1
    return pids


def tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []  # ended meanwhile
