"""Remote servers: blocked domains, and delivery health (distinct failure days).

The `hosts` table is the truth. While federation runs, a `HostHealth` view mirrors in memory the
few hosts that have failures, so that the delivery of a fan-out to healthy servers reads and
writes nothing here. Every change of health goes through the functions below, which keep the
view (if one is registered for the database) in step with the table.
"""

from __future__ import annotations

import time
import weakref
from datetime import UTC, datetime

from solo.db import Database
from solo.store import domain_blocks

UNAVAILABLE_AFTER_DAYS = 7


class HostHealth:
    """The hosts that have failure days (`failing`), and those among them now unavailable."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.unavailable: set[str] = set()

    async def load(self, db: Database) -> None:
        rows = await db.fetchall(
            "SELECT domain, unavailable FROM hosts WHERE failure_days > 0 OR unavailable = 1"
        )
        self.failing = {row[0] for row in rows}
        self.unavailable = {row[0] for row in rows if row[1]}

    def is_unavailable(self, domain: str) -> bool:
        return domain in self.unavailable

    def clear(self, domain: str) -> None:
        self.failing.discard(domain)
        self.unavailable.discard(domain)


# One view per open database, so that several instances can run side by side (tests).
_views: weakref.WeakKeyDictionary[Database, HostHealth] = weakref.WeakKeyDictionary()


async def watch_health(db: Database) -> HostHealth:
    """Load the health view of `db` and keep it current from now on; returns it."""
    view = _views.get(db)
    if view is None:
        view = _views[db] = HostHealth()
    await view.load(db)
    return view


def health_of(db: Database) -> HostHealth | None:
    """The view registered by `watch_health`, if federation is running over `db`."""
    return _views.get(db)


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
    """Block `domain` (already valid) with no other effect: `solo.actions.domain_blocks` is
    the user's block, which also ends follows, deliveries and cached media."""
    async with db.transaction() as conn:
        await domain_blocks.add(conn, [(domain.lower(), "")])


async def record_success(db: Database, domain: str) -> None:
    """A delivery went through, or the server signed a request to us: it is available."""
    view = _views.get(db)
    if view is not None:
        view.clear(domain)
    await db.execute(
        "INSERT INTO hosts (domain, last_success_at) VALUES (?, ?)"
        " ON CONFLICT (domain) DO UPDATE SET failure_days = 0, last_failure_day = NULL,"
        " unavailable = 0, last_success_at = excluded.last_success_at",
        (domain, time.time()),
    )


async def delivered(db: Database, domain: str) -> None:
    """A delivery to `domain` went through: clear its failures, writing only if it had any.

    With a health view this costs nothing for a healthy host; without one, a read.
    """
    view = _views.get(db)
    if view is None:
        await heard_from(db, domain)
    elif domain in view.failing:
        await record_success(db, domain)


async def heard_from(db: Database, domain: str) -> None:
    """A signed request came from `domain`: clear its failures, writing only if it had any."""
    view = _views.get(db)
    if view is not None:
        if domain in view.failing:
            await record_success(db, domain)
        return
    if await db.fetchval(
        "SELECT 1 FROM hosts WHERE domain = ? AND (failure_days > 0 OR unavailable = 1)",
        (domain,),
    ):
        await record_success(db, domain)


async def record_failure(db: Database, domain: str, now: float | None = None) -> bool:
    """Count a failed delivery once per day; returns True once the host is unavailable."""
    view = _views.get(db)
    if view is not None:
        # Before the write, so that a success finishing meanwhile writes its reset too.
        view.failing.add(domain)
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
        async with conn.execute(
            "SELECT unavailable, failure_days FROM hosts WHERE domain = ?", (domain,)
        ) as cursor:
            row = await cursor.fetchone()
    unavailable = bool(row and row[0])
    if view is not None and row is not None and (row[0] or row[1]):
        view.failing.add(domain)
        if unavailable:
            view.unavailable.add(domain)
    return unavailable


async def forgive(db: Database, domain: str) -> None:
    """Forget the failure days of `domain` (the owner asked to retry it now), keeping when it
    last succeeded."""
    view = _views.get(db)
    if view is not None:
        view.clear(domain)
    await db.execute(
        "UPDATE hosts SET failure_days = 0, last_failure_day = NULL, unavailable = 0"
        " WHERE domain = ?",
        (domain,),
    )


async def is_unavailable(db: Database, domain: str) -> bool:
    """From the health view when there is one, else from the table."""
    view = _views.get(db)
    if view is not None:
        return view.is_unavailable(domain)
    return bool(await db.fetchval("SELECT unavailable FROM hosts WHERE domain = ?", (domain,)))


async def unavailable_hosts(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT domain FROM hosts WHERE unavailable = 1 ORDER BY domain")
    return [row[0] for row in rows]
