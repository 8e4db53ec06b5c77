"""Timelines: the home page over 100,000 statuses with a full home feed.

    python -m bench timelines [--profile]

The database of a fresh instance is seeded in one transaction with 2,000 remote actors on 200
servers (the user follows 500 of them, 1,000 follow the user, 10 are blocked) and 100,000
statuses over 30 days: a few of our own, posts, replies and boosts of followed and unfollowed
actors, every visibility, a few deleted; plus favourites, boosts, bookmarks and notifications.
Then:

1. the start-up feed rebuild, in this process: `Feeds.rebuild()` on the same file, 5 times;
2. `solo serve` on it: time from start to the first answered request (the rebuild included);
3. a login through the form (GET /login for the CSRF token, POST /login), then 200 sequential
   GET / (after 5 unmeasured), 20 clients in a closed loop for 10 s, 200 sequential pages older
   than the in-memory feed (`?max_id=`: the SQL fallback), and /local, /federated and
   /notifications once each;
4. the server's VmRSS and VmHWM after the load;
5. fair service (`bench.fairness`): p99 against p50 of the 20 clients of step 3, and the
   owner's home page while 20 anonymous clients hammer the public profile for 10 s.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import fairness, pyspy_top
from bench.loadgen import Connection, percentile
from bench.procs import CpuShare, Processes, on_solo_cores, proc_status
from bench.summary import verdict as record
from bench.world import World
from solo import urls
from solo.config import Settings
from solo.db import Database
from solo.events import EventBus
from solo.feeds import HOME_RULE, RULES, Feeds
from solo.instance import initialise

STATUSES = 100_000
ACTORS = 2_000
HOSTS = 200
FOLLOWED = 500  # actors 1…500: accepted 'out' follows
PENDING = 20  # actors 501…520: follow requests not yet accepted
FOLLOWERS = 1_000  # actors 1…1000 follow the user
BLOCKED = 10  # the last actors
DAYS = 30
PASSWORD = "benchmark password"

REBUILDS = 5
SEQUENTIAL = 200
WARM_UP = 5
CLIENTS = 20
CONCURRENT_SECONDS = 10.0
FALLBACK_PAGES = 200

TARGET_P99 = 0.030
TARGET_REBUILD = 1.0
TARGET_RSS_MB = 120.0

_PROSE = (
    "the federated timeline shows every public post this server knows about while home keeps"
    " what you follow small servers cost little to run and a single user needs no moderation"
    " queue sqlite holds it all in one file with a write ahead log so readers never wait"
)
WORDS = _PROSE.split(" ")


# --- The database -------------------------------------------------------------------------------


def _content(rng: random.Random, n: int) -> str:
    """Mastodon-shaped sanitized HTML of 300–500 bytes: prose, a link, a mention, a hashtag."""
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 50)))
    head, _, tail = text.partition(" small ")
    return (
        f'<p><span class="h-card" translate="no"><a href="http://h{n % HOSTS:03d}.test/@u{n % 7}"'
        f' class="u-url mention">@<span>u{n % 7}</span></a></span> {head}</p><p>{tail}'
        f' <a href="https://example.org/articles/{n}" rel="nofollow noopener" target="_blank">'
        f'<span class="invisible">https://</span><span class="">example.org/articles/{n}</span>'
        f'</a> <a href="http://h{n % HOSTS:03d}.test/tags/solo" class="mention hashtag"'
        ' rel="tag">#<span>solo</span></a></p>'
    )[:500]


def _actor_rows(now: float) -> list[tuple[Any, ...]]:
    rows = []
    for actor_id in range(1, ACTORS + 1):
        host = f"h{(actor_id - 1) % HOSTS:03d}.test"
        name = f"u{(actor_id - 1) // HOSTS}"
        ap_id = f"http://{host}/users/{name}"
        document = {"id": ap_id, "type": "Person", "preferredUsername": name,
                    "name": f"Remote {name} of {host}", "inbox": f"{ap_id}/inbox"}  # fmt: skip
        rows.append(
            (actor_id, ap_id, name, host, f"Remote {name} of {host}", f"http://{host}/@{name}",
             f"{ap_id}/inbox", f"http://{host}/inbox", json.dumps(document), now)
        )  # fmt: skip
    return rows


def _status_rows(settings: Settings, rng: random.Random, now: float) -> dict[str, Any]:
    """The statuses, oldest first, with ids made as `IdGenerator.next(at=…)` makes them."""
    start = now - DAYS * 86_400
    step = (DAYS * 86_400 - 60) / STATUSES
    rows: list[tuple[Any, ...]] = []
    shown: list[tuple[int, str]] = []  # (id, ap_id) of public/unlisted posts: boost targets
    own: list[int] = []
    mentions: list[tuple[int, int, float]] = []  # (actor, status, at): replies to us, DMs
    boosted: set[tuple[int | None, int]] = set()
    for k in range(STATUSES):
        at = start + k * step + rng.random() * step * 0.5
        row_id = (int(at * 1000) << 16) | (k & 0xFFFF)
        r = rng.random()
        actor: int | None
        if r < 0.03:
            actor = None
        elif r < 0.38:
            actor = rng.randint(1, FOLLOWED)
        else:
            actor = rng.randint(FOLLOWED + 1, ACTORS)
        base = urls.actor(settings) if actor is None else f"http://h{(actor - 1) % HOSTS:03d}.test"
        ap_id = f"{base}/statuses/{row_id}"
        v = rng.random()
        visibility = "public" if v < 0.75 else "unlisted" if v < 0.89 else "private"
        if v >= 0.99 and actor is not None and actor <= FOLLOWED:
            visibility = "direct"
        deleted = now if rng.random() < 0.003 else None
        kind = rng.random()
        target_id = 0
        if kind < 0.10 and shown:
            target_id, _ = shown[-rng.randint(1, min(len(shown), 3_000))]
        if kind < 0.10 and shown and (actor, target_id) not in boosted:
            boosted.add((actor, target_id))
            rows.append((row_id, f"{ap_id}/activity", None, actor, "public", None, None,
                         target_id, "", None, None, at, deleted))  # fmt: skip
            continue
        reply_ap_id = reply_id = None
        to_us = False
        if kind < 0.25 and shown:
            if own and rng.random() < 0.2:
                to_us = True
                reply_id = own[-rng.randint(1, min(len(own), 200))]
                reply_ap_id = urls.status(settings, reply_id)
            elif rng.random() < 0.1:
                reply_ap_id = f"http://elsewhere.test/notes/{k}"  # a parent we never fetched
            else:
                reply_id, reply_ap_id = shown[-rng.randint(1, min(len(shown), 2_000))]
        html = _content(rng, k)
        if actor is None:
            page = urls.status_page(settings, row_id)
            ap_id = urls.status(settings, row_id)
            own.append(row_id)
            raw = None
        else:
            page = f"{base}/@u{(actor - 1) // HOSTS}/{row_id}"
            raw = json.dumps({
                "id": ap_id, "type": "Note", "attributedTo": f"{base}/users/u{actor}",
                "inReplyTo": reply_ap_id, "content": html, "url": page, "published": at,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [], "tag": [],
            })  # fmt: skip
            if visibility == "direct" or to_us:
                mentions.append((actor, row_id, at))
        rows.append((row_id, ap_id, page, actor, visibility, reply_ap_id, reply_id, None, html,
                     "bench" if actor is None else None, raw, at, deleted))  # fmt: skip
        if visibility in ("public", "unlisted") and deleted is None:
            shown.append((row_id, ap_id))
    return {"rows": rows, "own": own, "shown": shown, "mentions": mentions}


def _interactions(
    rng: random.Random, own: list[int], shown: list[tuple[int, str]], now: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(interactions, notifications): favourites and boosts of ours, ours of theirs, blocks."""
    seen: set[tuple[str, int | None, int]] = set()
    interactions: list[tuple[Any, ...]] = []
    notes: list[tuple[Any, ...]] = []

    def add(kind: str, actor: int | None, status: int, at: float) -> None:
        if (kind, actor, status) in seen:
            return
        seen.add((kind, actor, status))
        interactions.append((kind, actor, status, None, at))
        if actor is not None and status in own_set:
            notes.append(("favourite" if kind == "like" else "reblog", actor, status, at))

    own_set = set(own)
    for kind, count, by_us, pool in (
        ("like", 3_000, False, own),
        ("announce", 600, False, own),
        ("like", 2_000, False, [i for i, _ in shown]),
        ("like", 1_500, True, [i for i, _ in shown]),
        ("bookmark", 200, True, [i for i, _ in shown]),
    ):
        for _ in range(count):
            status = pool[-rng.randint(1, min(len(pool), 5_000))]
            actor = None if by_us else rng.randint(1, ACTORS)
            add(kind, actor, status, now - rng.random() * DAYS * 86_400)
    for target in range(ACTORS - BLOCKED + 1, ACTORS + 1):
        interactions.append(("block", None, None, target, now))
    return interactions, notes


