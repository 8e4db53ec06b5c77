"""Fan-out: one public post to every follower's server, in three cases; and the burst.

    python -m bench fanout [--servers N] [--delay SECONDS] [--profile]
    python -m bench burst  [--profile]

The cases of `fanout` (issue 15, item 4), each with its own fleet and a hard time limit:

- **10,000 servers** (50,000 followers): ready → all delivered ≤ 5 s on 2 cores, which is
  about 3× the signing floor (10,000 RSA-2048 signatures on two threads, measured in the run);
- **10,000 servers answering after 200 ms** (`delay`): ≤ 10 s;
- **the celebrity**, 250,000 followers on 50,000 servers: ≤ 25 s with Solo's peak RSS ≤ 150 MB.

The issue set 5 s and 25 s as about 3× the signing floor of the machine it was measured on
(6,100 signatures/s on two threads). A machine that signs slower cannot reach them, so each case
without a delay also holds its time against 3× the floor measured in the same run: a separate
row, beside the absolute one, never instead of it.

`--servers N` runs one case of N servers (the quick one for development: `--servers 2000`),
its target scaled by N / 10,000; `--delay D` alone runs the delay case with D. The figures
are from ready (Solo's first answered request) because start-up has its own benchmark.

The post is made the way posting makes it. solo/actions/statuses.py `post` needs a running
Federation (fetcher, feeds, event bus, workers), which lives inside `solo serve`; so, before
`solo serve` starts, the bench writes what `post` writes: the status row, then the Create and
one push job per distinct inbox in one transaction with `enqueue_delivery` to the followers
(one INSERT … SELECT; its time and the Python memory it took are printed). Solo's push worker then
delivers; the fleet verifies every signature and records when each server first got the post.

Figures: ready → all delivered (against the target), server start and enqueue → all
delivered, Solo's CPU seconds over the deliveries (and per delivery: the figure a busy machine
changes least), and the Solo process's peak RSS (VmHWM, plus VmRSS sampled every 50 ms).

`burst`: the 10,000-server fan-out while 1,000 Likes and 100 reply Creates, from 1,100
distinct followers (keys already cached), arrive paced over 8 s; all must be answered 202 and
each must end as an ingress job (done, or dead for a handler not written yet): none lost.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench import loadgen, pyspy_top, summary
from bench.procs import CpuShare, Processes, cpu_seconds, each_thread, fleet_stats, proc_status
from bench.world import (
    FOLLOWERS_PER_HOST,
    HOSTS,
    World,
    applied,
    enqueue_post,
    generate_keys,
    job_counts,
    job_errors,
    populate,
)
from solo import urls
from solo.instance import initialise

TARGET_RSS_MB = 150.0
FLOOR_MULTIPLE = 3.0  # ready → all delivered over the signing floor measured in the run
DELIVERY_TIMEOUT = 180.0  # a hard stop, far beyond the target
FLOOR_SAMPLE = 1000  # signatures timed on two threads to find the signing floor


@dataclass(frozen=True)
class Case:
    name: str
    hosts: int
    delay: float  # every fleet answer held back this long
    target: float  # seconds, ready → all delivered
    timeout: float  # the hard stop of the case
    two_core: bool = False  # the target is "on 2 cores": not applied with `--cores 1`


TEN_THOUSAND = Case("10,000 servers", 10_000, 0.0, 5.0, 120.0, two_core=True)
SLOW = Case("10,000 servers answering after 200 ms", 10_000, 0.2, 10.0, 120.0)
CELEBRITY = Case("celebrity: 250,000 followers on 50,000 servers", 50_000, 0.0, 25.0, 300.0)


def cases(servers: int | None, delay: float) -> list[Case]:
    """What `python -m bench fanout` runs: the three cases, or the one its options ask for."""
    if servers:
        scale = servers / TEN_THOUSAND.hosts
        base = SLOW if delay else TEN_THOUSAND
        target = base.target * scale if not delay else max(base.target * scale, 2 * delay)
        name = f"{servers:,} servers" + (f" answering after {delay * 1000:.0f} ms" if delay else "")
        scaled = " (target scaled)" if target != base.target else ""
        return [replace(base, name=name + scaled, hosts=servers, delay=delay, target=target,
                        timeout=max(base.timeout, base.timeout * scale))]  # fmt: skip
    if delay:
        return [replace(SLOW, name=f"10,000 servers answering after {delay * 1000:.0f} ms",
                        delay=delay)]  # fmt: skip
    return [TEN_THOUSAND, SLOW, CELEBRITY]


def signing_floor(private_pem: str, deliveries: int) -> float:
    """Seconds that `deliveries` RSA-2048 signatures take on two threads, on this machine now
    (from a sample): no fan-out can be faster, and the 10,000-server target is 3× it."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    text = b"(request-target): post /inbox\nhost: h0001.test\ndate: x\ndigest: SHA-256=y"

    def sign(_: int) -> bytes:
        return key.sign(text, padding.PKCS1v15(), hashes.SHA256())

    with ThreadPoolExecutor(2) as threads:
        started = time.perf_counter()
        list(threads.map(sign, range(FLOOR_SAMPLE)))
        took = time.perf_counter() - started
    return took * deliveries / FLOOR_SAMPLE


