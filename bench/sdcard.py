"""The SD card: bytes the Solo process writes to disk per applied activity, per delivery and per
idle hour; then the database's size with and without retention.

    python -m bench sdcard [--profile]

Part 1, a live `solo serve` over the world of the federation benchmarks (50,000 followers on
10,000 servers), read from `/proc/<pid>/io` before and after each phase: `write_bytes` (what the
process sent to the block layer: WAL frames, checkpoints into the database file, each re-dirtied
after an fsync) and `wchar` (what it passed to write(2)).

1. idle: 60 s with nothing to do (after 10 s to settle after start-up), scaled to an hour: the
   figure is a minute's writes × 60, so once-an-hour work (the storage sample) may be missed;
2. applied activity: LIKES signed Likes from followers (keys cached: no fetch), 32 connections,
   then the time the ingress queue takes to drain: bytes per applied activity;
3. delivery: one public post made through `POST /api/v1/statuses`, delivered to 10,000 servers
   (the fleet verifies each signature), until the push queue has drained: bytes per delivery.

`--profile` says where the writes go: Solo runs with SOLO_LITESTREAM=true (it never
checkpoints), so every frame of a phase stays in the WAL, where the benchmark reads the page
numbers and names each page's table or index through SQLite's `dbstat`.

Part 2, in this process (`retention_size`): a fresh instance with 1,000,000 remote posts by
10,000 actors spread over 180 days (plain SQL like bench/timelines.py, in batches), its size at
500,000 and 1,000,000; `solo.actions.retention.prune` at 90 days; the pages it freed (the file
does not shrink); 500,000 new posts written after the prune (the file grows by less than the
same number did before, because SQLite reuses the freed pages, no VACUUM); and
`PRAGMA incremental_vacuum` giving pages back to the file system once those new posts are
deleted again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from bench import loadgen, summary
from bench.api import get_token
from bench.fanout import drain, solo_public_key, watch
from bench.procs import CpuShare, Processes, on_solo_cores
from bench.timelines import PASSWORD
from bench.world import HOSTS, World, generate_keys, populate
from solo import urls
from solo.actions import retention
from solo.db import Database
from solo.ids import unix_to_id
from solo.instance import initialise
from solo.media.storage import open_storage

LIKES = 5000
SETTLE = 10.0
IDLE_SECONDS = float(os.environ.get("SOLO_BENCH_IDLE_SECONDS", "60"))
DRAIN_TIMEOUT = 300.0
MB = 1024 * 1024

RETENTION_POSTS = 1_000_000
RETENTION_MORE = 500_000
RETENTION_DAYS = 90
RETENTION_SPAN_DAYS = 180
RETENTION_ACTORS = 10_000
RETENTION_BATCH = 50_000


def io(pid: int) -> dict[str, int]:
    """/proc/PID/io as numbers."""
    fields = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value)
    return fields


def written(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """(write_bytes, wchar) between two readings."""
    return after["write_bytes"] - before["write_bytes"], after["wchar"] - before["wchar"]


def wal_end(wal: Path) -> int:
    return wal.stat().st_size if wal.exists() else 0


def wal_pages(wal: Path, start: int) -> tuple[list[int], int]:
    """The page numbers of the WAL frames written after byte `start`, and how many commits.

    Only meaningful while nothing checkpoints (SOLO_LITESTREAM=true): the WAL is then
    append-only."""
    data = wal.read_bytes()
    page_size = int.from_bytes(data[8:12], "big")
    frame = 24 + page_size
    offset = max(32, start)
    pages: list[int] = []
    commits = 0
    while offset + frame <= len(data):
        pages.append(int.from_bytes(data[offset : offset + 4], "big"))
        commits += int.from_bytes(data[offset + 4 : offset + 8], "big") != 0
        offset += frame
    return pages, commits


def page_owners(db_path: Path) -> dict[int, str]:
    """Page number → the table or index it belongs to (SQLite's dbstat), read through the WAL."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return {int(page): str(name) for name, page in conn.execute(
            "SELECT name, pageno FROM dbstat"
        )}  # fmt: skip
    finally:
        conn.close()


def describe_pages(db_path: Path, pages: list[int], commits: int, per: int, what: str) -> str:
    owners = page_owners(db_path)
    counts = Counter(owners.get(page, "(free list or pointer map)") for page in pages)
    top = ", ".join(f"{name} {count / per:.2f}" for name, count in counts.most_common(8))
    return (
        f"  WAL frames per {what}: {len(pages) / per:.2f} ({len(pages):,} frames,"
        f" {commits / per:.2f} commits per {what}); by b-tree: {top}"
    )


