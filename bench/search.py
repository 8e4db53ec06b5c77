"""Full-text search: indexing the stored posts, and `GET /api/v2/search` over 100,000 of them.

    python -m bench search

The world of `bench/timelines.py` (100,000 statuses of 300–500 bytes of prose), seeded straight
into SQLite as a database stored before the index existed would be, with a rare word put into
RARE posts. Then:

- the time to index the existing rows: `search_index_state` is set as migration 0020 leaves it
  on such a database, and `solo.store.search.build_index` (what `solo serve` runs after start-up)
  is timed in-process. Target ≤ 30 s.
- the index's size as a share of the database file (`dbstat`, after a checkpoint).
- each query's SQL alone (`search.find`), in-process, p50 / p99;
- `solo serve` on it, and each query in turn, ROUNDS × PER_ROUND requests one at a time on one
  keep-alive connection after a warm-up: a common word (about every other post), a rare word, a
  phrase, and an operator query (`from:`, `has:link`, `after:`, a word). Target p99 ≤ 50 ms.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench.api import get_bytes, get_token
from bench.loadgen import Connection, percentile
from bench.procs import CpuShare, Processes, on_solo_cores
from bench.summary import verdict
from bench.timelines import PASSWORD, populate
from bench.world import World
from solo.db import Database
from solo.instance import initialise
from solo.store import search, search_query

ROUNDS = 3
PER_ROUND = 40
WARM_UP = 5
RARE = 50
RARE_WORD = "zanzibar"
TARGET_P99 = 0.050
TARGET_INDEX = 30.0


def queries(after: str) -> dict[str, str]:
    return {
        "common word": "moderation",
        "rare word": RARE_WORD,
        "phrase": '"write ahead"',
        "operators": f"moderation from:u0@h000.test has:link after:{after}",
        "common, by relevance": "moderation order:relevance",
    }


def _prepare(db_path: Path) -> tuple[int, str]:
    """Put the rare word in, and leave the index as migration 0020 leaves an existing database:
    empty, every row waiting. Returns the rows and a date in the middle of the posts."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE statuses SET content_html = replace(content_html, '<p>', ?)"
            " WHERE id IN (SELECT id FROM statuses WHERE reblog_of_id IS NULL"
            " ORDER BY random() LIMIT ?)",
            (f"<p>{RARE_WORD} ", RARE),
        )
        conn.execute("DELETE FROM status_search")
        rows = conn.execute("SELECT count(*), max(id) FROM statuses").fetchone()
        conn.execute(
            "UPDATE search_index_state SET pending_below = ?, started_with = ?",
            (rows[1] + 1, rows[0]),
        )
        middle = conn.execute("SELECT avg(published_at) FROM statuses").fetchone()[0]
        conn.execute("COMMIT")
    finally:
        conn.close()
    return int(rows[0]), time.strftime("%Y-%m-%d", time.gmtime(middle))


async def _index(db_path: Path, wanted: dict[str, str]) -> tuple[float, int, dict[str, str]]:
    """Index in-process; then each query's own SQL (`search.find`, 20 ids) timed in-process,
    apart from the HTTP request and the rendering of the statuses found."""
    db = Database(db_path)
    await db.open()
    alone: dict[str, str] = {}
    try:
        began = time.perf_counter()
        await search.build_index(db)
        took = time.perf_counter() - began
        indexed = (await search.index_progress(db)).indexed
        for name, text in wanted.items():
            parsed = search_query.parse(text)
            authors = await search.resolve_authors(db, parsed, "bench")
            times = []
            for _ in range(WARM_UP + PER_ROUND):
                start = time.perf_counter()
                await search.find(db, parsed, search.Page(limit=20), authors)
                times.append(time.perf_counter() - start)
            times = times[WARM_UP:]
            alone[name] = (
                f"{percentile(times, 50) * 1000:.1f} / {percentile(times, 99) * 1000:.1f} ms"
            )
    finally:
        await db.close()
    return took, indexed, alone


