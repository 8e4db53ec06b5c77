"""The one table `python -m bench` ends with: every figure held against a target, its verdict,
and the cores the Solo processes of each benchmark were allowed to run on.

Each benchmark calls `verdict(...)` where it prints a figure beside its target; it returns the
word the benchmark prints ("MET", "MISSED", or "not applied" for a two-core target when Solo is
pinned to one core) and keeps a row for the table. `solo_process(pid)` (called by `pin_solo`,
and by `CpuShare` while a benchmark runs) reads `/proc/<pid>/task/*/status` Cpus_allowed_list,
so the table shows where each benchmark's Solo could really run, every thread included.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.proctree import tasks, tree

TWO_CORE = "two-core target, not applied"
# Where the targets were set, two threads signed 6,100 RSA-2048 signatures a second.
REFERENCE_SIGNATURES = 3050.0  # ... per thread
SPEED_SECONDS = 0.5  # how long each of the two speed probes runs


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: str
    target: str
    verdict: str


@dataclass
class Run:
    """What the current `python -m bench` run has recorded so far."""

    rows: list[Row] = field(default_factory=list)
    benchmark: str = "—"
    started: list[str] = field(default_factory=list)  # the benchmarks begun, in order
    cores: dict[str, set[str]] = field(default_factory=dict)  # benchmark → cores seen
    failed: dict[str, str] = field(default_factory=dict)  # benchmark → the error
    others: dict[str, float] = field(default_factory=dict)  # benchmark → most cores others used


RUN = Run()


def pinned_cores() -> int:
    """The `--cores N` of this run (0: not pinned)."""
    return int(os.environ.get("SOLO_BENCH_CORES", "0") or 0)


def event_loop() -> str:
    """The `--loop` of this run: the event loop every `solo` it starts runs on."""
    return "uvloop" if os.environ.get("SOLO_EVENT_LOOP") == "uvloop" else "asyncio"


def begin(benchmark: str) -> None:
    RUN.benchmark = benchmark
    RUN.started.append(benchmark)


def failed(benchmark: str, error: BaseException) -> None:
    RUN.failed[benchmark] = f"{type(error).__name__}: {error}"


def verdict(figure: str, value: str, target: str, ok: bool, *, two_core: bool = False) -> str:
    """Record one figure for the table; returns the word to print beside it."""
    word = "MET" if ok else "MISSED"
    if two_core and 0 < pinned_cores() < 2:
        word = TWO_CORE
    RUN.rows.append(Row(RUN.benchmark, figure, value, target, word))
    return "not applied (a two-core target)" if word == TWO_CORE else word


def _allowed(task: Path) -> str | None:
    try:
        status = (task / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return None


def figure(name: str, value: str, note: str = "reported, no numeric target") -> None:
    """Record a figure the issue asks to see but holds against no number."""
    RUN.rows.append(Row(RUN.benchmark, name, value, note, "—"))


def others_busy(cores: float) -> None:
    """Note how many cores other processes (not Solo, the fleet or the benchmark) used during a
    measured phase: the table shows the most of each benchmark, so a figure taken on a busy
    machine says so."""
    RUN.others[RUN.benchmark] = max(cores, RUN.others.get(RUN.benchmark, 0.0))


def allowed_cores(pid: int) -> set[str]:
    """Cpus_allowed_list of every thread of `pid` and of its descendants (Solo's signing
    process); empty once it has exited."""
    return {
        cores for each in tree(pid) for task in tasks(each) if (cores := _allowed(task)) is not None
    }


def thread_cores(pid: int, thread: int) -> None:
    """Note the cores of one thread of this process that runs Solo's code in-process."""
    cores = _allowed(Path(f"/proc/{pid}/task/{thread}"))
    if cores is not None:
        RUN.cores.setdefault(RUN.benchmark, set()).add(cores)


