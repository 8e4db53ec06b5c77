"""The client API: the home timeline over 100,000 statuses, and the streaming fan-out delay.

    python -m bench api [--profile]

The world of `bench/timelines.py` (100,000 statuses, 2,000 actors, the user following 500 of
them, a full home feed), one of the followed actors given an RSA key so that its posts verify
without a fetch. Then, against `solo serve`:

1. an OAuth token through the password grant (POST /api/v1/apps, POST /oauth/token);
2. `GET /api/v1/timelines/home?limit=40` with the bearer token, 200 times one at a time after 5
   unmeasured, over a raw keep-alive socket; then 200 older pages, following `Link: rel="next"`
   from the first (past the in-memory feed: the SQL fallback);
3. 100 streams on the user stream (half Server-Sent Events on /api/v1/streaming/user, half
   WebSockets on /api/v1/streaming?stream=user), then POSTS signed Create(Note)s from the
   followed actor to the shared inbox, one at a time: for each, the time from just before the
   POST is written until the `update` naming the note has arrived on each stream.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection, connect

from bench import pyspy_top
from bench.loadgen import Connection, percentile
from bench.procs import CpuShare, Processes, proc_status
from bench.summary import verdict
from bench.timelines import ACTORS, FOLLOWED, PASSWORD, populate
from bench.world import World
from solo.activitystreams import AS_CONTEXT, PUBLIC
from solo.federation.signatures import sign_headers
from solo.instance import initialise

SEQUENTIAL = 200
WARM_UP = 5
OLDER_PAGES = 200
SSE_STREAMS = 50
WS_STREAMS = 50
POSTS = 10
POST_GAP = 0.3  # seconds between two posts, so that each is measured alone
ARRIVAL_TIMEOUT = 10.0

TARGET_HOME_P99 = 0.030
TARGET_FANOUT = 0.100

AUTHOR_ROW = 1  # actors row 1 is followed (rows 1…FOLLOWED are)
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def give_key(db_path: Path, public_pem: str) -> str:
    """Give the followed actor a cached key, as if Solo had fetched it; returns its ap_id."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        (ap_id,) = conn.execute("SELECT ap_id FROM actors WHERE id = ?", (AUTHOR_ROW,)).fetchone()
        conn.execute(
            "UPDATE actors SET key_id = ?, public_key_pem = ? WHERE id = ?",
            (f"{ap_id}#main-key", public_pem, AUTHOR_ROW),
        )
    finally:
        conn.close()
    return str(ap_id)


async def get_token(port: int, domain: str) -> str:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": domain}, timeout=30, trust_env=False
    ) as client:
        app = await client.post(
            "/api/v1/apps",
            json={"client_name": "bench", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                  "scopes": "read write"},
        )  # fmt: skip
        app.raise_for_status()
        registered = app.json()
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "password", "client_id": registered["client_id"],
                  "client_secret": registered["client_secret"], "username": "bench",
                  "password": PASSWORD, "scope": "read write"},
        )  # fmt: skip
        token.raise_for_status()
        return str(token.json()["access_token"])


def get_bytes(path: str, domain: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nUser-Agent: solo-bench\r\n\r\n"
    ).encode("latin-1")


async def timed(port: int, requests: list[bytes]) -> dict[str, Any]:
    """Each request in turn over one keep-alive connection: answers and latencies."""
    connection = Connection(port)
    ok: list[float] = []
    statuses: dict[int, int] = {}
    try:
        for request in requests:
            start = time.perf_counter()
            status = await connection.exchange(request)
            if status == 200:
                ok.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        connection.close()
    return {
        "sent": len(requests), "ok": len(ok), "statuses": statuses,
        "p50": percentile(ok, 50), "p99": percentile(ok, 99), "max": max(ok, default=float("nan")),
    }  # fmt: skip


async def older_pages(port: int, domain: str, token: str) -> tuple[list[str], dict[str, Any]]:
    """The path of each page reached by following `rel="next"`, and the first page's shape."""
    paths: list[str] = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Authorization": f"Bearer {token}"},
        timeout=30,
        trust_env=False,
    ) as client:
        answer = await client.get("/api/v1/timelines/home", params={"limit": 40})
        shape = {"status": answer.status_code, "count": len(answer.json()),
                 "bytes": len(answer.content)}  # fmt: skip
        link = answer.headers.get("link", "")
        while len(paths) < OLDER_PAGES and (found := _NEXT.match(link)):
            url = httpx.URL(found.group(1))
            path = f"{url.raw_path.decode()}"
            paths.append(path)
            answer = await client.get(path)
            if answer.status_code != 200 or not answer.json():
                break
            link = answer.headers.get("link", "")
    return paths, shape


# --- Streams ------------------------------------------------------------------------------------


