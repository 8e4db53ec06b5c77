"""Follows both ways: 'in' (remote actors following us) and 'out' (actors we follow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solo.db import Database

Direction = Literal["in", "out"]

# A pending follow is not a follow yet (Pixelfed counted them and leaked followers-only posts),
# and an actor whose account is gone is no longer anyone's follower.
_ACCEPTED = (
    "FROM follows JOIN actors ON actors.id = follows.actor_id"
    " WHERE follows.direction = ? AND follows.state = 'accepted' AND actors.deleted_at IS NULL"
)


@dataclass(frozen=True)
class FollowedActor:
    """One accepted follow, as a collection page lists it: the follow's id is the cursor."""

    follow_id: int
    actor_ap_id: str


async def count_accepted(db: Database, direction: Direction) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) {_ACCEPTED}", (direction,)))


async def accepted_page(
    db: Database, direction: Direction, *, max_id: int | None, limit: int
) -> list[FollowedActor]:
    """Accepted follows, newest first, older than the follow `max_id` when given."""
    rows = await db.fetchall(
        f"SELECT follows.id, actors.ap_id {_ACCEPTED}"
        " AND (? IS NULL OR follows.id < ?) ORDER BY follows.id DESC LIMIT ?",
        (direction, max_id, max_id, limit),
    )
    return [FollowedActor(row[0], row[1]) for row in rows]
