"""Private notes on accounts (Mastodon's Relationship `note`): kept here, sent nowhere."""

from __future__ import annotations

from typing import Final

from solo.actions import ActionError
from solo.federation.context import Federation
from solo.store import account_notes
from solo.store.actors import RemoteActor

MAX_NOTE: Final = 2000  # characters, as Mastodon's AccountNote


async def set_note(federation: Federation, actor: RemoteActor, comment: str) -> str:
    """Keep the note on `actor` (blank: remove it); the note as kept."""
    assert actor.id is not None
    comment = comment.strip()
    if len(comment) > MAX_NOTE:
        raise ActionError(
            "That note is %(count)s characters long; a note holds at most %(max_note)s.",
            count=format(len(comment), ","),
            max_note=format(MAX_NOTE, ","),
        )
    async with federation.db.transaction() as conn:
        await account_notes.set_note(conn, actor.id, comment)
    return comment
