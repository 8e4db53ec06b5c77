"""The load generator: inbox POSTs signed ahead of time, sent over raw keep-alive sockets.

Signing costs ~230 µs per request (RSA-2048), more than Solo may spend accepting one, so every
request is signed before the measurement starts, in a pool of processes, and the sending side is
a few lines of asyncio that write prepared bytes and read the status line: the load generator
must not compete with Solo for the CPU more than necessary. Dates are signed at most a few
minutes before sending, well within the one-hour window.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.summary import verdict
from bench.world import World, key_index, like, reply
from solo.federation.signatures import sign_headers

EXCHANGE_TIMEOUT = 15.0
_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:[ \t]*(\d+)")

# (kind, host index, user number, sequence number): what one request carries.
Spec = tuple[str, int, int, int]

_keys: list[rsa.RSAPrivateKey] = []  # per signing process, loaded once by _load_keys


def _load_keys(private_pems: list[str]) -> None:
    for pem in private_pems:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        _keys.append(key)


def _sign_chunk(world: World, note: str, solo_actor: str, specs: list[Spec]) -> list[bytes]:
    out = []
    url = f"http://{world.solo_domain}/inbox"
    for kind, i, j, seq in specs:
        actor = world.actor(i, j)
        activity = like(actor, seq, note) if kind == "like" else reply(actor, seq, note, solo_actor)
        body = json.dumps(activity, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/activity+json"}
        headers.update(
            sign_headers(
                "POST", url, headers, body, key_id=f"{actor}#main-key",
                private_key=_keys[key_index(i, j)],
            )
        )  # fmt: skip
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        out.append(
            f"POST /inbox HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n"
            "User-Agent: solo-bench\r\n\r\n".encode("latin-1")
            + body
        )
    return out


def signer_pool(private_pems: list[str], workers: int = 2) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, initializer=_load_keys, initargs=(private_pems,))


def presign(
    pool: ProcessPoolExecutor, world: World, note: str, solo_actor: str, specs: Sequence[Spec]
) -> list[bytes]:
    """Signed raw requests for `specs`, in order."""
    chunk = 500
    futures = [
        pool.submit(_sign_chunk, world, note, solo_actor, list(specs[start : start + chunk]))
        for start in range(0, len(specs), chunk)
    ]
    return [request for future in futures for request in future.result()]


# --- Sending ------------------------------------------------------------------------------------


@dataclass
class Results:
    """(start, end, status) per request; start is the intended send time when paced."""

    samples: list[tuple[float, float, int]] = field(default_factory=list)
    # Closed loop only: request index → (start, end), to match a request with what it caused.
    by_index: dict[int, tuple[float, float]] = field(default_factory=dict)

    def elapsed(self) -> float:
        """Seconds from the first request sent to the last answer."""
        if not self.samples:
            return 0.0
        return max(e for _, e, _ in self.samples) - min(s for s, _, _ in self.samples)

    def summary(self) -> dict[str, Any]:
        return summarise([self])


def summarise(parts: Sequence[Results]) -> dict[str, Any]:
    """`Results.summary` of several runs taken apart (slices of one phase, with pauses between
    them): the rate counts only the time each one ran."""
    samples = [sample for part in parts for sample in part.samples]
    ok = [end - start for start, end, status in samples if status == 202]
    statuses: dict[int, int] = {}
    for _, _, status in samples:
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = sum(part.elapsed() for part in parts)
    return {
        "sent": len(samples),
        "accepted": len(ok),
        "statuses": statuses,
        "elapsed": elapsed,
        "rate": len(ok) / elapsed if elapsed else 0.0,
        "p50": percentile(ok, 50),
        "p99": percentile(ok, 99),
        "max": max(ok, default=math.nan),
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Connection:
    """One keep-alive HTTP/1.1 connection to Solo, reopened when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> int:
        """Send one prepared request; the status, or 0 for a transport error or timeout."""
        try:
            async with asyncio.timeout(EXCHANGE_TIMEOUT):
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                assert self.reader is not None
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
                length = _CONTENT_LENGTH.search(head)
                if length:
                    await self.reader.readexactly(int(length.group(1)))
                if b"connection: close" in head.lower():
                    self.close()
                return int(head[9:12])
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def closed_loop(
    requests: Sequence[bytes], port: int, concurrency: int, duration: float
) -> Results:
    """`concurrency` connections each sending the next request as soon as the last is answered,
    until the requests run out or `duration` seconds have passed."""
    results = Results()
    queue = iter(enumerate(requests))
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        connection = Connection(port)
        try:
            for index, request in queue:
                start = time.perf_counter()
                if start > deadline:
                    break
                status = await connection.exchange(request)
                end = time.perf_counter()
                results.samples.append((start, end, status))
                if status == 202:
                    results.by_index[index] = (start, end)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def paced(requests: Sequence[bytes], port: int, rate: float, connections: int) -> Results:
    """Open loop: request k is due at k / rate seconds; latency counts from when it was due,
    so time spent waiting for a free connection is counted (no coordinated omission)."""
    results = Results()
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(port))

    async def one(due: float, request: bytes) -> None:
        connection = await pool.get()
        try:
            status = await connection.exchange(request)
        finally:
            pool.put_nowait(connection)
        results.samples.append((due, time.perf_counter(), status))

    tasks = []
    begin = time.perf_counter() + 0.05
    for k, request in enumerate(requests):
        due = begin + k / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due, request)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return results


