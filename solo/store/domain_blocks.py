"""Blocked domains: the `domain_blocks` table, the accounts they cover (`domain_blocked_actors`,
which listings leave out with one indexed lookup), and an in-memory view for the hot paths.

A block of `example.com` covers `example.com` and every subdomain of it, on any port. An account
is covered when its handle's domain or the host of its id is covered (a handle's domain may
differ from the server that hosts the account).
"""

from __future__ import annotations

import json
import sqlite3
import time
import weakref
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosqlite

from solo.db import Database

# What listings leave out: the remote accounts on blocked domains.
BLOCKED_ACTORS = "SELECT actor_id FROM domain_blocked_actors"


@dataclass(frozen=True, slots=True)
class DomainBlock:
    id: int
    domain: str
    reason: str
    created_at: float


class Window(Protocol):
    @property
    def limit(self) -> int: ...

    def sql(self, column: str) -> tuple[str, list[int], str]: ...


def host_of(authority: str) -> str:
    """`authority` lowercased without its port (`Example.com:8443` → `example.com`)."""
    host = authority.strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


def suffixes(host: str) -> list[str]:
    """The domains that would cover `host`: itself and each parent (`a.b.c`, `b.c`, `c`)."""
    parts = host_of(host).split(".")
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i]]


def covering(host: str, blocked: AbstractSet[str]) -> str | None:
    """The blocked domain that covers `host`, if one does."""
    for candidate in suffixes(host):
        if candidate in blocked:
            return candidate
    return None


def _url_host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _block(row: Any) -> DomainBlock:
    return DomainBlock(int(row[0]), str(row[1]), str(row[2]), float(row[3]))


async def domains(db: Database) -> frozenset[str]:
    rows = await db.fetchall("SELECT domain FROM domain_blocks")
    return frozenset(str(row[0]) for row in rows)


async def existing(db: Database, wanted: Sequence[str]) -> set[str]:
    """Which of `wanted` are blocked already, in ONE query."""
    rows = await db.fetchall(
        "SELECT domain FROM domain_blocks WHERE domain IN (SELECT value FROM json_each(?))",
        (json.dumps(list(wanted)),),
    )
    return {str(row[0]) for row in rows}


async def add(conn: aiosqlite.Connection, blocks: Sequence[tuple[str, str]]) -> list[str]:
    """Block each (domain, reason) not blocked yet, then cover their accounts; the domains
    added. Domains must be valid and lowercase (`solo.actions.domain_blocks.normalize`)."""
    now = time.time()
    added: list[str] = []
    for domain, reason in blocks:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO domain_blocks (domain, reason, created_at) VALUES (?, ?, ?)",
            (domain, reason, now),
        )
        if cursor.rowcount:
            added.append(domain)
    if added:
        await refresh_covered(conn)
    return added


async def remove(conn: aiosqlite.Connection, domain: str) -> bool:
    cursor = await conn.execute("DELETE FROM domain_blocks WHERE domain = ?", (domain.lower(),))
    if not cursor.rowcount:
        return False
    await refresh_covered(conn)
    return True


async def refresh_covered(conn: aiosqlite.Connection) -> set[int]:
    """Recompute the accounts the blocks cover (a scan of the accounts, in Python: a domain
    covers its subdomains, which no index answers); returns them."""
    async with conn.execute("SELECT domain FROM domain_blocks") as cursor:
        blocked = {str(row[0]) for row in await cursor.fetchall()}
    covered: set[int] = set()
    if blocked:
        async with conn.execute("SELECT id, domain, ap_id FROM actors") as cursor:
            async for row in cursor:
                if covering(row[1], blocked) or covering(_url_host(row[2]), blocked):
                    covered.add(int(row[0]))
    ids = json.dumps(sorted(covered))
    await conn.execute(
        "DELETE FROM domain_blocked_actors WHERE actor_id NOT IN (SELECT value FROM json_each(?))",
        (ids,),
    )
    await conn.execute(
        "INSERT OR IGNORE INTO domain_blocked_actors (actor_id) SELECT value FROM json_each(?)",
        (ids,),
    )
    return covered


_COVERING = "SELECT 1 FROM domain_blocks WHERE domain IN (SELECT value FROM json_each(?)) LIMIT 1"
_COVER = "INSERT OR IGNORE INTO domain_blocked_actors (actor_id) VALUES (?)"
_ANY = "SELECT 1 FROM domain_blocks LIMIT 1"


def _cover_candidates(domain: str, ap_id: str) -> str:
    return json.dumps(suffixes(domain) + suffixes(_url_host(ap_id)))


async def cover_actor(conn: aiosqlite.Connection, actor_id: int, domain: str, ap_id: str) -> None:
    """Cover an account just stored when a block covers it: one indexed query."""
    async with conn.execute(_COVERING, (_cover_candidates(domain, ap_id),)) as cursor:
        found = await cursor.fetchone()
    if found is not None:
        await conn.execute(_COVER, (actor_id,))


