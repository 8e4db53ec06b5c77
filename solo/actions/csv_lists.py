"""Lists for the CSV import and export (Mastodon's `List name,Account address` rows), through
the lists feature's own actions (`solo.actions.lists`)."""

from __future__ import annotations

from solo.actions import ActionError, lists
from solo.actions import follows as follow_actions
from solo.db import Database
from solo.federation.context import Federation
from solo.store import lists as list_store

NEWLY_ADDED = frozenset({"added", "followed and added"})


async def import_member(federation: Federation, name: str, address: str) -> bool:
    """Put `address` on the list `name` (made if need be, the account followed if not yet):
    True when newly added, False when it was there; ActionError saying why when it cannot."""
    outcome = await lists.import_members(federation, name, address)
    if outcome in NEWLY_ADDED:
        return True
    if outcome == "already there":
        return False
    raise ActionError(outcome)


async def export_members(db: Database) -> list[tuple[str, str]]:
    """Every (list name, user@server) pair."""
    return await lists.export_rows(db)


async def remove_member(federation: Federation, name: str, address: str) -> None:
    """Take `address` off the list `name` (an overwrite import's clean-up); absent is fine."""
    found = await list_store.find_by_title(federation.db, lists.clean_title(name))
    if found is None:
        return
    actor = await follow_actions.find_account(federation, address)
    if actor.id is not None:
        await lists.remove_members(federation, found, [actor.id])
