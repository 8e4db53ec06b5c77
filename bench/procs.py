"""The processes of a federation benchmark: the fleet, `solo serve`, and optionally py-spy.

`Processes` starts them and, as a context manager, always stops every one of them: the fleet and
Solo with SIGTERM (SIGKILL after 10 s), py-spy with SIGINT so that it writes its profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from bench import cprofiled, summary
from bench.proctree import tasks, tree
from bench.world import World, free_port

READY_TIMEOUT = 60.0
PYSPY_EXTRA = os.environ.get("SOLO_BENCH_PYSPY", "").split()  # e.g. "--native"
CPROFILE = os.environ.get("SOLO_BENCH_CPROFILE", "")  # a directory: `solo serve` under cProfile


def _given_away() -> set[int]:
    given = os.environ.get("SOLO_BENCH_SOLO_SET", "")
    return {int(core) for core in given.split(",") if core}


def pin_bench(cores: int) -> str:
    """For `--cores N`: Solo's processes get the first N cores of this machine, and this
    process (load generator, fleet) the others, so that a Pi-class single core is measured
    without the load generator on it. What runs Solo's code goes to Solo's cores: `pin_solo`
    for processes, `on_solo_cores` for a phase timed in this one."""
    available = sorted(os.sched_getaffinity(0))
    if cores >= len(available):
        raise SystemExit(f"--cores {cores}: this machine gives only {len(available)}")
    solo = available[:cores]
    rest = available[cores:]
    os.environ["SOLO_BENCH_CORES"] = str(cores)
    os.environ["SOLO_BENCH_SOLO_SET"] = ",".join(map(str, solo))
    os.sched_setaffinity(0, rest)
    return (
        f"Solo pinned to core(s) {solo} (its processes, and the phases timing its code in this"
        f" one); load generator and fleet on {rest}"
    )


def pin_solo(pid: int) -> None:
    """Pin a process running Solo's code (`solo serve`, `solo backup`, the bare endpoint Solo is
    compared with…) to `--cores`' cores (nothing without --cores), at once after it was
    spawned, before it starts any thread; the cores it got go into the summary table."""
    cores = _given_away()
    if cores:
        os.sched_setaffinity(pid, cores)
    summary.solo_process(pid)


@contextlib.contextmanager
def on_solo_cores() -> Iterator[None]:
    """Run the block — a phase that measures Solo's code in this process (the feed rebuild, the
    search indexer, the retention prune) — on Solo's cores under `--cores`: this thread's
    affinity, which the threads it starts (aiosqlite's) inherit, is set for the block and then
    given back."""
    cores = _given_away()
    if not cores:
        yield
        return
    thread = threading.get_native_id()
    before = os.sched_getaffinity(thread)
    os.sched_setaffinity(thread, cores)
    summary.thread_cores(os.getpid(), thread)
    try:
        yield
    finally:
        os.sched_setaffinity(thread, before)


def proc_status(pid: int, field: str) -> float:
    """A VmRSS/VmHWM-like field of /proc/PID/status, in MB, summed over `pid` and its
    descendants (`tree`: an upper bound, as each counts the pages of shared libraries)."""
    total, found = 0.0, False
    for each in tree(pid):
        try:
            text = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(f"{field}:"):
                total += int(line.split()[1]) / 1024
                found = True
    if not found:
        raise RuntimeError(f"no {field} for {pid}")
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far, its descendants' included: those
    running (`tree`) and those ended and waited for (cutime, cstime)."""
    total = 0.0
    for each in tree(pid):
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            continue
        user, system = user_system(stat)
        total += user + system
        if each == pid:
            fields = stat.rpartition(")")[2].split()
            total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


def user_system(stat: str) -> tuple[float, float]:
    """User and system CPU seconds from the text of a /proc/PID/stat (or a thread's) file."""
    fields = stat.rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def each_thread(pid: int, name: str) -> Iterator[tuple[int, str]]:
    """(thread id, text of /proc/PID/task/TID/`name`) for each thread of `pid` and of its
    descendants (`tree`) still there."""
    for each in tree(pid):
        for task in tasks(each):
            try:
                text = (task / name).read_text()
            except OSError:
                continue  # a thread that ended meanwhile
            yield int(task.name), text


ThreadCpu = dict[str, tuple[float, float]]


def thread_cpu(pid: int) -> ThreadCpu:
    """User and system CPU seconds of the process's event loop (its main thread) and of its
    other threads together (SQLite, signing: threads or the signing process): Python 3.11 names
    no thread for the system."""
    by_name: ThreadCpu = {}
    for tid, stat in each_thread(pid, "stat"):
        name = "event loop" if tid == pid else "other threads"
        user, system = by_name.get(name, (0.0, 0.0))
        thread_user, thread_system = user_system(stat)
        by_name[name] = (user + thread_user, system + thread_system)
    return by_name


def per_request(before: ThreadCpu, after: ThreadCpu, count: int, *, unit: str = "ms") -> str:
    """Each of `thread_cpu`'s CPU per request between `before` and `after`, user + system, in
    `unit` (ms or µs), busiest first."""
    scale, digits = (1e3, 2) if unit == "ms" else (1e6, 0)
    rows = []
    for name, (user, system) in after.items():
        user0, system0 = before.get(name, (0.0, 0.0))
        rows.append((user - user0, system - system0, name))
    rows.sort(reverse=True, key=lambda row: row[0] + row[1])
    count = max(1, count)
    return ", ".join(
        f"{name} {scale * user / count:.{digits}f}+{scale * system / count:.{digits}f}"
        for user, system, name in rows
        if user + system > 0
    )


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """Who used the CPU during a phase: Solo, the fleet, this process, and everything else
    (others' tests, say): a figure taken while the machine was busy says so."""

    def __init__(self, procs: Processes) -> None:
        self.procs = procs
        self.start = self._sample()
        # Set by `summary`: the least wall time the phase's CPU (Solo, fleet, load generator)
        # could take with every core each may use busy throughout, Solo on its own cores under
        # --cores. A target below it cannot be met at this CPU per request.
        self.least = 0.0

    def _sample(self) -> tuple[float, float, float, float, float]:
        solo = 0.0
        if self.procs.solo is not None:
            solo = cpu_seconds(self.procs.solo.pid)
            summary.solo_process(self.procs.solo.pid)  # every thread, while it works
        return (time.monotonic(), machine_busy(), solo, self.procs.fleet_cpu(),
                time.process_time())  # fmt: skip

    def summary(self) -> str:
        end = self._sample()
        wall, busy, solo, fleet, bench = (b - a for a, b in zip(self.start, end, strict=True))
        others = max(0.0, busy - solo - fleet - bench)
        wall = max(wall, 1e-9)
        summary.others_busy(others / wall)
        cores = os.cpu_count() or 1
        solo_cores = summary.pinned_cores() or cores
        self.least = max(solo / solo_cores, (solo + fleet + bench) / cores)
        return (
            f"CPU in cores: Solo {solo / wall:.2f}, fleet {fleet / wall:.2f}, load generator"
            f" {bench / wall:.2f}, other processes {others / wall:.2f} (of {cores}); with every"
            f" core busy throughout, this CPU would take {self.least:.2f} s at the least"
        )


class Processes:
    """Owns every child process of one benchmark run."""

    def __init__(self, tmp: Path, world: World) -> None:
        self.tmp = tmp
        self.world = world
        self.children: list[subprocess.Popen[bytes]] = []
        self.fleet: list[subprocess.Popen[bytes]] = []
        self.solo: subprocess.Popen[bytes] | None = None
        self.profiler: subprocess.Popen[bytes] | None = None
        self.profile_path: Path | None = None
        self.solos: list[int] = []  # each `solo serve` started, for its cProfile

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_profiler()
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for pid in self.solos if CPROFILE else ():
            path = Path(CPROFILE) / f"solo-{pid}.prof"
            print(cprofiled.report(path) if path.exists() else f"  (no cProfile at {path})")

    def _spawn(self, args: list[str], log: str, env: dict[str, str] | None = None) -> Any:
        with (self.tmp / log).open("wb") as out:
            child = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path.cwd()
            )
        self.children.append(child)
        return child

    async def start_fleet(self, config: dict[str, Any]) -> None:
        """The fleet processes, each on its share of the ports; returns once all answer."""
        path = self.tmp / "fleet.json"
        path.write_text(json.dumps(config))
        for process in range(self.world.fleet_processes):
            ports = [str(port) for port in self.world.process_ports(process)]
            child = self._spawn(
                [sys.executable, "-m", "bench.fleet", str(path), *ports], f"fleet-{process}.log"
            )
            self.fleet.append(child)
        for process, child in enumerate(self.fleet):
            for port in self.world.process_ports(process):
                await _wait_answer(f"http://127.0.0.1:{port}/_stats", {}, child)

    def fleet_cpu(self) -> float:
        """CPU seconds the fleet processes have used: the fleet must not be the bottleneck."""
        return sum(cpu_seconds(child.pid) for child in self.fleet)

    async def bare_endpoint(self, keys: dict[str, str]) -> tuple[int, subprocess.Popen[bytes]]:
        """bench.bare on a port of its own with `keys` (keyId → public PEM); returns once it
        answers. Stop it with `stop_child` when its phase is over."""
        path = self.tmp / "bare.json"
        path.write_text(json.dumps({"keys": keys}))
        port = free_port()
        child = self._spawn([sys.executable, "-m", "bench.bare", str(path), str(port)], "bare.log")
        pin_solo(child.pid)  # the ratio compares Solo and the bare endpoint on the same cores
        await _wait_answer(f"http://127.0.0.1:{port}/inbox", {}, child)
        return port, child

    def stop_child(self, child: subprocess.Popen[bytes]) -> None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def start_solo(self, data_dir: Path) -> float:
        """`python -m solo serve` on the world's port; returns the time it was started."""
        env = {
            **os.environ,
            "SOLO_DATA_DIR": str(data_dir),
            "SOLO_PORT": str(self.world.solo_port),
            "SOLO_DOMAIN": self.world.solo_domain,
            "SOLO_SCHEME": "http",
            "SOLO_USERNAME": "bench",
            "SOLO_ALLOW_PRIVATE_ADDRESSES": "true",
            "SOLO_RESOLVE": "*.test=127.0.0.1",
        }
        started = time.time()
        command = ["-m", "solo", "serve"]
        if CPROFILE:  # see bench/cprofiled.py
            Path(CPROFILE).mkdir(parents=True, exist_ok=True)
            command = ["-m", "bench.cprofiled", CPROFILE, "serve"]
        self.solo = self._spawn([sys.executable, *command], "solo.log", env)
        self.solos.append(self.solo.pid)
        pin_solo(self.solo.pid)
        return started

    async def wait_solo(self) -> float:
        """Wait until Solo answers a request; returns when it did."""
        assert self.solo is not None
        await _wait_answer(
            f"http://127.0.0.1:{self.world.solo_port}/.well-known/nodeinfo",
            {"Host": self.world.solo_domain},
            self.solo,
        )
        return time.time()

    def start_profiler(self, name: str) -> None:
        """Attach py-spy to Solo (raw collapsed stacks, every thread); see bench/pyspy_top.py."""
        assert self.solo is not None
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(py_spy).exists():
            print("  --profile needs py-spy: .venv/bin/pip install py-spy (not a dependency)")
            return
        self.profile_path = Path(tempfile.gettempdir()) / f"solo-{name}.pyspy.txt"
        with (self.tmp / "py-spy.log").open("wb") as log:
            self.profiler = subprocess.Popen(
                [py_spy, "record", "--pid", str(self.solo.pid), "--format", "raw", "--threads",
                 "--rate", "200", *PYSPY_EXTRA, "--output", str(self.profile_path)],
                stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    def stop_profiler(self) -> Path | None:
        if self.profiler is None:
            return None
        profiler, self.profiler = self.profiler, None
        if profiler.poll() is None:
            profiler.send_signal(signal.SIGINT)
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait()
        return self.profile_path

    def solo_log_tail(self, lines: int = 15) -> str:
        text = (self.tmp / "solo.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


async def _wait_answer(url: str, headers: dict[str, str], child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while True:
            try:
                await client.get(url, headers=headers)
                return
            except httpx.TransportError:
                if child.poll() is not None:
                    raise RuntimeError(f"{child.args!r} exited with {child.returncode}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT} s") from None
                await asyncio.sleep(0.005)


async def fleet_stats(world: World, client: httpx.AsyncClient) -> dict[str, Any]:
    """The fleet's counters, summed over its processes."""
    ports = [world.process_ports(process)[0] for process in range(world.fleet_processes)]
    total: dict[str, Any] = {"verified": 0, "hosts": 0, "rejected": 0, "actor_gets": 0}
    firsts: list[float] = []
    lasts: list[float] = []
    errors: dict[str, int] = {}
    actor_get_at: dict[str, float] = {}
    for port in ports:
        stats = (await client.get(f"http://127.0.0.1:{port}/_stats")).json()
        actor_get_at.update(stats["actor_get_at"])
        for name in total:
            total[name] += stats[name]
        if stats["first"] is not None:
            firsts.append(stats["first"])
            lasts.append(stats["last_new_host"])
        for kind, count in stats["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    total["first"] = min(firsts, default=None)
    total["last_new_host"] = max(lasts, default=None)
    total["errors"] = errors
    total["actor_get_at"] = actor_get_at
    return total