def row_sizes(db_path: Path) -> str:
    """What the queue's history costs on disk: the jobs and activities b-trees per row."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        parts = []
        for table, index in (("jobs", "jobs_%"), ("activities", "%activities%")):
            size = conn.execute(
                "SELECT coalesce(SUM(pgsize), 0) FROM dbstat WHERE name = ? OR name LIKE ?",
                (table, index),
            ).fetchone()[0]
            rows = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            parts.append(
                f"{table} {size / MB:.1f} MB for {rows:,} rows ({size / max(rows, 1):,.0f} B a row)"
            )
        return "; ".join(parts)
    finally:
        conn.close()


def like_specs() -> list[loadgen.Spec]:
    """LIKES Likes from distinct followers (u0…u4 of every server: their keys are seeded)."""
    return [("like", k % HOSTS, (k // HOSTS) % 5, k) for k in range(LIKES)]


async def post_status(port: int, domain: str, token: str) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False,
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
    ) as client:  # fmt: skip
        answer = await client.post(
            "/api/v1/statuses", json={"status": "The SD card benchmark: hello, 10,000 servers."}
        )
        answer.raise_for_status()


async def settled(pid: int, db_path: Path) -> dict[str, int]:
    """Wait out the acknowledgements written in memory (ack_delay) and one more group commit."""
    await drain(db_path, "push", DRAIN_TIMEOUT)
    await asyncio.sleep(1.0)
    return io(pid)


async def run(*, profile: bool = False) -> None:
    await live(profile=profile)
    await retention_size()


async def live(*, profile: bool = False) -> None:
    world = World.allocate()
    with tempfile.TemporaryDirectory(prefix="solo-bench-sdcard-", dir=Path.cwd()) as tmp_name:
        # In the working directory: /tmp may be a tmpfs, whose writes reach no disk.
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        with ProcessPoolExecutor(2) as pool:
            keys = generate_keys(pool)
        await initialise(settings, PASSWORD)
        public_pems = [public for _, public in keys]
        _, note = populate(world, settings, public_pems)
        with loadgen.signer_pool([private for private, _ in keys]) as signers:
            likes = loadgen.presign(signers, world, note, urls.actor(settings), like_specs())
        config = {
            "public_pems": public_pems,
            "solo_public_pem": solo_public_key(settings.db_path),
            "solo_key_id": urls.key_id(settings),
            "lifetime": IDLE_SECONDS + 900,  # the fleet outlives a long idle window
        }
        port = world.solo_port
        wal = settings.db_path.with_name(settings.db_path.name + "-wal")
        with Processes(tmp, world) as procs:
            await procs.start_fleet(config)
            if profile:  # Solo leaves the WAL alone: every frame written stays there to read
                os.environ["SOLO_LITESTREAM"] = "true"
            procs.start_solo(settings.data_dir)
            os.environ.pop("SOLO_LITESTREAM", None)
            await procs.wait_solo()
            assert procs.solo is not None
            pid = procs.solo.pid
            token = await get_token(port, world.solo_domain)
            await asyncio.sleep(SETTLE)

            before, mark = io(pid), wal_end(wal)
            await asyncio.sleep(IDLE_SECONDS)
            idle = written(before, io(pid))
            profiles = []
            if profile:
                pages, commits = wal_pages(wal, mark)
                profiles.append(describe_pages(settings.db_path, pages, commits, 1, "idle minute"))

            share = CpuShare(procs)
            before, mark = io(pid), wal_end(wal)
            results = (await loadgen.closed_loop(likes, port, 32, 60)).summary()
            counts, drained = await drain(settings.db_path, "ingress", DRAIN_TIMEOUT)
            ingress = written(before, await settled(pid, settings.db_path))
            if profile:
                pages, commits = wal_pages(wal, mark)
                profiles.append(describe_pages(settings.db_path, pages, commits, LIKES, "Like"))
            ingress_cpu = share.summary()

            share = CpuShare(procs)
            before, mark = io(pid), wal_end(wal)
            await post_status(port, world.solo_domain, token)
            stats, _ = await watch(world, pid, HOSTS)
            push_counts, _ = await drain(settings.db_path, "push", DRAIN_TIMEOUT)
            delivery = written(before, await settled(pid, settings.db_path))
            if profile:
                pages, commits = wal_pages(wal, mark)
                profiles.append(describe_pages(settings.db_path, pages, commits, HOSTS, "delivery"))
            push_cpu = share.summary()
            sizes = settings.db_path.stat().st_size, wal.stat().st_size if wal.exists() else 0
            history = row_sizes(settings.db_path)

        hour = 3600.0 / IDLE_SECONDS
        applied = counts.get("done", 0)
        delivered = stats.get("hosts", 0)
        summary.figure("written per idle hour", f"{idle[0] * hour / MB:.2f} MB")
        summary.figure(
            "written per applied activity",
            f"{ingress[0] / max(applied, 1):,.0f} B ({applied:,}/{LIKES:,} applied)",
        )
        summary.figure(
            "written per delivery",
            f"{delivery[0] / max(delivered, 1):,.0f} B ({delivered:,}/{HOSTS:,} delivered)",
        )
        print(
            f"sdcard: idle {idle[0] * hour / MB:.2f} MB/hour written to disk"
            f" ({idle[0]:,} B in {IDLE_SECONDS:.0f} s, × {hour:.0f}: the window scaled to an hour);"
            f" wchar {idle[1] * hour / MB:.2f} MB/hour"
        )
        print(
            f"sdcard: {ingress[0] / max(applied, 1):,.0f} B written per applied activity"
            f" ({ingress[0] / MB:.1f} MB for {applied:,} Likes applied of {LIKES:,},"
            f" {results['accepted']:,} accepted; queue drained {drained:.1f} s after the load);"
            f" wchar {ingress[1] / max(applied, 1):,.0f} B per activity"
        )
        print(f"  ingress jobs by state: {counts}; {ingress_cpu}")
        print(
            f"sdcard: {delivery[0] / max(delivered, 1):,.0f} B written per delivery"
            f" ({delivery[0] / MB:.1f} MB for one post to {delivered:,}/{HOSTS:,} servers,"
            f" {stats.get('verified', 0):,} verified by the fleet);"
            f" wchar {delivery[1] / max(delivered, 1):,.0f} B per delivery"
        )
        print(f"  push jobs by state: {push_counts}; {push_cpu}")
        print(f"  database {sizes[0] / MB:.1f} MB, WAL {sizes[1] / MB:.1f} MB at the end")
        print(f"  on disk at the end: {history} (done jobs go after a day, ids after 30 days)")
        if profile:
            print("  profile (Solo not checkpointing, so the figures above lack checkpoints):")
            print("\n".join(profiles))


# --- Part 2: the database's size with and without retention ------------------------------------


def _size(path: Path) -> int:
    return path.stat().st_size


def _pages(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(page_count, freelist_count, page_size)."""
    return (
        int(conn.execute("PRAGMA page_count").fetchone()[0]),
        int(conn.execute("PRAGMA freelist_count").fetchone()[0]),
        int(conn.execute("PRAGMA page_size").fetchone()[0]),
    )