def cover_actor_now(conn: sqlite3.Connection, actor_id: int, domain: str, ap_id: str) -> None:
    """`cover_actor` on the writer thread (inside `Database.write`), for each actor stored.
    Most servers block no domain: a look at the table first (4 µs) spares them the candidates
    and the covering query (21 µs; twice that while a burst of first contacts is stored)."""
    if conn.execute(_ANY).fetchone() is None:
        return
    if conn.execute(_COVERING, (_cover_candidates(domain, ap_id),)).fetchone() is not None:
        conn.execute(_COVER, (actor_id,))


async def blocked_hosts(conn: aiosqlite.Connection, hosts: Iterable[str]) -> set[str]:
    """Of `hosts` (as given, with ports), those a block covers: ONE indexed query."""
    wanted = {host for host in hosts if host}
    if not wanted:
        return set()
    candidates = sorted({c for host in wanted for c in suffixes(host)})
    async with conn.execute(
        "SELECT domain FROM domain_blocks WHERE domain IN (SELECT value FROM json_each(?))",
        (json.dumps(candidates),),
    ) as cursor:
        blocked = {str(row[0]) for row in await cursor.fetchall()}
    return {host for host in wanted if covering(host, blocked)} if blocked else set()


def url_host_sql(url: str) -> str:
    """SQL for the lowercase host, without its port, of the http(s) URL in the SQL expression
    `url` (one `authority()` accepted: no user info), for statements that must not bring their
    rows into Python (a fan-out's inboxes)."""
    rest = f"substr({url}, instr({url}, '://') + 3)"
    # The authority ends at the first '/', '?' or '#'.
    ends = f"instr(replace(replace({rest}, '?', '/'), '#', '/') || '/', '/')"
    authority = f"lower(substr({rest}, 1, {ends} - 1))"
    # An IP literal's colons cut it short, which is harmless: no block names an address.
    return (
        f"(CASE WHEN instr({authority}, ':') THEN substr({authority}, 1, instr({authority}, ':')"
        f" - 1) ELSE {authority} END)"
    )


def covered_sql(host: str) -> str:
    """SQL true when a block covers the host (lowercase, no port) in the SQL expression
    `host`: `covering` in a statement."""
    return (
        f"EXISTS (SELECT 1 FROM domain_blocks WHERE domain = {host}"
        f" OR substr({host}, -length(domain) - 1) = '.' || domain)"
    )


async def page(db: Database, window: Window) -> list[DomainBlock]:
    """Blocks by id (the cursor), in the window's order."""
    where, args, order = window.sql("id")
    rows = await db.fetchall(
        f"SELECT id, domain, reason, created_at FROM domain_blocks WHERE {where}"
        f" ORDER BY id {order} LIMIT ?",
        (*args, window.limit),
    )
    return [_block(row) for row in rows]


async def newest(db: Database, *, max_id: int | None, limit: int) -> list[DomainBlock]:
    """Blocks newest first, older than the block `max_id` when given (the web's pages)."""
    rows = await db.fetchall(
        "SELECT id, domain, reason, created_at FROM domain_blocks"
        " WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (max_id, max_id, limit),
    )
    return [_block(row) for row in rows]


async def all_blocks(db: Database) -> list[DomainBlock]:
    rows = await db.fetchall(
        "SELECT id, domain, reason, created_at FROM domain_blocks ORDER BY domain"
    )
    return [_block(row) for row in rows]


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM domain_blocks"))


async def get(db: Database, domain: str) -> DomainBlock | None:
    row = await db.fetchone(
        "SELECT id, domain, reason, created_at FROM domain_blocks WHERE domain = ?", (domain,)
    )
    return None if row is None else _block(row)


class BlockedDomains:
    """The blocked domains in memory, for checks that cannot wait on a query (each URL the
    fetcher is asked for). Kept in step with the table by `watch`: each committed change of
    it adds or removes its domains before the writer carries on."""

    def __init__(self) -> None:
        self.domains: set[str] = set()

    def covers(self, host: str) -> str | None:
        """The blocked domain covering `host` (any case, any port), if one does."""
        if not self.domains:
            return None
        return covering(host, self.domains)

    def covers_url(self, url: str) -> str | None:
        host = _url_host(url)
        return self.covers(host) if host else None

    def _added(self, keys: frozenset[Any]) -> None:
        self.domains.update(str(key) for key in keys)

    def _removed(self, keys: frozenset[Any]) -> None:
        self.domains.difference_update(str(key) for key in keys)


_views: weakref.WeakKeyDictionary[Database, BlockedDomains] = weakref.WeakKeyDictionary()


async def watch(db: Database) -> BlockedDomains:
    """The in-memory view of `db`'s blocks, loaded now and kept current from now on."""
    view = _views.get(db)
    if view is None:
        view = _views[db] = BlockedDomains()
        await db.watch("domain_blocks", "domain", view._added, events=["INSERT"])
        await db.watch("domain_blocks", "domain", view._removed, events=["DELETE"])
    view.domains = set(await domains(db))
    return view
