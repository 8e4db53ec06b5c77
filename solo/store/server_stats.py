"""The figures of the Server page: the per-minute samples, and what the job table says now.

`server_samples` holds one row a minute for `KEPT_SECONDS` (see migration 0029); everything else
is read from the `jobs` and `hosts` tables as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from solo.db import Database

KEPT_SECONDS = 48 * 3600

SAMPLE_COLUMNS = (
    "at",
    "delivered",
    "retried",
    "dead",
    "accepted",
    "push_waiting",
    "push_retrying",
    "ingress_waiting",
    "rss_bytes",
    "database_bytes",
    "media_bytes",
    "cache_bytes",
)


@dataclass(frozen=True)
class Sample:
    at: int  # the minute's start, Unix seconds
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    accepted: int = 0
    push_waiting: int = 0
    push_retrying: int = 0
    ingress_waiting: int = 0
    rss_bytes: int | None = None
    database_bytes: int | None = None
    media_bytes: int | None = None
    cache_bytes: int | None = None


@dataclass(frozen=True)
class Depths:
    push_queued: int
    push_retrying: int
    ingress_waiting: int

    @property
    def push_waiting(self) -> int:
        return self.push_queued + self.push_retrying


@dataclass(frozen=True)
class FailingHost:
    host: str
    waiting: int  # deliveries queued or waiting for a retry
    retrying: int
    attempts: int  # the most any of them has had
    next_retry_at: float | None
    oldest_at: float  # when the oldest waiting delivery was queued
    last_error: str | None
    failure_days: int
    unavailable: bool


_RECORD = (
    f"INSERT INTO server_samples ({', '.join(SAMPLE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(SAMPLE_COLUMNS))})"
    " ON CONFLICT (at) DO UPDATE SET"
    " delivered = delivered + excluded.delivered, retried = retried + excluded.retried,"
    " dead = dead + excluded.dead, accepted = accepted + excluded.accepted,"
    " push_waiting = excluded.push_waiting, push_retrying = excluded.push_retrying,"
    " ingress_waiting = excluded.ingress_waiting,"
    " rss_bytes = coalesce(excluded.rss_bytes, rss_bytes),"
    " database_bytes = coalesce(excluded.database_bytes, database_bytes),"
    " media_bytes = coalesce(excluded.media_bytes, media_bytes),"
    " cache_bytes = coalesce(excluded.cache_bytes, cache_bytes)"
)


async def record(db: Database, sample: Sample) -> None:
    """Store a sample; a second one for the same minute (a restart) adds its counts to the
    first and replaces its depths."""
    await record_many(db, [sample])


async def record_many(db: Database, samples: Sequence[Sample]) -> None:
    """Store samples in one transaction, in order, each as `record` does."""
    if samples:
        await db.executemany(
            _RECORD, [tuple(getattr(sample, name) for name in SAMPLE_COLUMNS) for sample in samples]
        )


def combined(first: Sample, then: Sample) -> Sample:
    """Two samples of one minute as `record` leaves them in the table."""
    return replace(
        then,
        delivered=first.delivered + then.delivered,
        retried=first.retried + then.retried,
        dead=first.dead + then.dead,
        accepted=first.accepted + then.accepted,
        rss_bytes=first.rss_bytes if then.rss_bytes is None else then.rss_bytes,
        database_bytes=first.database_bytes if then.database_bytes is None else then.database_bytes,
        media_bytes=first.media_bytes if then.media_bytes is None else then.media_bytes,
        cache_bytes=first.cache_bytes if then.cache_bytes is None else then.cache_bytes,
    )


async def prune(db: Database, now: float) -> int:
    """Forget the samples older than `KEPT_SECONDS`; returns how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM server_samples WHERE at < ?", (now - KEPT_SECONDS,)
        )
        return cursor.rowcount


async def samples_since(db: Database, since: float) -> list[Sample]:
    rows = await db.fetchall(
        f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM server_samples WHERE at >= ? ORDER BY at",
        (int(since),),
    )
    return [Sample(*row) for row in rows]


async def storage_since(db: Database, since: float) -> list[Sample]:
    """The samples with storage figures (one an hour), oldest first."""
    rows = await db.fetchall(
        f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM server_samples"
        " WHERE at >= ? AND database_bytes IS NOT NULL ORDER BY at",
        (int(since),),
    )
    return [Sample(*row) for row in rows]


