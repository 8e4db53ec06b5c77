"""Fair service under load (issue 15, item 6), run by `python -m bench timelines`.

1. `GET /` by 20 logged-in clients in a closed loop (measured by `timelines.concurrent`): the
   slowest pages may take at most 3× the median one (p99 ≤ 3 × p50);
2. 20 anonymous visitors hammer the public profile in a closed loop while the owner loads the
   home page one request after another: the owner's p99 ≤ 100 ms, for their reads go ahead of
   the crowd's in the reader pool (`solo.readpool`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.loadgen import Connection
from bench.summary import verdict

CROWD = 20
CROWD_SECONDS = 10.0
SPREAD = 3.0  # p99 ≤ SPREAD × p50 at 20 clients
TARGET_OWNER_P99 = 0.100

Samples = list[tuple[float, float, int]]


def anonymous_request(path: str, domain: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nAccept: text/html\r\n"
        "User-Agent: solo-bench\r\n\r\n"
    ).encode("latin-1")


async def _loop(port: int, request: bytes, deadline: float, samples: Samples) -> None:
    connection = Connection(port)
    try:
        while (start := time.perf_counter()) < deadline:
            status = await connection.exchange(request)
            samples.append((start, time.perf_counter(), status))
    finally:
        connection.close()


async def owner_among_crowd(port: int, crowd: bytes, owner: bytes) -> tuple[Samples, Samples]:
    """(the owner's samples, the crowd's): CROWD anonymous clients and one owner, each asking
    again as soon as answered, for CROWD_SECONDS."""
    crowd_samples: Samples = []
    owner_samples: Samples = []
    deadline = time.perf_counter() + CROWD_SECONDS
    await asyncio.gather(
        *(_loop(port, crowd, deadline, crowd_samples) for _ in range(CROWD)),
        _loop(port, owner, deadline, owner_samples),
    )
    return owner_samples, crowd_samples


def spread_line(conc: dict[str, Any], clients: int) -> str:
    met = conc["ok"] == conc["sent"] and conc["p99"] <= SPREAD * conc["p50"]
    word = verdict(
        f"{clients} page clients: p99 over p50",
        f"{conc['p99'] / conc['p50']:.2f}× ({conc['p99'] * 1000:.0f} ms)",
        f"≤ {SPREAD:.0f}×",
        met,
    )
    return (
        f"timelines: {clients} page clients p50 {conc['p50'] * 1000:.1f} ms, p99"
        f" {conc['p99'] * 1000:.1f} ms = {conc['p99'] / conc['p50']:.2f}× p50 (target p99 ≤"
        f" {SPREAD:.0f}× p50: {word})"
    )


def owner_line(owner: dict[str, Any]) -> str:
    met = owner["ok"] == owner["sent"] and owner["p99"] <= TARGET_OWNER_P99
    word = verdict(
        f"owner's home p99 beside {CROWD} anonymous",
        f"{owner['p99'] * 1000:.1f} ms",
        f"≤ {TARGET_OWNER_P99 * 1000:.0f} ms",
        met,
    )
    return (
        f"timelines: owner's home p99 {owner['p99'] * 1000:.1f} ms while {CROWD} anonymous"
        f" clients hammer the profile (target ≤ {TARGET_OWNER_P99 * 1000:.0f} ms:"
        f" {word})"
    )
