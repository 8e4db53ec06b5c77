"""Ingress: signed inbox POSTs from many actors, accepted (verified, stored, 202) by Solo.

    python -m bench ingress [--profile] [--concurrency N]

Likes of the Solo user's status, from 2,000 fleet actors Solo has never seen (`uJ` with J ≥ 5,
so not among the 50,000 seeded followers), POSTed to the shared inbox over keep-alive sockets.
Phases, each bounded in count and time:

1. cold: one request per actor (32 connections): each makes Solo fetch the actor's key.
2. sustained: closed loop over `--concurrency` connections for 10 s in two halves of 5 s
   (keys now cached): the most accepted per second.
3. paced: 500 per second for 10 s (open loop): p50/p99 accept latency, counted from the moment
   each request was due.

Around the sustained halves, the same requests go to `bench.bare` — a bare Starlette + uvicorn
endpoint that only reads the body and verifies the signature — for the machine's floor, 5 s
before Solo's first half and 5 s after its second (bare, Solo, Solo, bare: on a machine whose
speed drifts, both get the same minutes). Solo's sustained rate is reported as a fraction of the
bare endpoint's (target ≥ 0.7); and so is its rate per CPU-second of the server process (Solo's
with its ingress worker), which another load on the machine during one of the phases does not
skew.

Between phases the ingress queue is left to drain (bounded), so each phase starts from an
empty backlog; how fast it drains is the ingress worker's rate for these activities.

4. backlog: Solo stopped, 26,000 accepted Likes of the post from distinct seeded actors are
   queued in its database (each one a favourite and a notification to apply), Solo started
   again: the jobs applied per second from its first answer until the queue is empty is the
   apply rate (target ≥ 2,000 jobs/s), whatever the accept rate.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import loadgen, pyspy_top, summary
from bench.fanout import PENDING, drain, solo_public_key
from bench.procs import CpuShare, Processes, cpu_seconds, per_request, thread_cpu
from bench.world import (
    World,
    applied,
    generate_keys,
    job_counts,
    job_errors,
    key_index,
    like,
    populate,
)
from solo import jobs, urls
from solo.instance import initialise

TARGET_RATE = 1500.0
TARGET_P99 = 0.050
TARGET_DRAIN = 2000.0  # jobs/s applied from the backlog the sustained phase leaves
TARGET_BARE_RATIO = 0.7  # Solo's sustained rate over the bare verify endpoint's, same run
COLD_ACTORS = 2000
COLD_CONCURRENCY = 32
SUSTAINED_SECONDS = 10.0
SUSTAINED_REQUESTS = 80_000  # two halves, each enough for 8,000/s over 5 s (or it ends early)
PACED_RATE = 500.0
PACED_SECONDS = 10.0
PACED_CONNECTIONS = 64
DRAIN_TIMEOUT = 60.0
STRANGER = 5  # user number of the actors: followers are u0…u4
BACKLOG = 26_000  # Likes queued while Solo is stopped, for the apply rate


def queue_likes(db_path: Path, note: str, count: int) -> int:
    """Queue `count` accepted Likes of `note` from distinct actors, as the inbox stores them."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        actors = [
            row[0] for row in conn.execute("SELECT ap_id FROM actors ORDER BY id LIMIT ?", (count,))
        ]
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        for actor in actors:
            activity = like(actor, 0, note)
            conn.execute(
                "INSERT OR IGNORE INTO activities (ap_id, type, local, created_at)"
                " VALUES (?, ?, 0, ?)",
                (activity["id"], "Like", now),
            )
            payload = {"activity": activity, "actor": actor}
            conn.execute(jobs.INSERT_JOB, jobs.job_row("ingress", payload, now=now))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return len(actors)


def time_wait() -> int | None:
    """Sockets of the machine in TIME_WAIT (Linux's /proc/net/sockstat), or None if unknown.

    A benchmark run just before (the fan-out's celebrity opens 50,000 connections) can leave
    tens of thousands, which make every connect() search for a free port: printed beside the
    figures, so that a run after another can be told from a run on a quiet machine."""
    try:
        text = Path("/proc/net/sockstat").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("tw") + 1]) if "tw" in fields else None
    return None


async def _slice(
    requests: list[bytes], port: int, concurrency: int, pid: int
) -> tuple[loadgen.Results, float]:
    """Half of the sustained phase against the server on `port`, whose process is `pid`: what
    it answered, and the CPU seconds it used meanwhile."""
    began = cpu_seconds(pid)
    results = await loadgen.closed_loop(requests, port, concurrency, SUSTAINED_SECONDS / 2)
    return results, cpu_seconds(pid) - began


def done_count(db_path: Path) -> int:
    return job_counts(db_path, "ingress").get("done", 0)


def specs(first_seq: int, count: int) -> list[loadgen.Spec]:
    """`count` Likes with distinct ids, from the COLD_ACTORS strangers in turn."""
    return [
        ("like", seq % COLD_ACTORS, STRANGER, seq) for seq in range(first_seq, first_seq + count)
    ]


