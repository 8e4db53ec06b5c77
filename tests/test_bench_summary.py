"""`python -m bench`'s closing table and `--cores`' pinning (bench/summary.py, bench/procs.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from bench import procs, summary


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[summary.Run]:
    """A fresh record, as a new `python -m bench` starts with; no --cores unless a test sets it."""
    fresh = summary.Run()
    monkeypatch.setattr(summary, "RUN", fresh)
    monkeypatch.delenv("SOLO_BENCH_CORES", raising=False)
    monkeypatch.delenv("SOLO_BENCH_SOLO_SET", raising=False)
    yield fresh


def two_cores() -> list[int]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("needs two cores to pin one away")
    return cores


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield child
    child.kill()
    child.wait()


def test_the_table_holds_every_figure_against_its_target(run: summary.Run) -> None:
    summary.begin("ingress")
    assert summary.verdict("accepted/s", "2,400/s", "≥ 1,500/s", True) == "MET"
    assert summary.verdict("p99 at 500/s", "80 ms", "≤ 50 ms", False) == "MISSED"
    summary.others_busy(0.4)
    summary.others_busy(1.3)  # the busiest phase is the one shown
    summary.begin("sdcard")
    summary.figure("written per idle hour", "0.20 MB")
    summary.failed("wire", RuntimeError("solo serve did not start"))

    table = summary.table(125.0)

    lines = table.splitlines()
    assert "Solo unpinned" in lines[0] and "2.1 min in all" in lines[0]
    assert "load average" in lines[0]
    assert lines[1].split() == ["benchmark", "figure", "measured", "target", "verdict"]
    body = "\n".join(lines[3:])
    assert "ingress    accepted/s" in body and body.index("ingress") < body.index("sdcard")
    assert "2,400/s" in body and "≥ 1,500/s" in body
    assert "FAILED" in body and "solo serve did not start" in body
    assert "other processes used up to 1.30 cores" in body
    assert lines[-1] == "1 MET, 2 MISSED, 0 two-core targets not applied"


def test_the_machine_speed_is_measured_against_the_issues_machine() -> None:
    began = time.perf_counter()
    line = summary.machine_speed()
    assert time.perf_counter() - began < 5  # two probes of half a second, and a key made
    match = re.fullmatch(
        r"machine speed now: RSA-2048 ([\d,]+) signatures/s on one thread \(([\d.]+)× the"
        r" issue's machine\); 1,000,000 pure-Python additions in (\d+) ms",
        line,
    )
    assert match is not None, line
    signatures = float(match[1].replace(",", ""))
    assert signatures > 0 and float(match[3]) > 0
    assert float(match[2]) == pytest.approx(signatures / summary.REFERENCE_SIGNATURES, abs=0.01)


def test_a_two_core_target_is_held_on_two_cores_and_not_on_one(
    run: summary.Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary.begin("fanout")
    assert summary.verdict("10,000 servers", "6.1 s", "≤ 5 s on 2 cores", False, two_core=True) == (
        "MISSED"
    )
    monkeypatch.setenv("SOLO_BENCH_CORES", "1")
    monkeypatch.setenv("SOLO_BENCH_SOLO_SET", "0")
    word = summary.verdict("10,000 servers", "7.9 s", "≤ 5 s on 2 cores", False, two_core=True)
    assert word == "not applied (a two-core target)"
    assert summary.verdict("celebrity", "21 s", "≤ 25 s", True) == "MET"

    table = summary.table(60.0)

    assert "Solo pinned to 1 core(s): 0" in table
    assert summary.TWO_CORE in table
    assert table.splitlines()[-1] == "1 MET, 1 MISSED, 1 two-core targets not applied"


def test_pin_solo_pins_the_process_and_the_table_shows_where_it_ran(
    run: summary.Run, monkeypatch: pytest.MonkeyPatch, sleeper: subprocess.Popen[bytes]
) -> None:
    solo_core = two_cores()[0]
    monkeypatch.setenv("SOLO_BENCH_CORES", "1")
    monkeypatch.setenv("SOLO_BENCH_SOLO_SET", str(solo_core))
    summary.begin("timelines")

    procs.pin_solo(sleeper.pid)

    assert os.sched_getaffinity(sleeper.pid) == {solo_core}
    assert summary.allowed_cores(sleeper.pid) == {str(solo_core)}
    cores_line = next(line for line in summary.table(1.0).splitlines() if "Solo's cores" in line)
    assert cores_line.split()[-1] == str(solo_core)


def test_a_solo_process_left_unpinned_is_called_out(
    run: summary.Run, monkeypatch: pytest.MonkeyPatch, sleeper: subprocess.Popen[bytes]
) -> None:
    cores = two_cores()
    summary.begin("wire")
    summary.solo_process(sleeper.pid)  # seen, but never pinned
    monkeypatch.setenv("SOLO_BENCH_CORES", "1")
    monkeypatch.setenv("SOLO_BENCH_SOLO_SET", str(cores[0]))

    assert f"NOT PINNED to {cores[0]}" in summary.table(1.0)


def test_a_benchmark_without_a_solo_process_says_so(run: summary.Run) -> None:
    summary.begin("archive")
    summary.verdict("import", "60 s", "≤ 120 s", True)

    assert "no Solo process seen" in summary.table(1.0)


def test_in_process_phases_run_on_solo_cores_then_give_them_back(
    run: summary.Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    cores = two_cores()
    monkeypatch.setenv("SOLO_BENCH_CORES", "1")
    monkeypatch.setenv("SOLO_BENCH_SOLO_SET", str(cores[-1]))
    summary.begin("search")
    before = os.sched_getaffinity(0)
    inside: dict[str, set[int]] = {}

    with procs.on_solo_cores():
        inside["thread"] = os.sched_getaffinity(0)
        worker = threading.Thread(target=lambda: inside.update(worker=os.sched_getaffinity(0)))
        worker.start()
        worker.join()

    assert inside == {"thread": {cores[-1]}, "worker": {cores[-1]}}
    assert os.sched_getaffinity(0) == before
    assert run.cores["search"] == {str(cores[-1])}
