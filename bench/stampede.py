"""The stampede: a thousand servers fetch one post, our actor and our avatar within seconds.

    python -m bench stampede [--profile]

When a big account boosts one of our posts, every server that receives the Announce fetches the
post, then its author, then the avatar. The world of `bench/timelines.py` (100,000 statuses, a
full home feed) with a 400×400 JPEG avatar; then 1,000 distinct fetchers (each its own keyId
on its own host, draft-cavage signed, RSA-2048) GET the newest own public post, the actor and
the avatar: 3,000 requests paced over 7.5 s (open loop on 64 connections, latency counted from
when each was due). Meanwhile the owner's home page is requested one at a time; its p99 is set
against IDLE requests before. Then every fetcher revalidates what it has (`If-None-Match`).
Targets: all 3,000 within 10 s at p99 ≤ 100 ms; home p99 during ≤ 3× idle; revalidations 304.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from email.utils import formatdate
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image

from bench import pyspy_top
from bench.loadgen import Results, one_at_a_time, paced, percentile
from bench.procs import CpuShare, Processes
from bench.summary import verdict
from bench.timelines import PASSWORD, log_in, populate, request_bytes
from bench.world import World
from solo import urls
from solo.config import Settings
from solo.federation.signatures import sign_headers
from solo.instance import initialise

FETCHERS = 1000
RATE = 400.0  # requests per second: 3,000 in 7.5 s
CONNECTIONS = 64
KEYS = 8  # RSA keys shared among the fetchers' keyIds: signing, not key variety, is the cost
IDLE = 300
WARM_UP = 50  # past the start-up work (feed rebuild, first queries) before idle is measured
TARGET_SECONDS = 10.0
TARGET_P99 = 0.100
TARGET_RATIO = 3.0
AVATAR_KEY = "profile/be/bench0avatar.jpg"
AS_JSON = "application/activity+json"


def seed(settings: Settings) -> str:
    """The avatar on disk and on the account; the path of the newest own public post."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (30, 120, 200)).save(buffer, "JPEG", quality=90)
    target = settings.media_dir / AVATAR_KEY
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        conn.execute("UPDATE account SET avatar_url = ?", (urls.media(settings, AVATAR_KEY),))
        row = conn.execute(
            "SELECT ap_id FROM statuses WHERE actor_id IS NULL AND visibility = 'public'"
            " AND reblog_of_id IS NULL AND deleted_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return str(row[0]).removeprefix(settings.base_url)


def signed_requests(
    settings: Settings, paths: Sequence[str], etags: Sequence[str] = ()
) -> list[bytes]:
    """Each fetcher's GETs of `paths` in turn, signed with a keyId of its own host (and, given
    `etags`, sent with the validator each path answered before)."""
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(KEYS)]
    date = formatdate(time.time(), usegmt=True)
    requests = []
    for i in range(FETCHERS):
        for n, path in enumerate(paths):
            headers = {"Host": settings.domain, "Date": date, "Accept": AS_JSON}
            if etags:
                headers["If-None-Match"] = etags[n]
            signed = sign_headers(
                "GET",
                settings.base_url + path,
                headers,
                b"",
                key_id=f"http://f{i:04d}.test/users/u#main-key",
                private_key=keys[i % KEYS],
            )
            lines = "".join(f"{name}: {value}\r\n" for name, value in {**headers, **signed}.items())
            requests.append(f"GET {path} HTTP/1.1\r\n{lines}\r\n".encode("latin-1"))
    return requests


async def etags_of(port: int, domain: str, paths: Sequence[str]) -> list[str]:
    """What each path answers as its ETag (read from a raw exchange, as a fetcher would)."""
    found = []
    for path in paths:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nAccept: {AS_JSON}\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        writer.close()
        etag = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                     if line.lower().startswith("etag:")), "")  # fmt: skip
        if not etag:
            raise RuntimeError(f"{path} answered without an ETag")
        found.append(etag)
    return found


def latencies(results: Results, ok: int) -> tuple[list[float], dict[int, int], float]:
    statuses: dict[int, int] = {}
    for _, _, status in results.samples:
        statuses[status] = statuses.get(status, 0) + 1
    times = [end - start for start, end, status in results.samples if status == ok]
    span = max(e for _, e, _ in results.samples) - min(s for s, _, _ in results.samples)
    return times, statuses, span