async def main(*, profile: bool = False, delay: float = 0.0, servers: int | None = None) -> None:
    for case in cases(servers, delay):
        await run(case, profile=profile)


BURST_LIKES = 1000
BURST_REPLIES = 100
BURST_SECONDS = 8.0  # sent within 8 s, so that all have arrived within the 10 s of the target
DRAIN_TIMEOUT = 60.0
PENDING = ("queued", "running", "retrying")


def solo_public_key(db_path: Path) -> str:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT public_pem FROM keys WHERE owner = 'user'").fetchone()[0])
    finally:
        conn.close()


def burst_specs() -> list[loadgen.Spec]:
    """1,100 distinct followers (one per server): every 11th sends a reply, the others a Like."""
    total = BURST_LIKES + BURST_REPLIES
    assert total <= HOSTS and BURST_LIKES == 10 * BURST_REPLIES
    return [("reply" if k % 11 == 10 else "like", k, k % 5, k) for k in range(total)]


async def drain(db_path: Path, queue: str, limit: float) -> tuple[dict[str, int], float]:
    """Wait (at most `limit` s) until no job of `queue` is pending; returns the counts and the
    time waited."""
    started = time.monotonic()
    while True:
        counts = job_counts(db_path, queue)
        waited = time.monotonic() - started
        if not any(counts.get(state) for state in PENDING) or waited > limit:
            return counts, waited
        await asyncio.sleep(0.25)


async def run(case: Case = TEN_THOUSAND, *, burst: bool = False, profile: bool = False) -> None:
    name = "burst" if burst else "fanout"
    delay = case.delay
    world = World.allocate(hosts=case.hosts)
    with tempfile.TemporaryDirectory(prefix=f"solo-bench-{name}-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        prepared = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            keys = generate_keys(pool)
        await initialise(settings, "benchmark password")
        public_pems = [public for _, public in keys]
        status_id, note = populate(world, settings, public_pems)
        requests: list[bytes] = []
        if burst:
            with loadgen.signer_pool([private for private, _ in keys]) as signers:
                requests = loadgen.presign(
                    signers, world, note, urls.actor(settings), burst_specs()
                )
        posting = time.perf_counter()
        tracemalloc.start()
        jobs = await enqueue_post(settings, status_id)
        posting_memory = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        enqueued = time.time()
        posted = time.perf_counter() - posting
        floor = signing_floor(keys[0][0], jobs)
        print(
            f"{name} — {case.name}: set up {world.hosts:,} servers,"
            f" {world.hosts * FOLLOWERS_PER_HOST:,} followers, {jobs:,} push jobs in"
            f" {time.perf_counter() - prepared:.1f} s; posting's enqueue took {posted:.2f} s"
            f" (traced) and at most {posting_memory:.1f} MB of Python memory;"
            f" signing floor {floor:.2f} s"
            f" ({jobs:,} signatures on 2 threads)"
        )
        config = {
            "public_pems": public_pems,
            "solo_public_pem": solo_public_key(settings.db_path),
            "solo_key_id": urls.key_id(settings),
            "delay": delay,
        }
        with Processes(tmp, world) as procs:
            await procs.start_fleet(config)
            started = procs.start_solo(settings.data_dir)
            ready = await procs.wait_solo()
            assert procs.solo is not None
            pid = procs.solo.pid
            rss_at_ready = proc_status(pid, "VmRSS")
            cpu_at_ready = cpu_seconds(pid)
            share = CpuShare(procs)
            threads = ThreadShare(pid)
            if profile:
                procs.start_profiler(name)
            burst_task = None
            if burst:
                rate = len(requests) / BURST_SECONDS
                burst_task = asyncio.create_task(
                    loadgen.paced(requests, world.solo_port, rate, connections=32)
                )
            stats, peak_sampled = await watch(world, pid, jobs, case.timeout)
            peak = proc_status(pid, "VmHWM")
            cpu = cpu_seconds(pid)
            cpu_share = share.summary()
            thread_share = threads.summary(stats["hosts"])
            burst_results = await burst_task if burst_task is not None else None
            ingress = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT) if burst else None
            push = job_counts(settings.db_path, "push")
            profile_path = procs.stop_profiler()
            log_tail = procs.solo_log_tail()
        report(
            name,
            case,
            jobs,
            stats,
            (enqueued, started, ready),
            (peak, peak_sampled, rss_at_ready),
            (cpu, cpu - cpu_at_ready),
            floor,
        )
        summary.figure(
            f"{case.name}: least time this CPU allows",
            f"{share.least:.2f} s",
            "Solo, fleet, load generator; every core busy",
        )
        print(f"  ready → all delivered, {cpu_share}")
        print(f"  {thread_share}")
        print(f"  push jobs by state: {push}")
        if push.get("dead") or push.get("retrying"):
            print(f"  push errors: {job_errors(settings.db_path, 'push')}")
        if delay:
            print(f"  (every fleet answer held back {delay * 1000:.0f} ms, like a real network)")
        if burst_results is not None and ingress is not None:
            report_burst(burst_results.summary(), *ingress, settings.db_path, note)
        if stats["hosts"] < jobs:
            print(f"  Solo's log ends with:\n{log_tail}")
        if profile_path is not None:
            pyspy_top.report(profile_path)


