"""Scheduled posts: written now, published later by the scheduler here, as Mastodon's.

Mastodon's rules: the time must be at least 5 minutes ahead; at most 300 posts wait at once,
and 25 on any one (UTC) day. Mastodon sets no upper bound but its database's; Solo refuses
more than a year ahead, which no real plan needs and which keeps a typo (a year 20250) out.
A post is checked as it would be posted when it is scheduled; it is published with the time
of its publication as its date (as Mastodon), its intended time kept on the scheduled row.

The scheduler sleeps until the next one is due (`solo.federation.sleeper`, as poll ends),
woken when one is scheduled or moved; after a restart that spanned the time, the first step
publishes every one that came due at once, oldest first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiosqlite

from solo.actions import ActionError
from solo.actions import statuses as status_actions
from solo.actions.polls import PollDraft
from solo.federation.context import Federation
from solo.federation.sleeper import StepLoop
from solo.store import scheduled as scheduled_store
from solo.store.scheduled import Scheduled

MIN_LEAD: Final = 300.0  # seconds: Mastodon's ScheduledStatus::MINIMUM_OFFSET
MAX_AHEAD: Final = 366 * 86400.0
MAX_WAITING: Final = 300  # Mastodon's ScheduledStatusValidator::MAX_PER_ACCOUNT
MAX_PER_DAY: Final = 25  # ScheduledStatusValidator::MAX_PER_DAY
MAX_SLEEP: Final = 300.0
BATCH: Final = 50
TOO_SOON: Final = "Scheduled at must be at least 5 minutes in the future."
TOO_LATE: Final = "Scheduled at must be less than a year ahead."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """A post to publish later, as `statuses.post` takes it."""

    text: str
    visibility: str = "public"
    summary: str = ""
    sensitive: bool = False
    in_reply_to: int | None = None
    language: str | None = None
    media_ids: tuple[int, ...] = ()
    poll: PollDraft | None = None
    application_id: int | None = None
    idempotency: str | None = None

    def params(self) -> dict[str, Any]:
        """Mastodon's ScheduledStatus `params`, as stored and shown."""
        poll = self.poll
        return {
            "text": self.text,
            "poll": None
            if poll is None
            else {
                "options": list(poll.options),
                "expires_in": str(poll.expires_in),
                "multiple": poll.multiple,
                "hide_totals": False,
            },
            "media_ids": [str(i) for i in self.media_ids] or None,
            "sensitive": self.sensitive,
            "spoiler_text": self.summary,
            "visibility": self.visibility,
            "in_reply_to_id": None if self.in_reply_to is None else str(self.in_reply_to),
            "language": self.language,
            "application_id": self.application_id,
            "scheduled_at": None,
            "idempotency": self.idempotency,
            "with_rate_limit": False,
        }

    @classmethod
    def of(cls, item: Scheduled) -> Draft:
        params = item.params
        poll = params.get("poll")
        reply = params.get("in_reply_to_id")
        return cls(
            text=str(params.get("text") or ""),
            visibility=str(params.get("visibility") or "public"),
            summary=str(params.get("spoiler_text") or ""),
            sensitive=bool(params.get("sensitive")),
            in_reply_to=None if reply is None else int(reply),
            language=params.get("language"),
            media_ids=item.media_ids,
            poll=None
            if not isinstance(poll, dict)
            else PollDraft(
                options=tuple(str(o) for o in poll.get("options", ())),
                multiple=bool(poll.get("multiple")),
                expires_in=int(poll.get("expires_in") or 0),
            ),
            application_id=params.get("application_id"),
            idempotency=params.get("idempotency"),
        )


def check_time(scheduled_at: float, now: float) -> None:
    if scheduled_at < now + MIN_LEAD:
        raise ActionError(TOO_SOON)
    if scheduled_at > now + MAX_AHEAD:
        raise ActionError(TOO_LATE)


