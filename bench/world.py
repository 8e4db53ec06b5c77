"""The simulated fediverse of the federation benchmarks: its shape, keys, documents and database.

10,000 servers `hNNNN.test:PORT`, spread over the few fake-fleet processes (host i lives on
fleet port `ports[i % len(ports)]`). Actor `uJ` of host i is `http://hNNNN.test:PORT/users/uJ`;
u0…u4 follow the Solo user (50,000 followers), higher numbers are strangers Solo has never seen.
Actors share a few RSA keys (key generation costs 30–70 ms each), but each has its own keyId.
"""

from __future__ import annotations

import json
import random
import socket
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from solo import urls
from solo.activitystreams import AS_CONTEXT, PUBLIC, SECURITY_CONTEXT
from solo.config import Settings
from solo.db import Database
from solo.federation.audience import FOLLOWERS
from solo.federation.delivery import enqueue_delivery
from solo.ids import IdGenerator

HOSTS = 10_000
FOLLOWERS_PER_HOST = 5
KEYS = 50
USERNAME = "bench"
# Strangers whose keys cannot be had (user numbers the fleet serves no actor for): their keyId
# answers 404 or 410, never answers (the read limit ends it), or drips one byte a second (the
# total deadline ends it). See `bench coldkeys`.
MISSING, GONE, SILENT, DRIP = 404, 410, 408, 499
BAD_KEYS = (MISSING, GONE, SILENT, DRIP)


def host_name(i: int) -> str:
    return f"h{i:04d}.test"


def key_index(i: int, j: int) -> int:
    return (i * FOLLOWERS_PER_HOST + j) % KEYS


def free_port() -> int:
    """A free port below the ephemeral range (32768–60999 by default): a port the kernel hands
    out for outgoing connections can be taken, between this check and the server's bind, by
    any of the thousands of connections a benchmark (or another one beside it) makes."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found between 20000 and 32000")


@dataclass(frozen=True)
class World:
    """Where everything lives in one benchmark run.

    Each fleet process listens on several ports: 10,000 connections to one (address, port)
    would leave as many sockets in TIME_WAIT, and connect() then spends its time searching for
    a free local port, which real servers, each at its own address, never cause.
    """

    solo_port: int
    fleet_ports: tuple[int, ...]
    fleet_processes: int
    hosts: int = HOSTS  # servers in this world (the celebrity of `fanout` has 50,000)

    @classmethod
    def allocate(
        cls, processes: int = 2, ports_per_process: int = 10, *, hosts: int = HOSTS
    ) -> World:
        chosen: set[int] = set()
        while len(chosen) < processes * ports_per_process + 1:
            chosen.add(free_port())
        solo, *ports = chosen
        return cls(solo, tuple(ports), processes, hosts)

    def process_ports(self, process: int) -> tuple[int, ...]:
        return self.fleet_ports[process :: self.fleet_processes]

    @property
    def solo_domain(self) -> str:
        return f"solo.test:{self.solo_port}"

    def authority(self, i: int) -> str:
        return f"{host_name(i)}:{self.fleet_ports[i % len(self.fleet_ports)]}"

    def actor(self, i: int, j: int) -> str:
        return f"http://{self.authority(i)}/users/u{j}"

    def settings(self, data_dir: Path) -> Settings:
        return Settings(
            data_dir=data_dir,
            domain=self.solo_domain,
            scheme="http",
            username=USERNAME,
            port=self.solo_port,
            allow_private_addresses=True,
            resolve="*.test=127.0.0.1",
        )


def actor_document(authority: str, j: int, public_pem: str) -> dict[str, Any]:
    """The Person a fleet server serves for `uJ` (and what the database is seeded with)."""
    actor = f"http://{authority}/users/u{j}"
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": actor,
        "type": "Person",
        "preferredUsername": f"u{j}",
        "name": f"Bench user {j} of {authority}",
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
        "endpoints": {"sharedInbox": f"http://{authority}/inbox"},
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public_pem},
    }


# --- Keys ---------------------------------------------------------------------------------------


def _one_key(_: int) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def generate_keys(pool: ProcessPoolExecutor) -> list[tuple[str, str]]:
    """KEYS (private PEM, public PEM) pairs, RSA-2048 like every real fediverse actor."""
    return list(pool.map(_one_key, range(KEYS)))


# --- Activities ---------------------------------------------------------------------------------

NOTE_HTML = (
    "<p>Solo fan-out benchmark: one public post to every follower's server. "
    + "The quick brown fox jumps over the lazy dog. " * 8
    + '<a href="https://example.org/tags/bench" class="mention hashtag" rel="tag">#<span>bench'
    "</span></a></p>"
)


def create_note(settings: Settings, status_id: int, published: str) -> dict[str, Any]:
    """The Create(Note) that posting a public status sends, in Mastodon's shape."""
    note = urls.status(settings, status_id)
    actor = urls.actor(settings)
    audience = {"to": [PUBLIC], "cc": [urls.followers(settings)]}
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": f"{note}/activity",
        "type": "Create",
        "actor": actor,
        "published": published,
        **audience,
        "object": {
            "id": note,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": published,
            "url": urls.status_page(settings, status_id),
            "attributedTo": actor,
            **audience,
            "sensitive": False,
            "content": NOTE_HTML,
            "attachment": [],
            "tag": [],
        },
    }