def solo_process(pid: int) -> None:
    """Note the cores a Solo process (or a process running Solo's code) may run on."""
    RUN.cores.setdefault(RUN.benchmark, set()).update(allowed_cores(pid))


def _pinning(benchmark: str, wanted: str) -> str:
    seen = RUN.cores.get(benchmark)
    if not seen:
        return "no Solo process seen"
    text = " ".join(sorted(seen))
    if wanted and seen != {wanted}:
        return f"{text} NOT PINNED to {wanted}"
    return text


def table(seconds: float) -> str:
    """The table, benchmark by benchmark, in the order they ran."""
    cores = pinned_cores()
    wanted = os.environ.get("SOLO_BENCH_SOLO_SET", "").replace(",", " ") if cores else ""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    where = f"Solo pinned to {cores} core(s): {wanted}" if cores else "Solo unpinned"
    where += f", on {event_loop()}'s event loop"
    if os.environ.get("SOLO_BENCH_QUICK"):
        where += "; QUICK sizes (--quick), not the issue's: the verdicts are only indicative"
    lines = [
        f"summary: {where}; {os.cpu_count()} cores in the machine; load average {load};"
        f" {seconds / 60:.1f} min in all",
    ]
    rows: list[tuple[str, ...]] = [("benchmark", "figure", "measured", "target", "verdict")]
    benchmarks = dict.fromkeys(RUN.started + [row.benchmark for row in RUN.rows] + [*RUN.failed])
    for benchmark in benchmarks:
        mine = [
            (r.figure, r.value, r.target, r.verdict) for r in RUN.rows if r.benchmark == benchmark
        ]
        if benchmark in RUN.failed:
            mine.append(("FAILED", RUN.failed[benchmark][:60], "", "MISSED"))
        others = RUN.others.get(benchmark)
        busy = f"other processes used up to {others:.2f} cores" if others is not None else ""
        mine.append(("Solo's cores", _pinning(benchmark, wanted), busy, ""))
        rows.extend((benchmark if n == 0 else "", *cells) for n, cells in enumerate(mine))
    widths = [max(len(cells[column]) for cells in rows) for column in range(5)]
    for number, cells in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    counts = {word: sum(row.verdict == word for row in RUN.rows) for word in ("MET", "MISSED")}
    lines.append(
        f"{counts['MET']} MET, {counts['MISSED'] + len(RUN.failed)} MISSED,"
        f" {sum(row.verdict == TWO_CORE for row in RUN.rows)} two-core targets not applied"
    )
    return "\n".join(line.rstrip() for line in lines)


def machine_speed() -> str:
    """How fast this machine is now, measured in about a second on one thread: RSA-2048
    signatures a second (two thirds of a delivery's CPU) and a pure-Python loop (the rest).

    The host under this machine moves: on two days in a row the same code signed 1,509
    and 1,062 times a second and delivered to 10,000 servers in 7.8 and 13.4 s. Printed with
    the table, so that a figure can be read against the speed of the day it was measured on.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    from solo.federation.signatures import rsa_sign

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    text = b"(request-target): post /inbox\nhost: example.net\ndate: now\ndigest: x"
    signed = 0
    began = time.perf_counter()
    while time.perf_counter() - began < SPEED_SECONDS:
        rsa_sign(key, text)
        signed += 1
    per_second = signed / (time.perf_counter() - began)
    rounds = 0
    began = time.perf_counter()
    while time.perf_counter() - began < SPEED_SECONDS:
        total = 0
        for number in range(10_000):
            total += number
        rounds += 1
    python_ms = (time.perf_counter() - began) / rounds * 100 * 1000  # 1,000,000 additions, ms
    return (
        f"machine speed now: RSA-2048 {per_second:,.0f} signatures/s on one thread"
        f" ({per_second / REFERENCE_SIGNATURES:.2f}× the issue's machine);"
        f" 1,000,000 pure-Python additions in {python_ms:.0f} ms"
    )