def schedstat(pid: int) -> dict[int, tuple[float, float]]:
    """Per thread of `pid`: seconds on a CPU, and seconds runnable but waiting for one."""
    threads = {}
    for tid, text in each_thread(pid, "schedstat"):
        run, wait, _ = text.split()
        threads[tid] = (int(run) / 1e9, int(wait) / 1e9)
    return threads


class ThreadShare:
    """Where Solo's event loop spent a phase: on a CPU, runnable but waiting for one (the
    machine is busy), or neither: waiting on the GIL, on signatures or on the network (a
    bubble). Its CPU per delivery is the figure a busy machine changes least."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started = time.monotonic()
        self.first = schedstat(pid)

    def summary(self, deliveries: int) -> str:
        wall = max(time.monotonic() - self.started, 1e-9)
        last = schedstat(self.pid)
        run = {tid: r - self.first.get(tid, (0.0, 0.0))[0] for tid, (r, _) in last.items()}
        wait = {tid: w - self.first.get(tid, (0.0, 0.0))[1] for tid, (_, w) in last.items()}
        loop_run, loop_wait = run.pop(self.pid, 0.0), wait.pop(self.pid, 0.0)
        idle = max(0.0, 1 - (loop_run + loop_wait) / wall)
        return (
            f"Solo's event loop: on a CPU {loop_run / wall:.0%} of the time, waiting for a CPU"
            f" {loop_wait / wall:.0%}, neither (GIL, signatures, network) {idle:.0%};"
            f" {1000 * loop_run / max(deliveries, 1):.3f} ms of loop CPU per delivery;"
            f" its other threads (SQLite, signing) {sum(run.values()) / wall:.2f} cores,"
            f" waiting for a CPU {sum(wait.values()) / wall:.2f}"
        )


async def watch(
    world: World, pid: int, jobs: int, limit: float = DELIVERY_TIMEOUT
) -> tuple[dict[str, Any], float]:
    """Poll the fleet until every server has the post (or `limit` seconds), sampling Solo's
    RSS every 50 ms; returns the last fleet counters and the highest RSS sampled."""
    deadline = time.monotonic() + limit
    peak = 0.0
    stats: dict[str, Any] = {}
    tick = 0
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        while time.monotonic() < deadline:
            peak = max(peak, proc_status(pid, "VmRSS"))
            if tick % 4 == 0:
                stats = await fleet_stats(world, client)
                if stats["hosts"] >= jobs:
                    break
            tick += 1
            await asyncio.sleep(0.05)
    return stats, peak


def report(
    name: str,
    case: Case,
    jobs: int,
    stats: dict[str, Any],
    moments: tuple[float, float, float],
    memory: tuple[float, float, float],
    cpu: tuple[float, float],
    floor: float,
) -> None:
    enqueued, started, ready = moments
    peak, peak_sampled, rss_at_ready = memory
    cpu_total, cpu_delivering = cpu
    hosts = stats["hosts"]
    done = hosts >= jobs
    last = stats["last_new_host"] or time.time()
    from_ready = last - ready
    met = summary.verdict(
        f"{case.name}: ready → all delivered",
        f"{from_ready:.2f} s, {hosts:,}/{jobs:,}",
        f"≤ {case.target:g} s" + (" on 2 cores" if case.two_core else ""),
        done and from_ready <= case.target,
        two_core=case.two_core,
    )
    if not case.delay:
        summary.verdict(
            f"{case.name}: ready → all over the signing floor",
            f"{from_ready / max(floor, 1e-9):.2f}× of {floor:.2f} s",
            f"≤ {FLOOR_MULTIPLE:g}× (the issue's {case.target:g} s on its machine)",
            done and from_ready <= FLOOR_MULTIPLE * floor,
            two_core=case.two_core,
        )
    summary.figure(
        f"{case.name}: Solo's CPU per delivery",
        f"{1000 * cpu_delivering / max(hosts, 1):.3f} ms",
        "CPU, the figure a busy machine moves least",
    )
    rss_met = summary.verdict(
        f"{case.name}: Solo's peak RSS",
        f"{peak:.0f} MB",
        f"≤ {TARGET_RSS_MB:.0f} MB",
        peak <= TARGET_RSS_MB,
    )
    print(
        f"{name} — {case.name}: {hosts:,}/{jobs:,} inboxes delivered in {from_ready:.2f} s"
        f" from ready (target ≤ {case.target:g} s: {met}); peak RSS {peak:.0f} MB"
        f" (target ≤ {TARGET_RSS_MB:.0f} MB: {rss_met})"
    )
    first = (stats["first"] or last) - ready
    print(
        f"  {from_ready / max(floor, 1e-9):.1f}× the signing floor of {floor:.2f} s;"
        f" server start → all {last - started:.2f} s; enqueue → all {last - enqueued:.2f} s"
        f" (start → ready {ready - started:.2f} s, ready → first delivery {first:+.2f} s);"
        f" {hosts / max(from_ready, 1e-9):,.0f} inboxes/s from ready"
    )
    print(
        f"  Solo CPU {cpu_delivering:.2f} s from ready to all delivered"
        f" ({1000 * cpu_delivering / max(hosts, 1):.3f} ms per delivery), {cpu_total:.1f} s"
        f" in all; RSS at ready {rss_at_ready:.0f} MB, highest sampled {peak_sampled:.0f} MB"
    )
    print(
        f"  verified deliveries {stats['verified']:,} (duplicates {stats['verified'] - hosts:,}),"
        f" rejected {stats['rejected']:,} {stats['errors'] or ''}"
    )


def report_burst(
    results: dict[str, Any], counts: dict[str, int], waited: float, db_path: Path, note: str
) -> None:
    total = BURST_LIKES + BURST_REPLIES
    accepted = results["accepted"]
    stored = sum(counts.values())
    pending = sum(counts.get(state, 0) for state in PENDING)
    settled = counts.get("done", 0) + counts.get("dead", 0)
    met = summary.verdict(
        "Likes and replies during the fan-out",
        f"{accepted:,} accepted, {stored:,} stored, {pending:,} pending of {total:,}",
        "all accepted, applied, none lost",
        accepted == total and stored == total and pending == 0,
    )
    print(
        f"burst: {accepted:,}/{total:,} accepted (202) during the fan-out, {stored:,} ingress"
        f" jobs stored, {settled:,} settled and {pending:,} pending after {waited:.1f} s"
        f" (target: all accepted, all applied, none lost: {met})"
    )
    print(
        f"  ingress jobs by state: {counts} — done = applied; dead = dropped by the worker,"
        " see the errors"
    )
    for error, count in job_errors(db_path, "ingress"):
        print(f"    {count:,} × {error}")
    likes, replies = applied(db_path, note)
    print(
        f"  applied: {likes:,}/{BURST_LIKES:,} favourites recorded on the post,"
        f" {replies:,}/{BURST_REPLIES:,} replies stored"
    )
    print("  " + loadgen.describe("burst accept latency (paced 137/s)", results))