def populate(settings: Settings) -> dict[str, int]:
    """Seed the database in one transaction (plain SQL matching 0001_initial.sql)."""
    rng = random.Random(20_260_101)
    now = time.time()
    statuses = _status_rows(settings, rng, now)
    interactions, notes = _interactions(rng, statuses["own"], statuses["shown"], now)
    notes += [("mention", actor, status, at) for actor, status, at in statuses["mentions"]]
    notes += [("follow", a, None, now - rng.random() * DAYS * 86_400) for a in range(1, 1001)]
    notes.sort(key=lambda note: note[3])
    unread = 30
    notifications = [(*note, int(i >= len(notes) - unread)) for i, note in enumerate(notes)]
    follows = [("out", a, f"{urls.actor(settings)}/follows/{a}", "accepted", now)
               for a in range(1, FOLLOWED + 1)]  # fmt: skip
    follows += [("out", a, f"{urls.actor(settings)}/follows/{a}", "pending", now)
                for a in range(FOLLOWED + 1, FOLLOWED + PENDING + 1)]  # fmt: skip
    follows += [("in", a, f"http://h{(a - 1) % HOSTS:03d}.test/follows/{a}", "accepted", now)
                for a in range(1, FOLLOWERS + 1)]  # fmt: skip
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO actors (id, ap_id, username, domain, display_name, url, inbox,"
            " shared_inbox, raw, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _actor_rows(now),
        )
        conn.executemany(
            "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            follows,
        )
        conn.executemany(
            "INSERT INTO statuses (id, ap_id, url, actor_id, visibility, in_reply_to_ap_id,"
            " in_reply_to_id, reblog_of_id, content_html, source_text, raw, published_at,"
            " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            statuses["rows"],
        )
        conn.executemany(
            "INSERT INTO interactions (kind, actor_id, status_id, target_actor_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            interactions,
        )
        conn.executemany(
            "INSERT INTO notifications (type, actor_id, status_id, created_at, read)"
            " VALUES (?, ?, ?, ?, ?)",
            [(t, a, s, at, 1 - unread_flag) for t, a, s, at, unread_flag in notifications],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return {
        "statuses": len(statuses["rows"]),
        "own": len(statuses["own"]),
        "interactions": len(interactions),
        "notifications": len(notifications),
    }


# --- In-process rebuild -------------------------------------------------------------------------


async def time_rebuilds(db_path: Path) -> dict[str, Any]:
    """`Feeds.rebuild()` REBUILDS times, each part timed; the feed sizes; ids for the fallback."""
    db = Database(db_path)
    await db.open()
    try:
        feeds = Feeds(db, EventBus())
        totals: list[float] = []
        parts: dict[str, list[float]] = {name: [] for name in [*RULES, "notifications"]}
        for _ in range(REBUILDS):
            began = time.perf_counter()
            for name in RULES:
                t = time.perf_counter()
                await feeds.rebuild_timeline(name)
                parts[name].append(time.perf_counter() - t)
            t = time.perf_counter()
            await feeds.rebuild_notifications()
            parts["notifications"].append(time.perf_counter() - t)
            totals.append(time.perf_counter() - began)
        sizes = {name: len(feed) for name, feed in feeds.timelines.items()}
        sizes["notifications"] = len(feeds.notifications)
        oldest = feeds.timelines["home"].ids()[-1]
        rows = await db.fetchall(
            f"SELECT s.id FROM statuses s WHERE {HOME_RULE} AND s.id < ?"
            " ORDER BY s.id DESC LIMIT ?",
            (oldest, FALLBACK_PAGES * 20),
        )
    finally:
        await db.close()
    # Pages from just past the feed to ~200 pages deeper.
    max_ids = [oldest, *(row[0] for row in rows[19::20])][:FALLBACK_PAGES]
    return {"totals": totals, "parts": parts, "sizes": sizes, "max_ids": max_ids}


# --- HTTP ---------------------------------------------------------------------------------------


async def log_in(port: int, domain: str) -> str:
    """The session cookie's value, from the login form as a browser would fill it."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": domain}, timeout=10, trust_env=False
    ) as client:
        form = await client.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        if form.status_code != 200 or found is None:
            raise RuntimeError(f"GET /login: {form.status_code}, no CSRF token")
        answer = await client.post(
            "/login", data={"csrf": found.group(1), "username": "bench", "password": PASSWORD}
        )
        cookie = answer.cookies.get("solo_session")
        if answer.status_code != 303 or not cookie:
            raise RuntimeError(f"POST /login: {answer.status_code}, no session cookie")
        return cookie


def request_bytes(path: str, domain: str, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nCookie: solo_session={cookie}\r\n"
        "Accept: text/html\r\nUser-Agent: solo-bench\r\n\r\n"
    ).encode("latin-1")


def summary(samples: list[tuple[float, float, int]]) -> dict[str, Any]:
    ok = [end - start for start, end, status in samples if status == 200]
    statuses: dict[int, int] = {}
    for _, _, status in samples:
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = max(e for _, e, _ in samples) - min(s for s, _, _ in samples) if samples else 0.0
    return {
        "sent": len(samples), "ok": len(ok), "statuses": statuses,
        "rate": len(ok) / elapsed if elapsed else 0.0, "p50": percentile(ok, 50),
        "p99": percentile(ok, 99), "max": max(ok, default=float("nan")),
    }  # fmt: skip


def describe(name: str, s: dict[str, Any]) -> str:
    others = {status: n for status, n in s["statuses"].items() if status != 200}
    line = (
        f"{name}: {s['ok']:,}/{s['sent']:,} answered 200; p50 {s['p50'] * 1000:.1f} ms,"
        f" p99 {s['p99'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms"
    )
    return line + (f"; other answers {others} (0 = no answer)" if others else "")


async def sequential(port: int, requests: list[bytes]) -> list[tuple[float, float, int]]:
    connection = Connection(port)
    samples = []
    try:
        for request in requests:
            start = time.perf_counter()
            status = await connection.exchange(request)
            samples.append((start, time.perf_counter(), status))
    finally:
        connection.close()
    return samples


async def concurrent(port: int, request: bytes) -> list[tuple[float, float, int]]:
    """CLIENTS keep-alive connections, each asking again as soon as it is answered."""
    samples: list[tuple[float, float, int]] = []
    deadline = time.perf_counter() + CONCURRENT_SECONDS

    async def client() -> None:
        connection = Connection(port)
        try:
            while (start := time.perf_counter()) < deadline:
                status = await connection.exchange(request)
                samples.append((start, time.perf_counter(), status))
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return samples


async def sanity(port: int, domain: str, cookie: str) -> list[str]:
    """Each page once, with what it shows: status, size, time, cards."""
    lines = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Host": domain, "Cookie": f"solo_session={cookie}"},
        timeout=30,
        trust_env=False,
    ) as client:
        for path in ("/", "/local", "/federated", "/notifications"):
            began = time.perf_counter()
            answer = await client.get(path)
            took = (time.perf_counter() - began) * 1000
            cards = answer.text.count("<article")
            lines.append(
                f"GET {path}: {answer.status_code}, {len(answer.content) / 1024:.0f} KB,"
                f" {took:.1f} ms, {cards} <article> elements"
            )
    return lines


# --- The run ------------------------------------------------------------------------------------


async def run(*, profile: bool = False) -> None:
    world = World.allocate(processes=0, ports_per_process=0)
    with tempfile.TemporaryDirectory(prefix="solo-bench-timelines-") as tmp_name:
        tmp = Path(tmp_name)
        settings = world.settings(tmp / "data")
        began = time.perf_counter()
        await initialise(settings, PASSWORD)
        counts = populate(settings)
        size = settings.db_path.stat().st_size / 2**20
        print(
            f"timelines: seeded {counts['statuses']:,} statuses ({counts['own']:,} ours),"
            f" {ACTORS:,} actors ({FOLLOWED} followed), {counts['interactions']:,} interactions,"
            f" {counts['notifications']:,} notifications; {size:.0f} MB database, in"
            f" {time.perf_counter() - began:.1f} s"
        )
        with on_solo_cores():
            rebuilt = await time_rebuilds(settings.db_path)
        domain = world.solo_domain
        with Processes(tmp, world) as procs:
            started = procs.start_solo(settings.data_dir)
            ready = await procs.wait_solo()
            assert procs.solo is not None
            pid = procs.solo.pid
            rss_ready = proc_status(pid, "VmRSS")
            cookie = await log_in(world.solo_port, domain)
            home = request_bytes("/", domain, cookie)
            port = world.solo_port
            await sequential(port, [home] * WARM_UP)
            seq = summary(await sequential(port, [home] * SEQUENTIAL))
            share = CpuShare(procs)
            if profile:
                procs.start_profiler("timelines")
            conc = summary(await concurrent(port, home))
            cpu = share.summary()
            profile_path = procs.stop_profiler()
            fallback = [request_bytes(f"/?max_id={i}", domain, cookie) for i in rebuilt["max_ids"]]
            old = summary(await sequential(port, fallback))
            pages = await sanity(port, domain, cookie)
            profile_page = fairness.anonymous_request("/@bench", domain)
            crowd_share = CpuShare(procs)
            mine, theirs = await fairness.owner_among_crowd(port, profile_page, home)
            crowd_cpu = crowd_share.summary()
            owner, crowd = summary(mine), summary(theirs)
            rss, hwm = proc_status(pid, "VmRSS"), proc_status(pid, "VmHWM")
            log_tail = procs.solo_log_tail()
        report(rebuilt, ready - started, rss_ready, seq, conc, cpu, old, pages, rss, hwm)
        print(fairness.spread_line(conc, CLIENTS))
        print(fairness.owner_line(owner))
        print("  " + describe(f"GET / by the owner among {fairness.CROWD} others", owner))
        print(
            "  "
            + describe(f"GET /@bench by {fairness.CROWD} anonymous clients", crowd)
            + f"; {crowd['rate']:,.0f} requests/s"
        )
        print(f"    {crowd_cpu}")
        if any(s["ok"] < s["sent"] for s in (seq, conc, old, owner, crowd)):
            print(f"  Solo's log ends with:\n{log_tail}")
        if profile_path is not None:
            pyspy_top.report(profile_path)


def report(
    rebuilt: dict[str, Any],
    start_to_ready: float,
    rss_ready: float,
    seq: dict[str, Any],
    conc: dict[str, Any],
    cpu: str,
    old: dict[str, Any],
    pages: list[str],
    rss: float,
    hwm: float,
) -> None:
    rebuild = statistics.median(rebuilt["totals"])
    home_met = seq["ok"] == seq["sent"] and seq["p99"] <= TARGET_P99
    parts = ", ".join(
        f"{name} {statistics.median(times) * 1000:.0f} ms"
        for name, times in rebuilt["parts"].items()
    )
    sizes = ", ".join(f"{name} {n}" for name, n in rebuilt["sizes"].items())
    home_word = record(
        "home p99, one at a time",
        f"{seq['p99'] * 1000:.1f} ms",
        f"≤ {TARGET_P99 * 1000:.0f} ms",
        home_met,
    )
    rebuild_word = record(
        "feed rebuild, median",
        f"{rebuild * 1000:.0f} ms",
        f"≤ {TARGET_REBUILD:.0f} s",
        rebuild <= TARGET_REBUILD,
    )
    rss_word = record(
        "Solo's peak RSS", f"{hwm:.0f} MB", f"≤ {TARGET_RSS_MB:.0f} MB", hwm <= TARGET_RSS_MB
    )
    print(
        f"timelines: home p99 {seq['p99'] * 1000:.1f} ms one at a time (target ≤"
        f" {TARGET_P99 * 1000:.0f} ms: {home_word});"
        f" feed rebuild {rebuild * 1000:.0f} ms (target ≤ {TARGET_REBUILD:.0f} s:"
        f" {rebuild_word}); RSS after load {rss:.0f} MB, peak {hwm:.0f} MB"
        f" (target ≤ {TARGET_RSS_MB:.0f} MB: {rss_word})"
    )
    print(
        f"  feed rebuild in-process, {REBUILDS} runs: median {rebuild * 1000:.0f} ms, max"
        f" {max(rebuilt['totals']) * 1000:.0f} ms ({parts}); feed sizes: {sizes}"
    )
    print(
        f"  solo serve → first answered request {start_to_ready:.2f} s (rebuild included);"
        f" RSS at ready {rss_ready:.0f} MB"
    )
    print("  " + describe(f"GET / × {SEQUENTIAL}, one at a time", seq))
    print(
        "  "
        + describe(f"GET /, {CLIENTS} clients for {CONCURRENT_SECONDS:.0f} s", conc)
        + f"; {conc['rate']:,.0f} requests/s"
    )
    print(f"    {cpu}")
    print(
        "  " + describe(f"GET /?max_id= past the in-memory feed × {len(rebuilt['max_ids'])}", old)
    )
    for line in pages:
        print(f"  {line}")
    print(f"  RSS after the load: VmRSS {rss:.0f} MB, VmHWM {hwm:.0f} MB")