def describe(name: str, summary: dict[str, Any]) -> str:
    """One line: accepted of sent, rate, latency percentiles, and any non-202 statuses."""
    others = {status: n for status, n in summary["statuses"].items() if status != 202}
    line = (
        f"{name}: {summary['accepted']:,}/{summary['sent']:,} accepted in"
        f" {summary['elapsed']:.2f} s = {summary['rate']:,.0f}/s;"
        f" latency p50 {summary['p50'] * 1000:.1f} ms, p99 {summary['p99'] * 1000:.1f} ms,"
        f" max {summary['max'] * 1000:.0f} ms"
    )
    if others:
        line += f"; other answers {others} (0 = no answer)"
    return line


def with_and_without(
    label: str, results: dict[tuple[str, bool], dict[str, Any]], target_ratio: float
) -> list[str]:
    """The report of a feature's cost: for each request, its p99 with the feature (key True) over
    its p99 without (key False), against `target_ratio`; the verdict line, a table after it."""
    names = sorted({name for name, _ in results}, key=len)
    verdicts = []
    lines = [f"  {'what':<38} {label:<8} {'ok':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for name in names:
        none, some = results[(name, False)], results[(name, True)]
        ratio = some["p99"] / none["p99"] if none["p99"] else float("inf")
        met = some["ok"] == some["sent"] and none["ok"] == none["sent"] and ratio <= target_ratio
        word = verdict(
            f"{name}: p99 with {label} over without",
            f"{ratio:.2f}× ({some['p99'] * 1000:.1f} ms)",
            f"≤ {target_ratio}×",
            met,
        )
        verdicts.append(
            f"{name} p99 {some['p99'] * 1000:.1f} ms with vs {none['p99'] * 1000:.1f} ms"
            f" without ({ratio:.2f}×, target ≤ {target_ratio}×: {word})"
        )
        for which, s in (("without", none), ("with", some)):
            lines.append(
                f"  {name:<38} {which:<8} {s['ok']:>4}/{s['sent']:<4} {s['p50'] * 1000:>8.1f}"
                f" {s['p99'] * 1000:>8.1f} {s['max'] * 1000:>8.1f}"
            )
    return [f"{label}: " + "; ".join(verdicts), *lines]


async def one_at_a_time(
    port: int, request: bytes, count: int | None, until: Callable[[], bool] | None = None
) -> list[float]:
    """GET the page one at a time: `count` times, or until `until()` is true."""
    connection = Connection(port)
    times: list[float] = []
    try:
        while (count is None or len(times) < count) and not (until and until()):
            start = time.perf_counter()
            if await connection.exchange(request) != 200:
                raise RuntimeError("the page did not answer 200")
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return times