async def run(*, profile: bool = False) -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-stampede-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        await initialise(settings, PASSWORD)
        populate(settings)
        note = seed(settings)
        paths = [note, urls.actor(settings).removeprefix(settings.base_url), f"/media/{AVATAR_KEY}"]
        began = time.perf_counter()
        cold = signed_requests(settings, paths)
        print(
            f"stampede: {len(cold):,} signed GETs of {', '.join(paths)} made in"
            f" {time.perf_counter() - began:.1f} s; load average {os.getloadavg()[0]:.1f}"
            f" on {os.cpu_count()} cores"
        )
        domain, port = world.solo_domain, world.solo_port
        with Processes(tmp, world) as procs:
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            home = request_bytes("/", domain, await log_in(port, domain))
            await one_at_a_time(port, home, WARM_UP)
            idle = await one_at_a_time(port, home, IDLE)
            if profile:
                procs.start_profiler("stampede")
            share = CpuShare(procs)
            stampede = asyncio.create_task(paced(cold, port, RATE, CONNECTIONS))
            during = await one_at_a_time(port, home, None, stampede.done)
            results = await stampede
            cpu = share.summary()
            revalidating = signed_requests(settings, paths, await etags_of(port, domain, paths))
            again = await paced(revalidating, port, RATE, CONNECTIONS)
            profile_path = procs.stop_profiler()
        report(results, idle, during, again, cpu)
        if profile_path is not None:
            pyspy_top.report(profile_path)


def report(
    results: Results, idle: list[float], during: list[float], again: Results, cpu: str
) -> None:
    times, statuses, span = latencies(results, 200)
    p99 = percentile(times, 99)
    met = verdict(
        f"{FETCHERS * 3:,} signed GETs: all 200 in time, p99",
        f"{len(times):,} in {span:.2f} s, p99 {p99 * 1000:.1f} ms",
        f"≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_P99 * 1000:.0f} ms",
        len(times) == FETCHERS * 3 and span <= TARGET_SECONDS and p99 <= TARGET_P99,
    )
    print(
        f"stampede: {len(times):,}/{FETCHERS * 3:,} answered 200 in {span:.2f} s (target ≤"
        f" {TARGET_SECONDS:.0f} s); p50 {percentile(times, 50) * 1000:.1f} ms, p99"
        f" {p99 * 1000:.1f} ms (target ≤ {TARGET_P99 * 1000:.0f} ms), max"
        f" {max(times, default=float('nan')) * 1000:.0f} ms; answers {statuses}"
        f" {met}"
    )
    idle_p99, during_p99 = percentile(idle, 99), percentile(during, 99)
    ratio = during_p99 / idle_p99 if idle_p99 else float("inf")
    ratio_met = verdict(
        "home p99 during over idle",
        f"{ratio:.1f}× ({during_p99 * 1000:.1f} ms)",
        f"≤ {TARGET_RATIO:.0f}×",
        ratio <= TARGET_RATIO,
    )
    print(
        f"stampede: home page p99 {during_p99 * 1000:.1f} ms during ({len(during)} requests)"
        f" vs {idle_p99 * 1000:.1f} ms idle: {ratio:.1f}x, target ≤ {TARGET_RATIO:.0f}x"
        f" {ratio_met}"
    )
    fresh, statuses, span = latencies(again, 304)
    fresh_met = verdict(
        "revalidations answered 304",
        f"{len(fresh):,}/{FETCHERS * 3:,}",
        "all",
        len(fresh) == FETCHERS * 3,
    )
    print(
        f"stampede: revalidation: {len(fresh):,}/{FETCHERS * 3:,} answered 304 in {span:.2f} s;"
        f" p50 {percentile(fresh, 50) * 1000:.1f} ms, p99 {percentile(fresh, 99) * 1000:.1f} ms;"
        f" answers {statuses} {fresh_met}"
    )
    print(f"stampede: CPU during the stampede: {cpu}; load average {os.getloadavg()[0]:.1f}")
