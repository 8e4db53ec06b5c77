"""Remote servers: blocked domains, and delivery health (distinct failure days)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from solo.db import Database

UNAVAILABLE_AFTER_DAYS = 7


async def is_blocked(db: Database, domain: str) -> bool:
    """True when `domain` or a parent domain of it is blocked."""
    parts = domain.lower().split(".")
    candidates = [".".join(parts[i:]) for i in range(len(parts))]
    placeholders = ",".join("?" * len(candidates))
    found = await db.fetchval(
        f"SELECT 1 FROM domain_blocks WHERE domain IN ({placeholders})",
        candidates,
    )
    return found is not None


async def block_domain(db: Database, domain: str) -> None:
    await db.execute(
        "INSERT OR IGNORE INTO domain_blocks (domain, created_at) VALUES (?, ?)",
        (domain.lower(), time.time()),
    )


async def record_success(db: Database, domain: str) -> None:
    """A delivery went through, or the server signed a request to us: it is available."""
    await db.execute(
        "INSERT INTO hosts (domain, last_success_at) VALUES (?, ?)"
        " ON CONFLICT (domain) DO UPDATE SET failure_days = 0, last_failure_day = NULL,"
        " unavailable = 0, last_success_at = excluded.last_success_at",
        (domain, time.time()),
    )


async def heard_from(db: Database, domain: str) -> None:
    """A signed request came from `domain`: clear its failures, writing only if it had any."""
    if await db.fetchval(
        "SELECT 1 FROM hosts WHERE domain = ? AND (failure_days > 0 OR unavailable = 1)",
        (domain,),
    ):
        await record_success(db, domain)


async def record_failure(db: Database, domain: str, now: float | None = None) -> bool:
    """Count a failed delivery once per day; returns True once the host is unavailable."""
    day = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y-%m-%d")
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO hosts (domain, failure_days, last_failure_day) VALUES (?, 1, ?)"
            " ON CONFLICT (domain) DO UPDATE SET"
            " failure_days = failure_days + (last_failure_day IS NOT excluded.last_failure_day),"
            " last_failure_day = excluded.last_failure_day",
            (domain, day),
        )
        await conn.execute(
            "UPDATE hosts SET unavailable = 1 WHERE domain = ? AND failure_days >= ?",
            (domain, UNAVAILABLE_AFTER_DAYS),
        )
        async with conn.execute("SELECT unavailable FROM hosts WHERE domain = ?", (domain,)) as c:
            row = await c.fetchone()
    return bool(row and row[0])


async def is_unavailable(db: Database, domain: str) -> bool:
    return bool(await db.fetchval("SELECT unavailable FROM hosts WHERE domain = ?", (domain,)))


async def unavailable_hosts(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT domain FROM hosts WHERE unavailable = 1 ORDER BY domain")
    return [row[0] for row in rows]
