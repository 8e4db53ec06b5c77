"""The Server page's figures: a sampler that stores one row a minute, and what is read now.

The sampler takes, each minute, the delivery outcomes the push queue counted in memory (delivered,
retried, dead), the activities the inbox accepted (ingress jobs created since the last sample,
counted by id range: no scan), the queues' depths, the process's memory, and once an hour the
storage figures. It costs a few indexed reads a minute, and keeps 48 hours.

A minute in which nothing happened (no delivery outcome, nothing accepted, the queues as deep
as in the minute before, no storage figures) is kept in memory and written with the next one
that is not, or with IDLE_WRITTEN_TOGETHER of them, or at shutdown: an idle server writes its
samples to disk four times an hour instead of sixty (an SD card wears with every write; see
`python -m bench sdcard`). The page reads those minutes from memory meanwhile. A crash loses
at most those idle minutes' memory figures, which the charts then show as a gap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from solo.actions import ActionError
from solo.federation.context import Federation
from solo.federation.delivery_times import HostTime
from solo.federation.per_federation import PerFederation
from solo.federation.sleeper import StepLoop
from solo.store import hosts
from solo.store import media_cache as cache_store
from solo.store import server_stats as store
from solo.store.server_stats import Depths, FailingHost, Sample
from solo.ticks import next_tick

MINUTE: Final = 60
IDLE_WRITTEN_TOGETHER: Final = 15  # idle minutes whose samples wait in memory (see the module)
STORAGE_EVERY: Final = 3600.0  # seconds between two storage samples
HOURS_SHOWN: Final = 48
MINUTES_SHOWN: Final = 6 * 60
GIVEN_UP: Final = "given up by the owner"
OUTCOMES: Final = ("delivered", "retried", "dead")

log = logging.getLogger(__name__)


@dataclass
class _Sampler:
    started_at: float = field(default_factory=time.time)
    last_job_id: int | None = None
    last_storage_at: float = 0.0
    totals: Counter[str] = field(default_factory=Counter)  # since start, for /metrics
    idle: list[Sample] = field(default_factory=list)  # idle minutes not written yet
    last: Sample | None = None  # the latest sample, written or not


_sampler_of = PerFederation(_Sampler)


def process_rss() -> int:
    """The resident memory of this process in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def database_bytes(path: Path) -> int:
    """The database file with its write-ahead log."""
    total = 0
    for name in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += name.stat().st_size
    return total


@dataclass(frozen=True)
class Storage:
    database_bytes: int
    media_bytes: int  # the owner's uploads (originals)
    cache_bytes: int  # remote files kept on our disk
    cache_budget: int  # `media_cache_bytes`


async def storage_now(federation: Federation) -> Storage:
    db = federation.db
    return Storage(
        database_bytes=database_bytes(db.path),
        media_bytes=await store.local_media_bytes(db),
        cache_bytes=await cache_store.total_size(db),
        cache_budget=federation.settings.media_cache_bytes,
    )


def _idle(taken: Sample, last: Sample | None) -> bool:
    """Nothing to tell about this minute that the one before did not say (memory aside)."""
    return (
        last is not None
        and not (taken.delivered or taken.retried or taken.dead or taken.accepted)
        and taken.database_bytes is None
        and (taken.push_waiting, taken.push_retrying, taken.ingress_waiting)
        == (last.push_waiting, last.push_retrying, last.ingress_waiting)
    )