def like(actor: str, seq: int, note: str) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{actor}/likes/{seq}",
        "type": "Like",
        "actor": actor,
        "object": note,
    }


def reply(actor: str, seq: int, note: str, solo_actor: str) -> dict[str, Any]:
    """A public Create(Note) answering `note`, mentioning its author, as Mastodon sends it."""
    reply_id = f"{actor}/statuses/{seq}"
    audience = {"to": [PUBLIC], "cc": [f"{actor}/followers", solo_actor]}
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": f"{reply_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": "2026-01-01T00:00:00Z",
        **audience,
        "object": {
            "id": reply_id,
            "type": "Note",
            "inReplyTo": note,
            "published": "2026-01-01T00:00:00Z",
            "attributedTo": actor,
            **audience,
            "content": f"<p>Congratulations, reply number {seq}!</p>",
            "tag": [{"type": "Mention", "href": solo_actor}],
        },
    }


# --- The database -------------------------------------------------------------------------------


def populate(world: World, settings: Settings, public_pems: list[str]) -> tuple[int, str]:
    """Seed 5 followers on each of the world's servers (50,000 on 10,000) and one public local
    status, in one transaction.

    Plain SQL matching 0001_initial.sql (what `upsert_actor` and `put_follow` write), because
    100,000 one-row async calls would take longer than the benchmarks. Returns the status row id
    and its ActivityPub id.
    """
    now = time.time()

    def actors() -> Iterator[tuple[Any, ...]]:
        # Generated as they are inserted: 250,000 documents at once would be 300 MB here.
        row_id = 0
        for i in range(world.hosts):
            authority = world.authority(i)
            for j in range(FOLLOWERS_PER_HOST):
                row_id += 1
                document = actor_document(authority, j, public_pems[key_index(i, j)])
                actor = document["id"]
                yield (row_id, actor, f"u{j}", authority, document["inbox"],
                       f"http://{authority}/inbox", f"{actor}#main-key",
                       public_pems[key_index(i, j)], json.dumps(document), now)  # fmt: skip

    def follows() -> Iterator[tuple[Any, ...]]:
        for row_id in range(1, world.hosts * FOLLOWERS_PER_HOST + 1):
            i, j = divmod(row_id - 1, FOLLOWERS_PER_HOST)
            yield (row_id, f"{world.actor(i, j)}/follows/solo", now)

    status_id = IdGenerator().next()
    note = urls.status(settings, status_id)
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO actors (id, ap_id, username, domain, inbox, shared_inbox, key_id,"
            " public_key_pem, raw, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            actors(),
        )
        conn.executemany(
            "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
            " VALUES ('in', ?, ?, 'accepted', ?)",
            follows(),
        )
        conn.execute(
            "INSERT INTO statuses (id, ap_id, url, visibility, content_html, source_text,"
            " published_at) VALUES (?, ?, ?, 'public', ?, 'bench', ?)",
            (status_id, note, urls.status_page(settings, status_id), NOTE_HTML, now),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return status_id, note


async def enqueue_post(settings: Settings, status_id: int) -> int:
    """What posting does after the status row: the Create and one push job per distinct inbox,
    in one transaction. Returns the number of jobs (one per server)."""
    db = Database(settings.db_path)
    await db.open()
    try:
        published = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        activity = create_note(settings, status_id, published)
        async with db.transaction() as conn:
            return await enqueue_delivery(
                conn, activity, FOLLOWERS, object_ap_id=activity["object"]["id"]
            )
    finally:
        await db.close()


def job_counts(db_path: Path, queue: str) -> dict[str, int]:
    """Jobs of `queue` by state, read from another process (WAL lets us read while Solo writes)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT state, COUNT(*) FROM jobs WHERE queue = ? GROUP BY state", (queue,)
        ).fetchall()
    finally:
        conn.close()
    return {state: count for state, count in rows}


def job_errors(db_path: Path, queue: str, limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent `last_error`s of `queue`, to say why jobs ended dead or retrying."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT last_error, COUNT(*) FROM jobs WHERE queue = ? AND last_error IS NOT NULL"
            " GROUP BY last_error ORDER BY COUNT(*) DESC LIMIT ?",
            (queue, limit),
        ).fetchall()
    finally:
        conn.close()
    return [(str(error), count) for error, count in rows]


def applied(db_path: Path, note: str) -> tuple[int, int]:
    """What the ingress worker made of it: (likes recorded on `note`, remote replies to it)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        likes = conn.execute(
            "SELECT COUNT(*) FROM interactions WHERE kind = 'like'"
            " AND status_id = (SELECT id FROM statuses WHERE ap_id = ?)",
            (note,),
        ).fetchone()[0]
        replies = conn.execute(
            "SELECT COUNT(*) FROM statuses WHERE in_reply_to_ap_id = ? AND actor_id IS NOT NULL",
            (note,),
        ).fetchone()[0]
    finally:
        conn.close()
    return int(likes), int(replies)