def _insert_posts(db_path: Path, first: int, count: int, start: float, span: float) -> None:
    """`count` remote public posts, ids as `IdGenerator.next(at=…)` makes them, published evenly
    between `start` and `start + span`, in transactions of RETENTION_BATCH."""
    rng = random.Random(first)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        step = span / count
        for low in range(0, count, RETENTION_BATCH):
            rows = []
            for k in range(low, min(count, low + RETENTION_BATCH)):
                n = first + k
                at = start + k * step
                row_id = (int(at * 1000) << 16) | (n & 0xFFFF)
                actor = 1 + n % RETENTION_ACTORS
                base = f"http://h{actor % 1000:03d}.test"
                ap_id = f"{base}/users/u{actor}/statuses/{n}"
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
                html = f"<p>{words}</p>"
                raw = json.dumps({
                    "id": ap_id, "type": "Note", "attributedTo": f"{base}/users/u{actor}",
                    "content": html, "published": at, "cc": [], "tag": [],
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                })  # fmt: skip
                rows.append((row_id, ap_id, ap_id, actor, html, raw, at))
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO statuses (id, ap_id, url, actor_id, visibility, content_html, raw,"
                " published_at) VALUES (?, ?, ?, ?, 'public', ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
    finally:
        conn.close()


WORDS = [
    "the",
    "fediverse",
    "post",
    "reply",
    "boost",
    "solo",
    "server",
    "federation",
    "timeline",
    "sqlite",
    "card",
    "write",
    "page",
    "morning",
    "coffee",
    "weather",
    "train",
    "photo",
    "garden",
    "music",
    "release",
    "bug",
    "fix",
    "today",
    "tomorrow",
    "great",
]


def _seed_actors(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO actors (id, ap_id, username, domain, inbox, raw, fetched_at)"
            " VALUES (?, ?, ?, ?, ?, '{}', ?)",
            [
                (a, f"http://h{a % 1000:03d}.test/users/u{a}", f"u{a}", f"h{a % 1000:03d}.test",
                 f"http://h{a % 1000:03d}.test/users/u{a}/inbox", now)
                for a in range(1, RETENTION_ACTORS + 1)
            ],
        )  # fmt: skip
        conn.execute("COMMIT")
    finally:
        conn.close()


async def retention_size() -> None:
    world = World.allocate(1, 1)
    with tempfile.TemporaryDirectory(prefix="solo-bench-retention-", dir=Path.cwd()) as tmp_name:
        settings = world.settings(Path(tmp_name) / "data")
        await initialise(settings, PASSWORD)
        path = settings.db_path
        began = time.perf_counter()
        _seed_actors(path)
        now = time.time()
        span = RETENTION_SPAN_DAYS * 86_400.0
        half = RETENTION_POSTS // 2
        _insert_posts(path, 0, half, now - span, span / 2)
        at_half = _size(path)
        _insert_posts(path, half, RETENTION_POSTS - half, now - span / 2, span / 2 - 60)
        full = _size(path)
        inserted = time.perf_counter() - began
        fresh_growth = full - at_half  # what 500,000 posts cost without free pages to reuse

        with on_solo_cores():  # the prune is Solo's code, run here
            db = Database(path)
            await db.open()
            try:
                began = time.perf_counter()
                progress, _ = await retention.prune(
                    db, open_storage(settings), RETENTION_DAYS, pause=0.0
                )
                pruned = time.perf_counter() - began
            finally:
                await db.close()
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, free, page_size = _pages(conn)
            vacuum_mode = int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
        finally:
            conn.close()
        after_prune = _size(path)
        kept_bytes = (pages - free) * page_size  # the file once the freed pages are given back

        began = time.perf_counter()
        _insert_posts(path, RETENTION_POSTS, RETENTION_MORE, now - 3600, 3000)
        more = time.perf_counter() - began
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            after_more = _size(path)
            _, free_left, _ = _pages(conn)
            # Free pages again (the new posts deleted, as a later prune would), then give them
            # back to the file system.
            conn.execute("DELETE FROM statuses WHERE id >= ?", (unix_to_id(now - 3600),))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _, freed_again, _ = _pages(conn)
            before_vacuum = _size(path)
            began = time.perf_counter()
            # Each step of the statement frees one page, and Python's execute() steps once:
            # executescript steps it to the end.
            conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            vacuumed = time.perf_counter() - began
            after_vacuum = _size(path)
            _, free_end, _ = _pages(conn)
        finally:
            conn.close()

    more_growth = after_more - after_prune
    summary.figure(f"database, {RETENTION_POSTS:,} remote posts", f"{full / MB:,.0f} MB")
    summary.figure(
        f"the same, retention_days = {RETENTION_DAYS}", f"{kept_bytes / MB:,.0f} MB in use"
    )
    reused = summary.verdict(
        f"{RETENTION_MORE:,} new posts after the prune grow",
        f"{more_growth / MB:,.0f} MB (before: {fresh_growth / MB:,.0f} MB)",
        "less than before: freed pages reused",
        more_growth < fresh_growth,
    )
    shrunk = summary.verdict(
        "PRAGMA incremental_vacuum",
        f"{before_vacuum / MB:,.0f} → {after_vacuum / MB:,.0f} MB",
        "the file shrinks",
        after_vacuum < before_vacuum,
    )
    print(
        f"retention: {RETENTION_POSTS:,} remote posts over {RETENTION_SPAN_DAYS} days:"
        f" {full / MB:,.0f} MB without retention; {kept_bytes / MB:,.0f} MB kept with"
        f" retention_days = {RETENTION_DAYS} ({progress.removed:,} posts pruned in {pruned:.0f} s;"
        f" inserted in {inserted:.0f} s)"
    )
    print(
        f"  after the prune the file stays {after_prune / MB:,.0f} MB with {free:,} free pages"
        f" ({free * page_size / MB:,.0f} MB; auto_vacuum = {vacuum_mode}, 2 = incremental)"
    )
    print(
        f"retention: {RETENTION_MORE:,} new posts after the prune grew the file by"
        f" {more_growth / MB:,.0f} MB, against {fresh_growth / MB:,.0f} MB for as many before"
        f" ({'REUSED' if reused == 'MET' else 'NOT REUSED'}:"
        f" freed pages taken, no VACUUM; {free_left:,} free pages left; {more:.0f} s)"
    )
    print(
        f"retention: PRAGMA incremental_vacuum over {freed_again:,} free pages:"
        f" {before_vacuum / MB:,.0f} MB → {after_vacuum / MB:,.0f} MB in {vacuumed:.1f} s"
        f" ({'SHRUNK' if shrunk == 'MET' else 'NOT SHRUNK'}; {free_end:,} free pages left)"
    )