async def sample(
    federation: Federation, now: float | None = None, *, final: bool = False
) -> Sample:
    """Take one sample, of the minute that ends at `now` (or is under way), and store it
    unless it is an idle minute that can wait in memory (see the module; `final` writes
    everything); returns it."""
    now = time.time() if now is None else now
    state = _sampler_of(federation)
    db = federation.db
    outcomes = federation.push.take_outcomes()
    state.totals.update(outcomes)
    newest = await store.newest_job_id(db)
    accepted = 0
    if state.last_job_id is not None and newest > state.last_job_id:
        accepted = await store.accepted_between(db, state.last_job_id, newest)
    state.last_job_id = newest
    state.totals["accepted"] += accepted
    depths = await store.depths(db)
    storage: Storage | None = None
    if now - state.last_storage_at >= STORAGE_EVERY:
        storage = await storage_now(federation)
        state.last_storage_at = now
    taken = Sample(
        # The minute whose counts these mostly are: the loop samples just after a minute ends.
        at=int((now - 1) // MINUTE * MINUTE),
        delivered=outcomes["done"],
        retried=outcomes["retried"],
        dead=outcomes["dead"],
        accepted=accepted,
        push_waiting=depths.push_waiting,
        push_retrying=depths.push_retrying,
        ingress_waiting=depths.ingress_waiting,
        rss_bytes=process_rss(),
        database_bytes=None if storage is None else storage.database_bytes,
        media_bytes=None if storage is None else storage.media_bytes,
        cache_bytes=None if storage is None else storage.cache_bytes,
    )
    if not final and _idle(taken, state.last) and len(state.idle) + 1 < IDLE_WRITTEN_TOGETHER:
        state.idle.append(taken)
    else:
        await store.record_many(db, [*state.idle, taken])
        state.idle.clear()
        await store.prune(db, now)
    state.last = taken
    return taken


def _with_waiting(stored: list[Sample], waiting: list[Sample], since: float) -> list[Sample]:
    """The stored samples with those waiting in memory, combined per minute as the table will."""
    by_minute = {taken.at: taken for taken in stored}
    for taken in waiting:
        if taken.at < since:
            continue
        earlier = by_minute.get(taken.at)
        by_minute[taken.at] = taken if earlier is None else store.combined(earlier, taken)
    return [by_minute[at] for at in sorted(by_minute)]


async def _step(federation: Federation) -> float:
    await sample(federation)
    return next_tick()  # just after the next minute starts, with the other idle wakeups


_sampling = StepLoop(_step, name="server sample", task_name="solo-server-sampler", max_sleep=MINUTE)


def start(federation: Federation) -> None:
    """Sample every minute until `shutdown` (the app's lifespan); the first sample now, which
    also marks where counting accepted activities starts."""
    _sampler_of(federation).started_at = time.time()
    _sampling.start(federation)


async def shutdown(federation: Federation) -> None:
    """Stop sampling, keeping the counts of the minute under way."""
    await _sampling.stop(federation)
    try:
        await sample(federation, final=True)
    except (RuntimeError, ValueError, OSError) as error:  # the database is closing
        log.warning("the last server sample was not written: %s", error)


@dataclass(frozen=True)
class HourBar:
    at: int  # the hour's start, Unix seconds
    delivered: int
    retried: int
    dead: int

    @property
    def total(self) -> int:
        return self.delivered + self.retried + self.dead


@dataclass(frozen=True)
class Figures:
    now: float
    started_at: float
    rss_bytes: int
    depths: Depths
    hours: list[HourBar]  # HOURS_SHOWN, oldest first; the last is the hour under way
    minutes: list[Sample]  # the samples of the last MINUTES_SHOWN minutes (gaps left out)
    storage: Storage
    storage_history: list[Sample]  # the hourly storage samples of the last 48 h
    failing: list[FailingHost]
    slowest: list[HostTime]
    totals: dict[str, int]  # since start: delivered, retried, dead, accepted

    @property
    def uptime(self) -> float:
        return self.now - self.started_at


async def figures(federation: Federation, now: float | None = None) -> Figures:
    """Everything the Server page, /server.json and /metrics show, read now.

    The outcomes counted since the last sample are added to the hour under way, so that the
    page is exact at any moment."""
    now = time.time() if now is None else now
    state = _sampler_of(federation)
    db = federation.db
    hour_now = int(now // 3600 * 3600)
    first_hour = hour_now - (HOURS_SHOWN - 1) * 3600
    sums: dict[int, list[int]] = {hour_now - i * 3600: [0, 0, 0] for i in range(HOURS_SHOWN)}
    for at, outcomes in (await store.hourly_outcomes(db, first_hour)).items():
        if at in sums:
            sums[at] = list(outcomes)
    pending = federation.push.outcomes
    sums[hour_now][0] += pending["done"]
    sums[hour_now][1] += pending["retried"]
    sums[hour_now][2] += pending["dead"]
    hours = [HourBar(at, *sums[at]) for at in sorted(sums)]
    newest = await store.newest_job_id(db)
    accepted_pending = 0
    if state.last_job_id is not None and newest > state.last_job_id:
        accepted_pending = await store.accepted_between(db, state.last_job_id, newest)
    totals = {
        "delivered": state.totals["done"] + pending["done"],
        "retried": state.totals["retried"] + pending["retried"],
        "dead": state.totals["dead"] + pending["dead"],
        "accepted": state.totals["accepted"] + accepted_pending,
    }
    return Figures(
        now=now,
        started_at=state.started_at,
        rss_bytes=process_rss(),
        depths=await store.depths(db),
        hours=hours,
        minutes=_with_waiting(
            await store.samples_since(db, now - MINUTES_SHOWN * MINUTE),
            state.idle,
            now - MINUTES_SHOWN * MINUTE,
        ),
        storage=await storage_now(federation),
        storage_history=await store.storage_since(db, first_hour),
        failing=await store.failing_hosts(db),
        slowest=federation.delivery_times.slowest(),
        totals=totals,
    )


class NothingWaiting(ActionError):
    """No delivery to that server waits: nothing to retry or give up."""


async def retry_host(federation: Federation, host: str) -> int:
    """Make the deliveries to `host` that wait for a retry due now, and forget its failure
    days (an unavailable server would otherwise see them dropped unsent); returns how many."""
    if not await store.waiting_for_host(federation.db, host, ("retrying",)):
        raise NothingWaiting(f"No delivery to {host} is waiting for a retry.")
    # Before the jobs are due: a worker taking them at once must not find the host unavailable.
    await hosts.forgive(federation.db, host)
    return await federation.push.retry_host_now(host)


async def give_up_host(federation: Federation, host: str) -> int:
    """Mark dead every delivery to `host` that waits; returns how many."""
    if not await store.waiting_for_host(federation.db, host, ("queued", "retrying")):
        raise NothingWaiting(f"No delivery to {host} is waiting.")
    return await federation.push.give_up_host(host, GIVEN_UP)
