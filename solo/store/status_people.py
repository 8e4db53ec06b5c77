"""Who favourited or boosted a post: the `interactions` rows about it, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solo.db import Database


@dataclass(frozen=True, slots=True)
class Interacted:
    """One favourite or boost: its row id (the paging cursor) and who (None: us)."""

    id: int
    actor_id: int | None


async def people_page(
    db: Database,
    kind: Literal["like", "announce"],
    status_id: int,
    *,
    where: str,
    args: list[int],
    order: str,
    limit: int,
) -> list[Interacted]:
    """A page of the favourites (`like`) or boosts (`announce`) of a post; `where`, `args` and
    `order` come from `solo.api.paging.PageRequest.sql("id")`."""
    direction = "ASC" if order == "ASC" else "DESC"
    rows = await db.fetchall(
        "SELECT id, actor_id FROM interactions WHERE kind = ? AND status_id = ?"
        f" AND {where} ORDER BY id {direction} LIMIT ?",
        (kind, status_id, *args, limit),
    )
    return [Interacted(row[0], row[1]) for row in rows]
