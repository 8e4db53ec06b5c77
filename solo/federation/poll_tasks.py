"""The background side of polls: our polls' new counts sent at most once a minute, remote polls
refreshed from their origin when shown, and the scheduler that tells when a poll has ended.

The scheduler sleeps until the next poll whose end was not yet told ends, woken early when a
poll is stored, and never longer than `MAX_SLEEP` (a restart or a clock change costs at most
that). For each ended poll: ours gets its final Update(Question) with `closed`; ours, or one we
voted in, gets one "poll" notification. Nothing here ever reaches a request: errors are logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from solo.federation import polls
from solo.federation.collections import Budget
from solo.federation.context import Federation
from solo.federation.fetched_posts import accept
from solo.federation.per_federation import PerFederation, cancel_all
from solo.federation.resolver import ResolveError
from solo.federation.sleeper import run_steps
from solo.net.fetch import FetchError
from solo.store import notifications
from solo.store import polls as poll_store
from solo.store import statuses as status_store

log = logging.getLogger(__name__)

UPDATE_DELAY: Final = 60.0  # seconds between two Updates of one poll's counts
REFRESH_AFTER: Final = 300.0  # a remote open poll shown is refreshed when older than this
MAX_SLEEP: Final = 300.0
REFRESH_CONCURRENCY: Final = 4


@dataclass
class _Running:
    """The poll tasks of one Federation: kept so none is collected mid-flight."""

    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    pending_updates: dict[int, asyncio.Event] = field(default_factory=dict)
    refreshing: set[int] = field(default_factory=set)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(REFRESH_CONCURRENCY))
    wake: asyncio.Event = field(default_factory=asyncio.Event)


_running_of = PerFederation(_Running)


def _spawn(federation: Federation, work: Coroutine[Any, Any, None], name: str) -> None:
    running = _running_of(federation)
    task = asyncio.create_task(_logged(work, name), name=f"solo-poll {name}")
    running.tasks.add(task)
    task.add_done_callback(running.tasks.discard)


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        # Nobody awaits the task: an error must be seen in the log, never reach a page.
        log.exception("poll task %s failed", name)


async def shutdown(federation: Federation) -> None:
    """Cancel the poll tasks still running, the scheduler's included (the lifespan ends)."""
    running = _running_of(federation)
    await cancel_all(running.tasks)
    running.pending_updates.clear()
    running.refreshing.clear()


# --- Our polls' counts --------------------------------------------------------------------


def schedule_update(federation: Federation, status_id: int) -> None:
    """Send our poll's counts in a while; votes arriving meanwhile ride on the same Update."""
    running = _running_of(federation)
    if status_id in running.pending_updates:
        return
    now = asyncio.Event()
    running.pending_updates[status_id] = now
    _spawn(federation, _delayed_update(federation, status_id, now), f"update {status_id}")


async def _delayed_update(federation: Federation, status_id: int, now: asyncio.Event) -> None:
    try:
        async with asyncio.timeout(UPDATE_DELAY):
            await now.wait()
    except TimeoutError:
        pass
    running = _running_of(federation)
    running.pending_updates.pop(status_id, None)
    poll = await poll_store.get_poll(federation.db, status_id)
    if poll is None or poll.ended_notified:
        return  # the final Update, sent at its end, carried the counts
    await polls.send_update(federation, status_id)


async def flush_updates(federation: Federation) -> None:
    """Send the waiting Updates now (tests, and whoever cannot wait a minute)."""
    running = _running_of(federation)
    for event in list(running.pending_updates.values()):
        event.set()
    tasks = [t for t in running.tasks if t.get_name().startswith("solo-poll update")]
    await asyncio.gather(*tasks, return_exceptions=True)


# --- Remote polls, refreshed when shown ---------------------------------------------------


