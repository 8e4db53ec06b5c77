"""Speed on the wire: what the home page costs a phone on a slow network.

    python -m bench wire

A fresh instance (`solo serve` on 127.0.0.1) with 20 posts of ordinary length in its home feed,
logged in, then:

- **bytes**: the home page as sent with no compression, gzip and brotli, on a first visit (the
  stylesheet inlined) and on later ones (linked); the CSS and JS it links or prefetches, as
  brotli (what Chromium takes) and gzip, summed (target ≤ 40 KB compressed);
- **first paint** in Debian's Chromium (Playwright, headless) under DevTools' "Slow 4G"
  preset, set through CDP `Network.emulateNetworkConditions`: 562.5 ms latency (150 ms × 3.75),
  1.44 Mbit/s down (1.6 × 0.9 = 180,000 B/s), 675 kbit/s up (84,375 B/s). `first-paint` read
  from `performance.getEntriesByType('paint')`, median of RUNS page loads, on a first visit
  (empty cache: the stylesheet comes inside the page) and on a return visit (the hashed CSS
  and JS cached as immutable): target ≤ 1 s;
- **p99** of `GET /` one request at a time and with CONCURRENCY clients at once, the encodings
  interleaved request by request so that all see the same load on the machine: brotli and gzip
  against no compression ("today's" cost, as before compression), target ≤ 1.2×.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from bench.loadgen import percentile
from bench.procs import cpu_seconds, pin_solo
from bench.summary import verdict
from solo.config import Settings
from solo.edge.assets import CSS_COOKIE
from solo.instance import initialise

PASSWORD = "benchmark password"
POSTS = 20
RUNS = 5
ROUNDS = 3
# Requests per encoding and round, one at a time. With 100, a round's p99 was its one or two
# slowest requests and the ratio swung 0.87–1.30× between runs while Solo's CPU per page and the
# p50 were the same in every encoding; with 300 it is the third slowest.
SEQUENTIAL = 300
CONCURRENCY = 8
CONCURRENT = 200  # requests per encoding and round, CONCURRENCY at a time
CPU_REQUESTS = 200
TARGET_PAINT_MS = 1000.0
TARGET_ASSETS = 40 * 1024
TARGET_RATIO = 1.2
CHROMIUM = Path("/usr/bin/chromium")
SLOW_4G = {
    "offline": False,
    "latency": 150 * 3.75,
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
    "uploadThroughput": 750 * 1000 / 8 * 0.9,
}
ENCODINGS = {"none": "identity", "gzip": "gzip", "br": "br"}
TEXTS = (
    "Morning walk along the river: the herons are back, three of them on the old pier, and the"
    " fog lifted just as the sun came over the hill. #photography #nature",
    "Reading about SQLite's WAL mode again. One writer, many readers, and checkpoints that you"
    " can leave to Litestream. Still the nicest database to run on a small machine.",
    "Does anyone have a good recipe for a sourdough starter that survives a week of neglect?"
    " Mine keeps dying while I am away. Asking for a friend (the friend is me).",
    "New release of the little server I run on a Raspberry Pi: pages now arrive compressed and"
    " the stylesheet is cached for a year. https://example.org/notes/release",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def _prepare(client: httpx.AsyncClient) -> None:
    """Log in and write the 20 posts through the web form, as the owner would."""
    token = await _csrf(client, "/login")
    fields = {"csrf": token, "username": "me", "password": PASSWORD}
    login = await client.post("/login", data=fields)
    assert login.status_code == 303, login.text
    for n in range(POSTS):
        token = await _csrf(client, "/")
        text = f"{TEXTS[n % len(TEXTS)]} ({n + 1})"
        posted = await client.post("/statuses", data={"csrf": token, "text": text})
        assert posted.status_code == 303, posted.text


async def _raw(client: httpx.AsyncClient, path: str, coding: str) -> bytes:
    async with client.stream("GET", path, headers={"Accept-Encoding": coding}) as response:
        assert response.status_code == 200, (path, response.status_code)
        return b"".join([chunk async for chunk in response.aiter_raw()])


async def _page_sizes(client: httpx.AsyncClient, label: str) -> None:
    sizes = {name: len(await _raw(client, "/", coding)) for name, coding in ENCODINGS.items()}
    print(
        f"  home page, {label}: {sizes['none']:,} B uncompressed, {sizes['gzip']:,} B gzip,"
        f" {sizes['br']:,} B brotli"
    )


async def _bytes(client: httpx.AsyncClient) -> None:
    """The page as a first visit gets it (the stylesheet inlined) and as later ones do (linked,
    once the stylesheet's answer has set its cookie), and the CSS and JS files."""
    print(f"wire: the home page with {POSTS} posts, logged in")
    await _page_sizes(client, "first visit (stylesheet inlined)")
    page = (await client.get("/")).text
    assets = re.findall(r'<link rel="(?:stylesheet|prefetch)" href="([^"]+)"', page)
    assets += re.findall(r'<script src="([^"]+)"', page)
    for path in assets:
        await client.get(path)  # as a browser would: the stylesheet's answer sets its cookie
    await _page_sizes(client, "later visits (stylesheet linked)")
    totals = dict.fromkeys(ENCODINGS, 0)
    for path in assets:
        for name, coding in ENCODINGS.items():
            totals[name] += len(await _raw(client, path, coding))
    word = verdict(
        "CSS+JS, brotli", f"{totals['br']:,} B", f"≤ {TARGET_ASSETS // 1024} KB",
        totals["br"] <= TARGET_ASSETS,
    )  # fmt: skip
    print(
        f"  CSS+JS ({', '.join(a.rsplit('/', 1)[-1] for a in assets)}): {totals['none']:,} B,"
        f" {totals['gzip']:,} B gzip, {totals['br']:,} B brotli"
        f" (target ≤ {TARGET_ASSETS // 1024} KB: {word})"
    )


async def _paint(base_url: str, cookies: dict[str, str]) -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        print(f"  first paint: skipped, no Chromium at {CHROMIUM}")
        return
    cold: list[float] = []
    warm: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for _ in range(RUNS):
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                await context.add_cookies(
                    [
                        {"name": name, "value": value, "url": base_url}
                        for name, value in cookies.items()
                    ]
                )
                page = await context.new_page()
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await cdp.send("Network.emulateNetworkConditions", SLOW_4G)
                for into in (cold, warm):
                    await page.goto(f"{base_url}/", wait_until="load")
                    # The paint may come after `load` on a fast (cached) visit: wait for it.
                    found = await page.wait_for_function(
                        "() => performance.getEntriesByType('paint')"
                        ".filter(e => e.name === 'first-paint').map(e => e.startTime)[0]",
                        timeout=30_000,
                    )
                    first = await found.json_value()
                    into.append(float(first))
                await context.close()
        finally:
            await browser.close()
    print(
        "  first paint on Slow 4G (562.5 ms latency, 1.44 Mbit/s down, 675 kbit/s up),"
        f" median of {RUNS}:"
    )
    for label, values in (("first visit", cold), ("return visit", warm)):
        median = statistics.median(values)
        word = verdict(
            f"first paint on Slow 4G, {label}",
            f"{median:.0f} ms",
            f"≤ {TARGET_PAINT_MS:.0f} ms",
            median <= TARGET_PAINT_MS,
        )
        print(
            f"    {label}: {median:.0f} ms (min {min(values):.0f}, max {max(values):.0f};"
            f" target ≤ {TARGET_PAINT_MS:.0f} ms: {word})"
        )


async def _timed(client: httpx.AsyncClient, coding: str) -> float:
    started = time.perf_counter()
    await _raw(client, "/", coding)
    return (time.perf_counter() - started) * 1000


async def _cpu(client: httpx.AsyncClient, pid: int) -> None:
    """Solo's CPU time per home page in each encoding, interleaved request by request: what
    compression costs the server, steadier than latency on a machine that others share. (The
    kernel counts in 10 ms ticks: summed over many requests, the rounding evens out.)"""
    costs = dict.fromkeys(ENCODINGS, 0.0)
    for _ in range(CPU_REQUESTS):
        for name, coding in ENCODINGS.items():
            before = cpu_seconds(pid)
            await _timed(client, coding)
            costs[name] += cpu_seconds(pid) - before
    per = {name: total / CPU_REQUESTS * 1000 for name, total in costs.items()}
    print(
        f"  Solo's CPU per GET / ({CPU_REQUESTS} each, one at a time): none {per['none']:.1f} ms,"
        f" gzip {per['gzip']:.1f} ms, br {per['br']:.1f} ms"
    )


async def _latency(client: httpx.AsyncClient) -> None:
    for coding in ENCODINGS.values():  # warm-up
        for _ in range(10):
            await _timed(client, coding)
    print(
        f"  GET / latency, the encodings interleaved request by request; p99 the median of"
        f" {ROUNDS} rounds' p99:"
    )
    for label, count, parallel in (
        ("one at a time", SEQUENTIAL, 1),
        (f"{CONCURRENCY} at once", CONCURRENT, CONCURRENCY),
    ):
        p99s: dict[str, list[float]] = {name: [] for name in ENCODINGS}
        p50s: dict[str, list[float]] = {name: [] for name in ENCODINGS}
        for _ in range(ROUNDS):
            samples: dict[str, list[float]] = {name: [] for name in ENCODINGS}

            async def worker(n: int, samples: dict[str, list[float]] = samples) -> None:
                for _ in range(n):
                    for name, coding in ENCODINGS.items():
                        samples[name].append(await _timed(client, coding))

            await asyncio.gather(*(worker(count // parallel) for _ in range(parallel)))
            for name, values in samples.items():
                p99s[name].append(percentile(values, 99))
                p50s[name].append(percentile(values, 50))
        p99 = {name: statistics.median(values) for name, values in p99s.items()}
        p50 = {name: statistics.median(values) for name, values in p50s.items()}
        parts = []
        for name in ("gzip", "br"):
            ratio = p99[name] / p99["none"]
            word = verdict(
                f"GET / p99, {name} over none, {label}",
                f"{ratio:.2f}×",
                f"≤ {TARGET_RATIO}×",
                ratio <= TARGET_RATIO,
            )
            parts.append(
                f"{name} {p99[name]:.1f} ms ({ratio:.2f}×, target ≤ {TARGET_RATIO}×: {word})"
            )
        print(f"    {label}: p99 none {p99['none']:.1f} ms, " + ", ".join(parts))
        print(
            f"      (p50 none {p50['none']:.1f} ms, gzip {p50['gzip']:.1f} ms,"
            f" br {p50['br']:.1f} ms)"
        )


async def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        domain = f"127.0.0.1:{port}"
        data_dir = Path(tmp) / "data"
        settings = Settings(data_dir=data_dir, domain=domain, username="me", scheme="http")
        await initialise(settings, PASSWORD)
        env = {
            **os.environ,
            "SOLO_DATA_DIR": str(data_dir),
            "SOLO_PORT": str(port),
            "SOLO_DOMAIN": domain,
            "SOLO_SCHEME": "http",
            "SOLO_USERNAME": "me",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "solo",
            "serve",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pin_solo(process.pid)
        base_url = f"http://{domain}"
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        await client.get("/.well-known/nodeinfo")
                        break
                    except httpx.TransportError:
                        if process.returncode is not None or time.monotonic() > deadline:
                            raise RuntimeError("solo serve did not start") from None
                        await asyncio.sleep(0.05)
                await _prepare(client)
                await _bytes(client)
                # The login alone: a first visit has no stylesheet, nor its cookie.
                await _paint(base_url, {k: v for k, v in client.cookies.items() if k != CSS_COOKIE})
                await _cpu(client, process.pid)
                await _latency(client)
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