async def run(*, profile: bool = False, concurrency: int = 64) -> None:
    world = World.allocate()
    paced_count = int(PACED_RATE * PACED_SECONDS)
    with tempfile.TemporaryDirectory(prefix="solo-bench-ingress-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            keys = generate_keys(pool)
        await initialise(settings, "benchmark password")
        public_pems = [public for _, public in keys]
        _, note = populate(world, settings, public_pems)
        with loadgen.signer_pool([private for private, _ in keys]) as signers:
            signed = loadgen.presign(
                signers, world, note, urls.actor(settings),
                specs(0, COLD_ACTORS + SUSTAINED_REQUESTS + paced_count),
            )  # fmt: skip
        cold = signed[:COLD_ACTORS]
        sustained = signed[COLD_ACTORS : COLD_ACTORS + SUSTAINED_REQUESTS]
        paced = signed[COLD_ACTORS + SUSTAINED_REQUESTS :]
        setup = time.perf_counter() - began
        print(
            f"ingress: signed {len(signed):,} requests, set up in {setup:.1f} s;"
            f" sockets in TIME_WAIT: {time_wait()}"
        )
        config = {
            "public_pems": public_pems,
            "solo_public_pem": solo_public_key(settings.db_path),
            "solo_key_id": urls.key_id(settings),
        }
        port = world.solo_port
        with Processes(tmp, world) as procs:
            await procs.start_fleet(config)
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            assert procs.solo is not None
            solo_pid = procs.solo.pid

            cold_results = (await loadgen.closed_loop(cold, port, COLD_CONCURRENCY, 60)).summary()
            cold_drain = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)

            bare_port, bare = await procs.bare_endpoint(
                {f"{world.actor(i, STRANGER)}#main-key": public_pems[key_index(i, STRANGER)]
                 for i in range(COLD_ACTORS)}
            )  # fmt: skip
            waiting_sockets = time_wait()
            # Bare, Solo, Solo, bare: a machine that slows down or speeds up during the phase
            # weighs on both alike. Each Solo half sends requests of its own (Solo would drop a
            # request it has seen as a duplicate); the bare endpoint keeps no state.
            first_half = sustained[: len(sustained) // 2]
            second_half = sustained[len(sustained) // 2 :]
            bare_first, bare_cpu = await _slice(first_half, bare_port, concurrency, bare.pid)
            share = CpuShare(procs)
            hot_first, solo_cpu = await _slice(first_half, port, concurrency, solo_pid)
            first_cpu = share.summary()
            # The bare endpoint does not apply what it accepts: Solo's worker catches up
            # between the halves, so that neither half pays for the other's backlog.
            between_drain = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)
            if profile:  # the second half alone: the drain before it is the worker's time
                procs.start_profiler("ingress-sustained")
            share = CpuShare(procs)
            threads = thread_cpu(solo_pid)
            hot_second, cpu = await _slice(second_half, port, concurrency, solo_pid)
            solo_cpu += cpu
            second_cpu = share.summary()
            second_threads = per_request(
                threads, thread_cpu(solo_pid), hot_second.summary()["accepted"], unit="µs"
            )
            profile_path = procs.stop_profiler()
            backlog = job_counts(settings.db_path, "ingress")
            hot_drain = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)
            bare_second, cpu = await _slice(first_half, bare_port, concurrency, bare.pid)
            bare_cpu += cpu
            procs.stop_child(bare)
            bare_results = loadgen.summarise([bare_first, bare_second])
            hot_results = loadgen.summarise([hot_first, hot_second])

            share = CpuShare(procs)
            paced_results = (
                await loadgen.paced(paced, port, PACED_RATE, PACED_CONNECTIONS)
            ).summary()
            paced_cpu = share.summary()
            paced_drain = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)

            assert procs.solo is not None
            procs.stop_child(procs.solo)
            queued = queue_likes(settings.db_path, note, BACKLOG)
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            if profile:
                procs.start_profiler("ingress-apply")
            done_before = done_count(settings.db_path)
            share = CpuShare(procs)
            backlog_drain = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)
            apply_cpu = share.summary()
            apply_profile = procs.stop_profiler()
            applied_jobs = done_count(settings.db_path) - done_before
            log_tail = procs.solo_log_tail()

        rate = hot_results["rate"]
        rate_met = summary.verdict(
            f"accepted/s sustained, {concurrency} connections",
            f"{rate:,.0f}/s",
            f"≥ {TARGET_RATE:,.0f}/s",
            rate >= TARGET_RATE,
        )
        p99 = paced_results["p99"] * 1000
        p99_met = summary.verdict(
            f"accept p99 at {PACED_RATE:.0f}/s",
            f"{p99:.1f} ms",
            f"≤ {TARGET_P99 * 1000:.0f} ms",
            paced_results["p99"] <= TARGET_P99,
        )
        print(
            f"ingress: {rate:,.0f} accepted/s sustained"
            f" (target ≥ {TARGET_RATE:,.0f}/s: {rate_met}); at {PACED_RATE:.0f}/s p99"
            f" {p99:.1f} ms (target ≤ {TARGET_P99 * 1000:.0f} ms: {p99_met})"
        )
        ratio = rate / bare_results["rate"] if bare_results["rate"] else 0.0
        ratio_met = summary.verdict(
            "accepted/s over the bare endpoint's",
            f"{ratio:.3f} ({bare_results['rate']:,.0f}/s bare)",
            f"≥ {TARGET_BARE_RATIO}",
            ratio >= TARGET_BARE_RATIO,
        )
        print(
            f"ingress: the bare verify endpoint accepted {bare_results['rate']:,.0f}/s in the"
            f" same run; Solo reached {ratio:.3f} of it (target ≥ {TARGET_BARE_RATIO}:"
            f" {ratio_met})"
        )
        # The same comparison per CPU-second each server used: on a shared machine the two
        # phases may not get the same CPU, and this ratio does not depend on it.
        bare_per_cpu = bare_results["accepted"] / bare_cpu if bare_cpu else 0.0
        solo_per_cpu = hot_results["accepted"] / solo_cpu if solo_cpu else 0.0
        cpu_ratio = solo_per_cpu / bare_per_cpu if bare_per_cpu else 0.0
        cpu_ratio_met = summary.verdict(
            "accepted per CPU-second over the bare's",
            f"{cpu_ratio:.3f}",
            f"≥ {TARGET_BARE_RATIO}",
            cpu_ratio >= TARGET_BARE_RATIO,
        )
        print(
            f"ingress: per CPU-second of the server process, the bare endpoint accepted"
            f" {bare_per_cpu:,.0f} and Solo {solo_per_cpu:,.0f} (its ingress worker included):"
            f" {cpu_ratio:.3f} (target ≥ {TARGET_BARE_RATIO}: {cpu_ratio_met}); CPU per accepted"
            f" POST: bare {1e6 / bare_per_cpu if bare_per_cpu else 0:,.0f} µs,"
            f" Solo {1e6 / solo_per_cpu if solo_per_cpu else 0:,.0f} µs"
        )
        apply_rate = applied_jobs / backlog_drain[1] if backlog_drain[1] else 0.0
        apply_met = summary.verdict(
            f"backlog of {queued:,} Likes applied",
            f"{apply_rate:,.0f} jobs/s",
            f"≥ {TARGET_DRAIN:,.0f}/s",
            apply_rate >= TARGET_DRAIN,
        )
        print(
            f"ingress: a backlog of {queued:,} Likes applied at {apply_rate:,.0f} jobs/s"
            f" ({applied_jobs:,} from Solo's first answer in {backlog_drain[1]:.1f} s;"
            f" target ≥ {TARGET_DRAIN:,.0f}/s: {apply_met})"
        )
        print(f"    {apply_cpu}")
        print("  " + loadgen.describe(f"bare endpoint, {concurrency} connections", bare_results))
        print("  " + loadgen.describe(f"cold keys, {COLD_CONCURRENCY} connections", cold_results))
        print("  " + loadgen.describe(f"sustained, {concurrency} connections", hot_results))
        halves = ", ".join(
            f"{name} {part.summary()['rate']:,.0f}/s"
            for name, part in (
                ("bare", bare_first), ("Solo", hot_first), ("Solo", hot_second),
                ("bare", bare_second),
            )
        )  # fmt: skip
        print(f"    by 5 s in turn: {halves}")
        print(f"    first half: {first_cpu}\n    second half: {second_cpu}")
        print(f"      by thread, µs user+system per accepted POST: {second_threads}")
        print(f"    ingress backlog when the load stopped: {backlog}")
        print(f"    sockets in TIME_WAIT when it began: {waiting_sockets}")
        print("  " + loadgen.describe(f"paced {PACED_RATE:.0f}/s", paced_results))
        print(f"    {paced_cpu}")
        for phase, (counts, waited) in (
            ("cold", cold_drain),
            ("the first sustained half", between_drain),
            ("sustained", hot_drain),
            ("paced", paced_drain),
        ):
            left = sum(counts.get(state, 0) for state in PENDING)
            print(f"  after {phase}: ingress queue drained in {waited:.1f} s, {left} pending")
        pending = sum(backlog.get(state, 0) for state in PENDING)
        rate = (pending / hot_drain[1]) if hot_drain[1] >= 1 else 0.0
        print(
            f"  the sustained phase left {pending:,} jobs pending"
            + (f", drained at {rate:,.0f} jobs/s" if rate else "")
        )
        print(f"  ingress jobs by state: {job_counts(settings.db_path, 'ingress')}")
        for error, count in job_errors(settings.db_path, "ingress"):
            print(f"    {count:,} × {error}")
        likes, _ = applied(settings.db_path, note)
        print(
            f"  favourites recorded on the post: {likes:,} (one per actor: {COLD_ACTORS:,}"
            f" strangers, then {queued:,} of the backlog)"
        )
        if hot_results["statuses"].get(0) or paced_results["statuses"].get(0):
            print(f"  Solo's log ends with:\n{log_tail}")
        if profile_path is not None:
            pyspy_top.report(profile_path)
        if apply_profile is not None:
            pyspy_top.report(apply_profile)