def refresh_stale(federation: Federation, stale: Iterable[int]) -> None:
    """Refresh these remote polls in the background (those not already on their way)."""
    running = _running_of(federation)
    for status_id in stale:
        if status_id in running.refreshing:
            continue
        running.refreshing.add(status_id)
        _spawn(federation, _refresh_once(federation, status_id), f"refresh {status_id}")


async def _refresh_once(federation: Federation, status_id: int) -> None:
    running = _running_of(federation)
    try:
        async with running.slots:
            await refresh(federation, status_id)
    finally:
        running.refreshing.discard(status_id)


async def refresh(federation: Federation, status_id: int) -> bool:
    """Fetch a remote poll from its origin, with the checks of any fetched post, and take its
    counts; True when they were taken."""
    db = federation.db
    status = await status_store.get_status(db, status_id)
    if status is None or status.actor_id is None or status.deleted_at is not None:
        return False
    now = time.time()
    async with db.transaction() as conn:
        # Tried now, whatever comes of it: a failing origin is asked again only later.
        await poll_store.touch(conn, status_id, now)
    budget = Budget(federation.resolver, fetches=2, seconds=30.0, hosts=1)
    try:
        document = await budget.fetch(status.ap_id)
        fetched = (
            None
            if document is None
            else await accept(federation, budget, document, purpose="poll refresh")
        )
    except (FetchError, ResolveError) as error:
        log.info("poll refresh of %s: %s", status.ap_id, error)
        return False
    if document is None or fetched is None or fetched.ap_id != status.ap_id:
        return False
    if fetched.actor_id != status.actor_id:
        return False
    state = polls.parse_question(document, now)
    if state is None:
        return False
    async with db.transaction() as conn:
        await poll_store.save(conn, status_id, state, refreshed_at=now)
    federation.feeds.status_edited(status_id)
    wake(federation)
    return True


def stale_polls(polls_shown: Iterable[poll_store.Poll], remote: set[int], now: float) -> list[int]:
    """The remote open polls among those shown whose counts are older than `REFRESH_AFTER`."""
    return [
        poll.status_id
        for poll in polls_shown
        if poll.status_id in remote
        and not poll.ended(now)
        and (poll.refreshed_at is None or now - poll.refreshed_at > REFRESH_AFTER)
    ]


# --- The end of polls ---------------------------------------------------------------------


def wake(federation: Federation) -> None:
    """A poll was stored or changed: the scheduler looks at its next end again."""
    _running_of(federation).wake.set()


def start_scheduler(federation: Federation) -> None:
    _spawn(federation, _scheduler(federation), "scheduler")


async def _scheduler(federation: Federation) -> None:
    await run_steps(
        lambda: step(federation), _running_of(federation).wake, name="poll", max_sleep=MAX_SLEEP
    )


async def step(federation: Federation, now: float | None = None) -> float:
    """Tell the end of every poll that has ended; returns how long to sleep until the next."""
    db = federation.db
    now = time.time() if now is None else now
    while True:
        due = await poll_store.ended(db, now)
        for ended in due:
            await _ended(federation, ended, now)
        if len(due) < 100:
            break
    upcoming = await poll_store.next_end(db)
    if upcoming is None:
        return MAX_SLEEP
    return min(max(upcoming - time.time(), 0.05), MAX_SLEEP)


async def _ended(federation: Federation, ended: poll_store.Ended, now: float) -> None:
    poll = await poll_store.get_poll(federation.db, ended.status_id)
    closed_at = now if poll is None else (poll.closed_at or poll.expires_at or now)
    notification = None
    async with federation.db.transaction() as conn:
        if not await poll_store.mark_ended(conn, ended.status_id, closed_at):
            return
        if ended.author_id is None or ended.voted:
            notification = await notifications.add(conn, "poll", ended.author_id, ended.status_id)
    if ended.author_id is None:
        await polls.send_update(federation, ended.status_id)
    elif ended.voted:
        # The final counts are at its origin.
        refresh_stale(federation, [ended.status_id])
    federation.feeds.status_edited(ended.status_id)
    if notification is not None:
        await federation.feeds.notification_added(notification)