async def hourly_outcomes(db: Database, since: float) -> dict[int, tuple[int, int, int]]:
    """Delivery outcomes summed by hour (its start): delivered, retried, dead."""
    rows = await db.fetchall(
        "SELECT at / 3600 * 3600, SUM(delivered), SUM(retried), SUM(dead) FROM server_samples"
        " WHERE at >= ? GROUP BY 1",
        (int(since),),
    )
    return {int(row[0]): (int(row[1]), int(row[2]), int(row[3])) for row in rows}


async def depths(db: Database) -> Depths:
    """The jobs waiting now (through the partial index of due jobs: no scan of done rows)."""
    rows = await db.fetchall(
        "SELECT queue, state, COUNT(*) FROM jobs WHERE state IN ('queued', 'retrying')"
        " GROUP BY queue, state"
    )
    counts = {(row[0], row[1]): int(row[2]) for row in rows}
    return Depths(
        push_queued=counts.get(("push", "queued"), 0),
        push_retrying=counts.get(("push", "retrying"), 0),
        ingress_waiting=counts.get(("ingress", "queued"), 0)
        + counts.get(("ingress", "retrying"), 0),
    )


async def newest_job_id(db: Database) -> int:
    return int(await db.fetchval("SELECT coalesce(MAX(id), 0) FROM jobs"))


async def accepted_between(db: Database, after_id: int, up_to_id: int) -> int:
    """Incoming activities accepted (ingress jobs created) with ids in (after_id, up_to_id]."""
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM jobs WHERE id > ? AND id <= ? AND queue = 'ingress'",
            (after_id, up_to_id),
        )
    )


async def local_media_bytes(db: Database) -> int:
    return int(await db.fetchval("SELECT coalesce(SUM(size), 0) FROM media WHERE local = 1"))


async def failing_hosts(db: Database, limit: int = 10) -> list[FailingHost]:
    """The servers with the most deliveries waiting for a retry, most first."""
    # SQLite takes a bare column (last_error) from the row that gives MAX(updated_at): the
    # newest error of each host, in the same pass over the waiting jobs as the counts.
    rows = await db.fetchall(
        "SELECT w.host, w.waiting, w.retrying, w.attempts, w.next_retry_at, w.oldest_at,"
        " e.last_error, coalesce(h.failure_days, 0), coalesce(h.unavailable, 0)"
        " FROM (SELECT host, COUNT(*) AS waiting, SUM(state = 'retrying') AS retrying,"
        "   MAX(attempts) AS attempts,"
        "   MIN(CASE WHEN state = 'retrying' THEN next_attempt_at END) AS next_retry_at,"
        "   MIN(created_at) AS oldest_at"
        "   FROM jobs WHERE queue = 'push' AND state IN ('queued', 'retrying')"
        "   AND host IS NOT NULL GROUP BY host) AS w"
        " LEFT JOIN (SELECT host, last_error, MAX(updated_at) FROM jobs"
        "   WHERE queue = 'push' AND state IN ('queued', 'retrying') AND host IS NOT NULL"
        "   AND last_error IS NOT NULL GROUP BY host) AS e ON e.host = w.host"
        " LEFT JOIN hosts AS h ON h.domain = w.host"
        " WHERE w.retrying > 0 ORDER BY w.retrying DESC, w.host LIMIT ?",
        (limit,),
    )
    return [
        FailingHost(
            host=row[0],
            waiting=int(row[1]),
            retrying=int(row[2]),
            attempts=int(row[3]),
            next_retry_at=row[4],
            oldest_at=float(row[5]),
            last_error=row[6],
            failure_days=int(row[7]),
            unavailable=bool(row[8]),
        )
        for row in rows
    ]


async def waiting_for_host(db: Database, host: str, states: tuple[str, ...]) -> int:
    """Deliveries to `host` in one of `states` (among queued and retrying)."""
    rows = await db.fetchall(
        "SELECT state, COUNT(*) FROM jobs WHERE queue = 'push'"
        " AND state IN ('queued', 'retrying') AND host = ? GROUP BY state",
        (host,),
    )
    counts: dict[str, int] = {row[0]: int(row[1]) for row in rows}
    return sum(counts.get(state, 0) for state in states)
