"""Pinning our own posts to the profile; peers read them from the `featured` collection.

Mastodon's rules: only our own public or unlisted posts, at most `MAX_PINS` of them. Pinning
twice keeps one pin; unpinning what is not pinned is fine. Nothing is sent: peers fetch the
collection when they open the profile (Mastodon's Add/Remove to followers is left out).
"""

from __future__ import annotations

from typing import Final

from solo.actions import ActionError
from solo.actions.interactions import target_post
from solo.federation.context import Federation
from solo.store import pins as pin_store
from solo.store.statuses import Status

MAX_PINS: Final = 5
PINNABLE: Final = frozenset({"public", "unlisted"})


async def pin(federation: Federation, status_id: int) -> Status:
    status = await target_post(federation, status_id)
    if status.actor_id is not None:
        raise ActionError("Only your own posts can be pinned.")
    if status.visibility not in PINNABLE:
        raise ActionError("Only public and unlisted posts can be pinned.")
    async with federation.db.transaction() as conn:
        # Added first, then counted: pinning a post already pinned is fine even at the limit,
        # and a refusal rolls the pin back with the transaction.
        if await pin_store.add(conn, status.id) and await pin_store.count_ours(conn) > MAX_PINS:
            raise ActionError(
                "At most %(max_pins)s posts can be pinned; unpin one first.", max_pins=MAX_PINS
            )
    return status


async def unpin(federation: Federation, status_id: int) -> Status:
    status = await target_post(federation, status_id)
    async with federation.db.transaction() as conn:
        await pin_store.remove(conn, status.id)
    return status