def _day(timestamp: float) -> tuple[float, float]:
    start = datetime.fromtimestamp(timestamp, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return start.timestamp(), start.timestamp() + 86400.0


async def _check_limits(
    conn: aiosqlite.Connection, scheduled_at: float, *, moving: int | None = None
) -> None:
    if moving is None and await scheduled_store.count_waiting(conn, between=None) >= MAX_WAITING:
        raise ActionError(f"You have exceeded the limit of {MAX_WAITING} scheduled posts.")
    same_day = await scheduled_store.count_waiting(conn, between=_day(scheduled_at))
    if moving is not None:
        async with conn.execute(
            "SELECT scheduled_at FROM scheduled_statuses WHERE id = ?", (moving,)
        ) as cursor:
            row = await cursor.fetchone()
        start, end = _day(scheduled_at)
        if row is not None and start <= row[0] < end:
            same_day -= 1  # moving within its own day
    if same_day >= MAX_PER_DAY:
        raise ActionError(
            f"You have exceeded the limit of {MAX_PER_DAY} scheduled posts for that day."
        )


async def schedule(
    federation: Federation, draft: Draft, scheduled_at: float, *, now: float | None = None
) -> Scheduled:
    """Keep a post to publish at `scheduled_at`; ActionError for what Mastodon refuses."""
    now = time.time() if now is None else now
    check_time(scheduled_at, now)
    await status_actions.check(
        federation,
        draft.text,
        visibility=draft.visibility,
        summary=draft.summary,
        in_reply_to=draft.in_reply_to,
        media_ids=draft.media_ids,
        poll=draft.poll,
    )
    async with federation.db.transaction() as conn:
        await _check_limits(conn, scheduled_at)
        scheduled_id = await scheduled_store.insert(
            conn, scheduled_at, draft.params(), draft.media_ids, now
        )
    wake(federation)
    found = await scheduled_store.get(federation.db, scheduled_id)
    assert found is not None
    return found


async def reschedule(
    federation: Federation, scheduled_id: int, scheduled_at: float, *, now: float | None = None
) -> Scheduled | None:
    """Move one to another time; None when it is not waiting (any more)."""
    now = time.time() if now is None else now
    check_time(scheduled_at, now)
    async with federation.db.transaction() as conn:
        await _check_limits(conn, scheduled_at, moving=scheduled_id)
        moved = await scheduled_store.reschedule(conn, scheduled_id, scheduled_at)
    if not moved:
        return None
    wake(federation)
    return await scheduled_store.get(federation.db, scheduled_id)


async def cancel(federation: Federation, scheduled_id: int) -> bool:
    async with federation.db.transaction() as conn:
        return await scheduled_store.delete(conn, scheduled_id)


async def publish(federation: Federation, item: Scheduled, now: float) -> int | None:
    """Post one that is due, marked published in the post's own transaction; one that can no
    longer be posted (its reply target deleted, its upload gone) is dropped with why, as
    Mastodon drops it. The new post's id, or None."""
    draft = Draft.of(item)

    async def published(conn: aiosqlite.Connection, status_id: int) -> None:
        if not await scheduled_store.mark_published(conn, item.id, status_id=status_id, now=now):
            raise _Gone()  # cancelled meanwhile: the post is rolled back with this

    try:
        status = await status_actions.post(
            federation,
            draft.text,
            visibility=draft.visibility,
            summary=draft.summary,
            sensitive=draft.sensitive,
            in_reply_to=draft.in_reply_to,
            language=draft.language,
            media_ids=draft.media_ids,
            poll=draft.poll,
            also=published,
        )
    except _Gone:
        return None
    except ActionError as error:
        log.warning("scheduled post %s could not be published: %s", item.id, error.message)
        async with federation.db.transaction() as conn:
            await scheduled_store.mark_published(
                conn, item.id, status_id=None, now=now, error=error.message
            )
        return None
    return status.id


class _Gone(Exception):
    """The scheduled post was cancelled while it was being published."""


async def step(federation: Federation, now: float | None = None) -> float:
    """Publish every scheduled post due at `now`; how long to sleep until the next."""
    now = time.time() if now is None else now
    while True:
        due = await scheduled_store.due(federation.db, now, BATCH)
        for item in due:
            await publish(federation, item, now)
        if len(due) < BATCH:
            break
    upcoming = await scheduled_store.next_due(federation.db)
    if upcoming is None:
        return MAX_SLEEP
    return min(max(upcoming - time.time(), 0.05), MAX_SLEEP)


_scheduler = StepLoop(step, name="post", task_name="solo-scheduled-posts", max_sleep=MAX_SLEEP)
start = _scheduler.start  # runs the scheduler until `shutdown` (the app's lifespan)
shutdown = _scheduler.stop
wake = _scheduler.wake
