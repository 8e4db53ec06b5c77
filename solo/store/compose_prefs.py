"""The owner's composing preferences, kept in the `meta` table (no schema of their own).

Only one so far: whether posting an image without a description asks first (on by default).
"""

from __future__ import annotations

from typing import Final

from solo.db import Database
from solo.store.account import get_meta, set_meta

ALT_TEXT_REMINDER: Final = "compose.alt_text_reminder"


async def alt_text_reminder(db: Database) -> bool:
    """Whether a post with an undescribed image needs a confirmation first."""
    return await get_meta(db, ALT_TEXT_REMINDER) != "0"


async def set_alt_text_reminder(db: Database, on: bool) -> None:
    async with db.transaction() as conn:
        await set_meta(conn, ALT_TEXT_REMINDER, "1" if on else "0")