def _sizes(db_path: Path) -> tuple[int, int]:
    """(bytes of the index's tables, bytes of the whole file)."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            index = conn.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'status_search%'"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # SQLite built without dbstat
            index = 0
    finally:
        conn.close()
    return int(index or 0), db_path.stat().st_size


async def _measure(port: int, request: bytes) -> tuple[list[float], int]:
    connection = Connection(port)
    times: list[float] = []
    try:
        for n in range(WARM_UP + PER_ROUND):
            start = time.perf_counter()
            ok = await connection.exchange(request) == 200
            if ok and n >= WARM_UP:
                times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return times, PER_ROUND


async def _count(port: int, domain: str, token: str, query: str) -> int:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    ) as client:
        found = await client.get(
            "/api/v2/search", params={"q": query, "type": "statuses", "limit": 40}
        )
        found.raise_for_status()
        return len(found.json()["statuses"])


async def run() -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-search-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        await initialise(settings, PASSWORD)
        counts = populate(settings)
        rows, middle = _prepare(settings.db_path)
        wanted = queries(middle)
        with on_solo_cores():
            took, indexed, alone = await _index(settings.db_path, wanted)
        index_bytes, file_bytes = _sizes(settings.db_path)
        index_met = verdict(
            f"index {indexed:,} statuses (in-process)",
            f"{took:.1f} s",
            f"≤ {TARGET_INDEX:.0f} s",
            took <= TARGET_INDEX,
        )
        print(
            f"search: indexed {indexed:,} of {rows:,} stored rows in {took:.1f} s"
            f" (target ≤ {TARGET_INDEX:.0f} s: {index_met});"
            f" index {index_bytes / 1e6:.1f} MB of a {file_bytes / 1e6:.1f} MB database"
            f" ({100 * index_bytes / file_bytes:.0f} %); {counts['statuses']:,} statuses seeded"
        )
        domain, port = world.solo_domain, world.solo_port
        results: dict[str, tuple[list[float], int]] = {}
        shown: dict[str, int] = {}
        with Processes(tmp, world) as procs:
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            token = await get_token(port, domain)
            share = CpuShare(procs)
            for _ in range(ROUNDS):
                for name, query in wanted.items():
                    path = f"/api/v2/search?type=statuses&limit=20&q={quote(query)}"
                    times, sent = await _measure(port, get_bytes(path, domain, token))
                    before = results.get(name, ([], 0))
                    results[name] = (before[0] + times, before[1] + sent)
            cpu = share.summary()
            for name, query in wanted.items():
                shown[name] = await _count(port, domain, token, query)
        report(results, shown, wanted, cpu)
        print("  the search SQL alone, in-process (p50 / p99 for 20 ids):")
        for name, figures in alone.items():
            print(f"  {name:<24} {figures}")


def report(
    results: dict[str, tuple[list[float], int]],
    shown: dict[str, int],
    wanted: dict[str, str],
    cpu: str,
) -> None:
    worst = max(percentile(times, 99) for times, _ in results.values())
    met = verdict(
        "worst query p99", f"{worst * 1000:.1f} ms", f"≤ {TARGET_P99 * 1000:.0f} ms",
        worst <= TARGET_P99,
    )  # fmt: skip
    target = f"target ≤ {TARGET_P99 * 1000:.0f} ms"
    print(f"search: worst p99 {worst * 1000:.1f} ms ({target}: {met})")
    print(f"  {'query':<24} {'ok':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'found':>6}  q")
    for name, (times, sent) in results.items():
        line: list[Any] = [
            f"  {name:<24} {len(times):>4}/{sent:<4}",
            f"{percentile(times, 50) * 1000:>8.1f}",
            f"{percentile(times, 99) * 1000:>8.1f}",
            f"{max(times, default=float('nan')) * 1000:>8.1f}",
            f"{shown[name]:>6}  {wanted[name]}",
        ]
        print(" ".join(line))
    print(f"  while measuring: {cpu}")
