"""Lists and followed hashtags: what 20 followed tags and 10 lists cost the home page.

    python -m bench lists

The world of `bench/timelines.py` (100,000 statuses, a full home feed), `solo serve` on it,
then ROUNDS rounds, each measuring one at a time (after a warm-up) `GET /` and
`GET /api/v1/timelines/home?limit=40`:

- with no list and no followed hashtag;
- with 20 followed hashtags (through `POST /api/v1/tags/:name/follow`; one is `#solo`, which
  every seeded post carries, so the tag rule's cost when it matches is measured too) and 10
  lists of 50 followed accounts each (through `POST /api/v1/lists` and `…/accounts`; none
  exclusive, so both rounds show the same posts).

They are removed again before the next round, so that both figures are taken through the same
stretch of the machine's load. A list's own timeline (`GET /api/v1/timelines/list/:id`) is
measured once with the lists in place. Target: each p99 with them within 1.2× of the p99
without, measured in the same run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api import get_bytes, get_token
from bench.filters import _measure, _merge
from bench.loadgen import with_and_without
from bench.procs import CpuShare, Processes
from bench.timelines import FOLLOWED, PASSWORD, log_in, populate, request_bytes
from bench.world import World
from solo.instance import initialise

ROUNDS = 4
TAGS = 20
LISTS = 10
MEMBERS = 50
TARGET_RATIO = 1.2


async def _set(port: int, domain: str, token: str, on: bool) -> None:
    """Make the tags and lists (`on`) or remove them all."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
        timeout=60,
        trust_env=False,
    ) as client:
        if not on:
            for found in (await client.get("/api/v1/followed_tags?limit=200")).json():
                (await client.post(f"/api/v1/tags/{found['name']}/unfollow")).raise_for_status()
            for found in (await client.get("/api/v1/lists")).json():
                (await client.delete(f"/api/v1/lists/{found['id']}")).raise_for_status()
            return
        names = ["solo", *(f"benchtag{n}" for n in range(TAGS - 1))]
        for name in names:
            (await client.post(f"/api/v1/tags/{name}/follow")).raise_for_status()
        for n in range(LISTS):
            made = await client.post("/api/v1/lists", data={"title": f"List {n}"})
            made.raise_for_status()
            list_id = made.json()["id"]
            # Actors 1…FOLLOWED are followed; their API ids are their row ids.
            members = [str(1 + (n * MEMBERS + k) % FOLLOWED) for k in range(MEMBERS)]
            added = await client.post(
                f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": members}
            )
            added.raise_for_status()


async def run() -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-lists-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        await initialise(settings, PASSWORD)
        counts = populate(settings)
        print(
            f"lists: seeded {counts['statuses']:,} statuses in"
            f" {time.perf_counter() - began:.1f} s; {ROUNDS} rounds of requests per page,"
            f" without and with {TAGS} followed tags and {LISTS} lists"
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
                for on in (False, True):
                    await _set(port, domain, token, on)
                    for name, request in pages.items():
                        part = await _measure(port, request)
                        samples.setdefault((name, on), []).append(part)
            cpu = share.summary()
            await _set(port, domain, token, True)
            first = (await _list_ids(port, domain, token))[0]
            path = f"/api/v1/timelines/list/{first}?limit=40"
            list_page = _merge([await _measure(port, get_bytes(path, domain, token))])
        report({key: _merge(parts) for key, parts in samples.items()}, cpu, list_page)


async def _list_ids(port: int, domain: str, token: str) -> list[str]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    ) as client:
        return [found["id"] for found in (await client.get("/api/v1/lists")).json()]


def report(
    results: dict[tuple[str, bool], dict[str, Any]], cpu: str, list_page: dict[str, Any]
) -> None:
    print("\n".join(with_and_without("lists", results, TARGET_RATIO)))
    print(
        f"  a list's timeline (GET /api/v1/timelines/list/:id?limit=40, {MEMBERS} members):"
        f" p50 {list_page['p50'] * 1000:.1f} ms, p99 {list_page['p99'] * 1000:.1f} ms"
    )
    print(f"  while measuring: {cpu}")
