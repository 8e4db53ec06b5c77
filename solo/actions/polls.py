"""Polls: the poll of a post we write (checked here, stored with the post by
`statuses.post`), and our vote in someone else's poll.

Our polls are Mastodon's: 2 to 4 options of at most 50 characters, one choice or several, open
for 5 minutes to 30 days (the form offers up to 7). A vote is sent as one Create(Note) per
choice to the poll's author and recorded with the poll, so the card shows the results with our
choices marked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from solo.actions import ActionError
from solo.federation import vocab
from solo.federation.context import Federation
from solo.federation.polls import send_votes
from solo.store import actors as actor_store
from solo.store import polls as poll_store
from solo.store import statuses as status_store
from solo.store.polls import PollOption, PollState

MIN_OPTIONS: Final = 2
MAX_OPTIONS: Final = 4
MAX_OPTION_CHARS: Final = 50
# How long a poll stays open, in seconds, as the compose form offers it (Mastodon's choices).
EXPIRIES: Final = {
    300: "5 minutes",
    1800: "30 minutes",
    3600: "1 hour",
    6 * 3600: "6 hours",
    86400: "1 day",
    3 * 86400: "3 days",
    7 * 86400: "7 days",
}
DEFAULT_EXPIRY: Final = 86400
# What other clients may ask for through the API, as Mastodon allows: 5 minutes to a month.
MIN_EXPIRY: Final = 300
MAX_EXPIRY: Final = 2_629_746


@dataclass(frozen=True, slots=True)
class PollDraft:
    """A poll as written: its options, one choice or several, and how long it stays open."""

    options: tuple[str, ...]
    multiple: bool = False
    expires_in: int = DEFAULT_EXPIRY

    def checked(self) -> PollDraft:
        """The draft with its options trimmed; raises ActionError with what is wrong."""
        options = tuple(" ".join(option.split()) for option in self.options)
        options = tuple(option for option in options if option)
        if len(options) < MIN_OPTIONS:
            raise ActionError(
                "A poll needs at least %(min_options)s options.", min_options=MIN_OPTIONS
            )
        if len(options) > MAX_OPTIONS:
            raise ActionError(
                "A poll can have at most %(max_options)s options.", max_options=MAX_OPTIONS
            )
        if any(len(option) > MAX_OPTION_CHARS for option in options):
            raise ActionError(
                "Poll options can be at most %(max_option_chars)s characters.",
                max_option_chars=MAX_OPTION_CHARS,
            )
        if len({option.casefold() for option in options}) != len(options):
            raise ActionError("Poll options must differ.")
        if not MIN_EXPIRY <= self.expires_in <= MAX_EXPIRY:
            raise ActionError("Choose how long the poll stays open: from 5 minutes to 30 days.")
        return PollDraft(options, self.multiple, self.expires_in)

    def state(self, published_at: float) -> PollState:
        return PollState(
            options=tuple(PollOption(title) for title in self.options),
            multiple=self.multiple,
            voters_count=0,
            expires_at=published_at + self.expires_in,
        )


def question(draft: PollDraft, published_at: float) -> vocab.Document:
    """The static part of our Question, kept in the post's extras (counts are added live)."""
    key = "anyOf" if draft.multiple else "oneOf"
    return {
        key: [
            {"type": "Note", "name": title, "replies": {"type": "Collection", "totalItems": 0}}
            for title in draft.options
        ],
        "endTime": vocab.iso8601(published_at + draft.expires_in),
        "votersCount": 0,
    }


async def vote(federation: Federation, status_id: int, choices: Sequence[int]) -> None:
    """Vote in a remote poll: each choice sent to its author as a Note, and recorded."""
    db = federation.db
    status = await status_store.get_status(db, status_id)
    if status is not None and status.reblog_of_id is not None:
        status = await status_store.get_status(db, status.reblog_of_id)
    poll = None if status is None else await poll_store.get_poll(db, status.id)
    if status is None or status.deleted_at is not None or poll is None:
        raise ActionError("That poll is not there any more.")
    if status.actor_id is None:
        raise ActionError("You cannot vote in your own poll.")
    now = time.time()
    if poll.ended(now):
        raise ActionError("This poll has ended.")
    if poll.voted:
        raise ActionError("You have already voted in this poll.")
    chosen = list(dict.fromkeys(choices))
    if not chosen:
        raise ActionError("Choose an option first.")
    if any(not 0 <= choice < len(poll.options) for choice in chosen):
        raise ActionError("That is not one of the poll's options.")
    if len(chosen) > 1 and not poll.multiple:
        raise ActionError("This poll takes one choice only.")
    author = await actor_store.get_actor_by_id(db, status.actor_id)
    if author is None:
        raise ActionError("That poll is not there any more.")
    titles = [(choice, poll.options[choice].title) for choice in sorted(chosen)]
    async with db.transaction() as conn:
        if await poll_store.choices_of(conn, status.id, None):
            raise ActionError("You have already voted in this poll.")
        await send_votes(conn, federation, status, author, titles, now)
        await poll_store.count_own_vote(conn, poll, chosen)
    federation.push.wake.set()
    federation.feeds.status_edited(status.id)
