"""What a poll card shows: its options with their share of the votes, how many voted, when it
closes; loaded for a whole page in one query (and stale remote polls refreshed behind it)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from solo.edge.templating import plural
from solo.federation import poll_tasks
from solo.federation.context import Federation
from solo.store import polls as poll_store
from solo.store.polls import Poll
from solo.store.statuses import Status


@dataclass(frozen=True, slots=True)
class OptionView:
    index: int
    title: str
    votes: int
    percent: int  # of the voters (several choices: the shares add up to more than 100)
    mine: bool  # we chose it
    leading: bool  # it has the most votes (ties included) once anyone voted


@dataclass(frozen=True, slots=True)
class PollView:
    status_id: int
    options: tuple[OptionView, ...]
    multiple: bool
    voters: int
    ended: bool
    own: bool  # our poll: we do not vote in it
    voted: bool
    ends: str  # "Closes in 3 hours", "Closed", or "" when it never closes

    @property
    def can_vote(self) -> bool:
        return not (self.ended or self.own or self.voted)

    @property
    def voters_text(self) -> str:
        return plural(self.voters, "%(num)d person", "%(num)d people")


def _span(seconds: float) -> str:
    """A time left, rounded to its largest unit (a poll open for a day shows "1 day", not
    "23 hours", a second after it was posted)."""
    units = (
        (86400, "%(num)d day", "%(num)d days"),
        (3600, "%(num)d hour", "%(num)d hours"),
        (60, "%(num)d minute", "%(num)d minutes"),
    )
    for size, one, many in units:
        if seconds >= size - size / 48:
            return plural(max(round(seconds / size), 1), one, many)
    return "less than a minute"


def poll_view(poll: Poll, *, own: bool, now: float) -> PollView:
    ended = poll.ended(now)
    total_votes = sum(option.votes for option in poll.options)
    # Mastodon's shares: of the voters when known (several choices), else of the votes.
    base = poll.voters_count if poll.multiple and poll.voters_count else total_votes
    most = max((option.votes for option in poll.options), default=0)
    options = tuple(
        OptionView(
            index=index,
            title=option.title,
            votes=option.votes,
            percent=round(100 * option.votes / base) if base else 0,
            mine=index in poll.own_choices,
            leading=most > 0 and option.votes == most,
        )
        for index, option in enumerate(poll.options)
    )
    if ended:
        ends = "Closed"
    elif poll.expires_at is None:
        ends = ""
    else:
        ends = f"Closes in {_span(poll.expires_at - now)}"
    voters = poll.voters_count if poll.voters_count is not None else total_votes
    return PollView(
        status_id=poll.status_id,
        options=options,
        multiple=poll.multiple,
        voters=voters,
        ended=ended,
        own=own,
        voted=poll.voted,
        ends=ends,
    )


async def load_polls(federation: Federation, statuses: Iterable[Status]) -> dict[int, PollView]:
    """The polls of the Questions among `statuses` (one query, none when there are none); the
    remote open ones not refreshed for a while are refreshed in the background."""
    questions = {status.id: status for status in statuses if status.type == "Question"}
    if not questions:
        return {}
    polls = await poll_store.polls_of(federation.db, questions)
    now = time.time()
    remote = {status_id for status_id, status in questions.items() if status.actor_id is not None}
    stale = poll_tasks.stale_polls(polls.values(), remote, now)
    if stale:
        poll_tasks.refresh_stale(federation, stale)
    return {
        status_id: poll_view(poll, own=questions[status_id].actor_id is None, now=now)
        for status_id, poll in polls.items()
    }