class Arrivals:
    """When each stream saw each note: marker → {stream number: perf_counter}."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[int, float]] = {}
        self.expected: set[str] = set()

    def look(self, stream: int, text: str) -> None:
        now = time.perf_counter()
        for marker in self.expected:
            if marker in text:
                self.seen.setdefault(marker, {}).setdefault(stream, now)


async def sse_stream(
    number: int, port: int, domain: str, token: str, arrivals: Arrivals, ready: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(get_bytes("/api/v1/streaming/user", domain, token))
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"SSE stream refused: {head[:60]!r}")
        ready.set()
        tail = ""
        while chunk := await reader.read(65536):
            text = tail + chunk.decode("utf-8", "replace")
            arrivals.look(number, text)
            tail = text[-200:]  # a marker cut between two reads
    finally:
        writer.close()


async def ws_stream(
    number: int, port: int, token: str, arrivals: Arrivals, ready: asyncio.Event
) -> None:
    socket: ClientConnection
    async with connect(
        f"ws://127.0.0.1:{port}/api/v1/streaming?stream=user",
        additional_headers={"Authorization": f"Bearer {token}"},
        proxy=None,
        max_size=2**20,
    ) as socket:
        ready.set()
        async for message in socket:
            arrivals.look(number, message if isinstance(message, str) else message.decode())


def create_note(author: str, marker: str) -> dict[str, Any]:
    audience = {"to": [PUBLIC], "cc": [f"{author}/followers"]}
    published = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "@context": AS_CONTEXT,
        "id": f"{marker}/activity",
        "type": "Create",
        "actor": author,
        "published": published,
        **audience,
        "object": {
            "id": marker, "type": "Note", "attributedTo": author, "inReplyTo": None,
            "published": published, "url": marker, **audience, "sensitive": False,
            "content": "<p>Streaming fan-out benchmark: the quick brown fox jumps over the"
                       " lazy dog.</p>",
            "attachment": [], "tag": [],
        },
    }  # fmt: skip


def signed_post(world: World, author: str, key: rsa.RSAPrivateKey, marker: str) -> bytes:
    body = json.dumps(create_note(author, marker), separators=(",", ":")).encode()
    url = f"http://{world.solo_domain}/inbox"
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        sign_headers("POST", url, headers, body, key_id=f"{author}#main-key", private_key=key)
    )
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /inbox HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n"
        "User-Agent: solo-bench\r\n\r\n".encode("latin-1")
    ) + body


async def fan_out(world: World, token: str, author: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """Open the streams, send the posts one by one; per post, the delay to each stream."""
    port, domain = world.solo_port, world.solo_domain
    arrivals = Arrivals()
    readies = [asyncio.Event() for _ in range(SSE_STREAMS + WS_STREAMS)]
    tasks = [
        asyncio.create_task(sse_stream(n, port, domain, token, arrivals, readies[n]))
        for n in range(SSE_STREAMS)
    ] + [
        asyncio.create_task(ws_stream(n, port, token, arrivals, readies[n]))
        for n in range(SSE_STREAMS, SSE_STREAMS + WS_STREAMS)
    ]
    streams = len(tasks)
    per_post: list[list[float]] = []
    missing = 0
    accepted: dict[int, int] = {}
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(0.5)  # every stream subscribed on the server's side too
        inbox = Connection(port)
        try:
            for n in range(POSTS):
                marker = f"{author}/statuses/api-bench-{n}-{time.time_ns()}"
                request = signed_post(world, author, key, marker)
                arrivals.expected.add(marker)
                sent = time.perf_counter()
                status = await inbox.exchange(request)
                accepted[status] = accepted.get(status, 0) + 1
                deadline = sent + ARRIVAL_TIMEOUT
                while len(arrivals.seen.get(marker, {})) < streams:
                    if time.perf_counter() > deadline:
                        break
                    await asyncio.sleep(0.001)
                seen = arrivals.seen.get(marker, {})
                missing += streams - len(seen)
                per_post.append(sorted(at - sent for at in seen.values()))
                arrivals.expected.discard(marker)
                await asyncio.sleep(POST_GAP)
        finally:
            inbox.close()
        failed = [task for task in tasks if task.done()]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"per_post": per_post, "missing": missing, "accepted": accepted,
            "streams": streams, "closed_early": len(failed)}  # fmt: skip


# --- The run ------------------------------------------------------------------------------------


async def run(*, profile: bool = False) -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        await initialise(settings, PASSWORD)
        counts = populate(settings)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        author = give_key(settings.db_path, public_pem.decode())
        print(
            f"api: seeded {counts['statuses']:,} statuses, {ACTORS:,} actors ({FOLLOWED}"
            f" followed), {counts['notifications']:,} notifications in"
            f" {time.perf_counter() - began:.1f} s"
        )
        domain, port = world.solo_domain, world.solo_port
        with Processes(tmp, world) as procs:
            procs.start_solo(settings.data_dir)
            await procs.wait_solo()
            assert procs.solo is not None
            token = await get_token(port, domain)
            home = get_bytes("/api/v1/timelines/home?limit=40", domain, token)
            await timed(port, [home] * WARM_UP)
            share = CpuShare(procs)
            if profile:
                procs.start_profiler("api")
            newest = await timed(port, [home] * SEQUENTIAL)
            cpu = share.summary()
            profile_path = procs.stop_profiler()
            paths, shape = await older_pages(port, domain, token)
            older = await timed(port, [get_bytes(path, domain, token) for path in paths])
            streamed = await fan_out(world, token, author, key)
            rss = proc_status(procs.solo.pid, "VmHWM")
            log_tail = procs.solo_log_tail()
        report(newest, shape, older, cpu, streamed, rss)
        if newest["ok"] < newest["sent"] or streamed["missing"]:
            print(f"  Solo's log ends with:\n{log_tail}")
        if profile_path is not None:
            pyspy_top.report(profile_path)


def _line(name: str, s: dict[str, Any]) -> str:
    others = {status: n for status, n in s["statuses"].items() if status != 200}
    text = (
        f"{name}: {s['ok']:,}/{s['sent']:,} answered 200; p50 {s['p50'] * 1000:.1f} ms,"
        f" p99 {s['p99'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms"
    )
    return text + (f"; other answers {others} (0 = no answer)" if others else "")


def report(
    newest: dict[str, Any],
    shape: dict[str, Any],
    older: dict[str, Any],
    cpu: str,
    streamed: dict[str, Any],
    rss: float,
) -> None:
    home_met = newest["ok"] == newest["sent"] and newest["p99"] <= TARGET_HOME_P99
    slowest = [max(delays) for delays in streamed["per_post"] if delays]
    medians = [statistics.median(delays) for delays in streamed["per_post"] if delays]
    every = max(slowest, default=float("nan"))
    fan_met = streamed["missing"] == 0 and every <= TARGET_FANOUT
    home_word = verdict(
        "GET /api/v1/timelines/home p99",
        f"{newest['p99'] * 1000:.1f} ms",
        f"≤ {TARGET_HOME_P99 * 1000:.0f} ms",
        home_met,
    )
    fan_word = verdict(
        f"inbox → {streamed['streams']} streams, slowest",
        f"{every * 1000:.1f} ms, {streamed['missing']} missing",
        f"≤ {TARGET_FANOUT * 1000:.0f} ms",
        fan_met,
    )
    print(
        f"api: home p99 {newest['p99'] * 1000:.1f} ms one at a time (target ≤"
        f" {TARGET_HOME_P99 * 1000:.0f} ms: {home_word}); streaming fan-out to"
        f" {streamed['streams']} streams, slowest stream {every * 1000:.1f} ms (target ≤"
        f" {TARGET_FANOUT * 1000:.0f} ms: {fan_word})"
    )
    print(
        f"  {'what':<44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}\n"
        + "\n".join(
            f"  {name:<44} {s['ok']:>5} {s['p50'] * 1000:>8.1f} {s['p99'] * 1000:>8.1f}"
            f" {s['max'] * 1000:>8.1f}"
            for name, s in (
                ("GET /api/v1/timelines/home?limit=40", newest),
                (f"  older pages via Link rel=next (× {older['sent']})", older),
            )
        )
    )
    for name, s in (("home", newest), ("older pages", older)):
        if s["ok"] < s["sent"]:
            print("  " + _line(name, s))
    print(f"  while measuring home: {cpu}")
    print(
        f"  first page: {shape['status']}, {shape['count']} statuses,"
        f" {shape['bytes'] / 1024:.0f} KB"
    )
    print(
        f"  fan-out: {len(streamed['per_post'])} signed posts to the inbox, answers"
        f" {streamed['accepted']}; {SSE_STREAMS} SSE + {WS_STREAMS} WebSocket streams;"
        f" {streamed['missing']} arrivals missing; {streamed['closed_early']} streams closed"
    )
    print(
        f"  {'post':<6} {'p50 ms':>8} {'max ms':>8}\n"
        + "\n".join(
            f"  {n:<6} {median * 1000:>8.1f} {slow * 1000:>8.1f}"
            for n, (median, slow) in enumerate(zip(medians, slowest, strict=True))
        )
    )
    if slowest:
        print(
            f"  over {len(slowest)} posts: median of per-post p50"
            f" {statistics.median(medians) * 1000:.1f} ms, median of per-post max"
            f" {statistics.median(slowest) * 1000:.1f} ms, max {every * 1000:.1f} ms;"
            f" Solo's peak RSS {rss:.0f} MB"
        )
