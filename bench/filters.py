"""Keyword filters: what 100 filters and 1,000 domain blocks cost the home page and the API.

    python -m bench filters

The world of `bench/timelines.py` (100,000 statuses, a full home feed), `solo serve` on it,
then ROUNDS rounds, each measuring one at a time (after a warm-up) `GET /` and
`GET /api/v1/timelines/home?limit=40`:

- with no filter and no domain block;
- with 100 filters of 5 keywords each (made through `POST /api/v2/filters`, all five contexts;
  ten hide, the rest warn) and 1,000 rows in `domain_blocks`. The keywords are words no post
  has, but for one filter's "moderation", which about half the posts contain: those are folded
  (web) and carry `filtered` (API), so the cost of a hit is measured too.

The filters are deleted again (`DELETE /api/v2/filters/:id`) and the blocks removed before the
next round, so that both figures are taken through the same stretch of the machine's load.
Target: each p99 with filters within 1.5× of the p99 without, measured in the same run.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api import get_bytes, get_token, timed
from bench.loadgen import Connection, percentile, with_and_without
from bench.procs import CpuShare, Processes
from bench.timelines import PASSWORD, log_in, populate, request_bytes
from bench.world import World
from solo.instance import initialise

ROUNDS = 4
# Requests per page, round and setting (`bench lists` measures the same way). With 60, each p99
# (of 240) was the third slowest request, and GET /api/v1/timelines/home read 0.72× and 1.34×
# "with over without" in two runs of the same code on one core.
PER_ROUND = 120
WARM_UP = 5
FILTERS = 100
KEYWORDS = 5
HIDING = 10  # of the filters
DOMAIN_BLOCKS = 1_000
HIT_WORD = "moderation"  # in bench.timelines' prose: about half the posts have it
TARGET_RATIO = 1.5


def _filters(rng: random.Random) -> list[dict[str, Any]]:
    letters = "bcdfghjklmnpqrstvwxz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(5, 10)))

    made = []
    for n in range(FILTERS):
        keywords = [
            {"keyword": HIT_WORD if n == 0 and k == 0 else word(), "whole_word": k % 2 == 0}
            for k in range(KEYWORDS)
        ]
        made.append(
            {
                "title": f"Filter {n}",
                "context": ["home", "notifications", "public", "thread", "account"],
                "filter_action": "hide" if FILTERS - n <= HIDING else "warn",
                "keywords_attributes": keywords,
            }
        )
    return made


async def _set_filters(
    port: int, domain: str, token: str, db_path: Path, wanted: list[dict[str, Any]] | None
) -> None:
    """Make `wanted` (through the API) with the domain blocks, or remove every filter and block
    (None)."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    ) as client:
        if wanted is None:
            for found in (await client.get("/api/v2/filters")).json():
                (await client.delete(f"/api/v2/filters/{found['id']}")).raise_for_status()
        else:
            for body in wanted:
                (await client.post("/api/v2/filters", json=body)).raise_for_status()
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM domain_blocks")
        if wanted is not None:
            conn.executemany(
                "INSERT INTO domain_blocks (domain, created_at) VALUES (?, ?)",
                [(f"blocked{n:04d}.example", time.time()) for n in range(DOMAIN_BLOCKS)],
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [t for part in parts for t in part["times"]]
    return {
        "sent": sum(p["sent"] for p in parts),
        "ok": len(ok),
        "p50": percentile(ok, 50),
        "p99": percentile(ok, 99),
        "max": max(ok, default=float("nan")),
    }


async def _measure(port: int, request: bytes) -> dict[str, Any]:
    await timed(port, [request] * WARM_UP)
    connection = Connection(port)
    times = []
    try:
        for _ in range(PER_ROUND):
            start = time.perf_counter()
            if await connection.exchange(request) == 200:
                times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return {"sent": PER_ROUND, "times": times}


async def run() -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    rng = random.Random(20_260_111)
    wanted = _filters(rng)
    with tempfile.TemporaryDirectory(prefix="solo-bench-filters-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        await initialise(settings, PASSWORD)
        counts = populate(settings)
        print(
            f"filters: seeded {counts['statuses']:,} statuses in"
            f" {time.perf_counter() - began:.1f} s; {ROUNDS} rounds of {PER_ROUND} requests"
            " per page, without and with the filters"
        )
        domain, port = world.solo_domain, world.solo_port
        samples: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        with Processes(tmp, world) as procs:
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            cookie = await log_in(port, domain)
            token = await get_token(port, domain)
            pages = {
                "GET /": request_bytes("/", domain, cookie),
                "GET /api/v1/timelines/home?limit=40": get_bytes(
                    "/api/v1/timelines/home?limit=40", domain, token
                ),
            }
            share = CpuShare(procs)
            for _ in range(ROUNDS):
                for filtered in (False, True):
                    await _set_filters(
                        port, domain, token, settings.db_path, wanted if filtered else None
                    )
                    for name, request in pages.items():
                        part = await _measure(port, request)
                        samples.setdefault((name, filtered), []).append(part)
            cpu = share.summary()
            shape = await _shape(port, domain, token, cookie, settings.db_path, wanted)
        report({key: _merge(parts) for key, parts in samples.items()}, cpu, shape)


async def _shape(
    port: int, domain: str, token: str, cookie: str, db_path: Path, wanted: list[dict[str, Any]]
) -> str:
    """What the pages show with the filters: how many posts are folded or carry `filtered`."""
    await _set_filters(port, domain, token, db_path, wanted)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": domain}, timeout=30, trust_env=False
    ) as client:
        page = await client.get("/", headers={"Cookie": f"solo_session={cookie}"})
        api = await client.get(
            "/api/v1/timelines/home?limit=40", headers={"Authorization": f"Bearer {token}"}
        )
    statuses = api.json()
    flagged = sum(1 for s in statuses if s["filtered"])
    folded = page.text.count('<details class="filtered">')
    return (
        f"with filters: GET / shows {page.text.count('<article')} cards, {folded} folded;"
        f" the API page has {len(statuses)} statuses, {flagged} with `filtered`"
    )


def report(results: dict[tuple[str, bool], dict[str, Any]], cpu: str, shape: str) -> None:
    print("\n".join(with_and_without("filters", results, TARGET_RATIO)))
    print(f"  {shape}")
    print(
        f"  {FILTERS} filters × {KEYWORDS} keywords ({HIDING} hide), {DOMAIN_BLOCKS:,} domain"
        f" blocks; while measuring: {cpu}"
    )
