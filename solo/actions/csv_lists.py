"""ADAPTER — lists for the CSV import and export, to be wired at merge.

The lists feature (solo/store/lists.py, solo/actions/lists.py) is built on another branch.
This module is the one place that reaches it, through the interface below, looked up by name
so that this branch runs without it; once lists land, replace the lookups with a plain
`from solo.actions import lists` and direct calls.

The interface `solo.actions.lists` is expected to offer:

    async def import_members(federation: Federation, name: str, address: str) -> bool
        Add the account `address` (user@server, resolved as a follow would) to the list
        called `name`, making the list if there is none; True when newly added, False when
        it was a member already; raises ActionError (message for a person) when it cannot.
    async def export_members(db: Database) -> list[tuple[str, str]]
        Every (list name, user@server) pair, lists in their order, members newest first.
    async def remove_member(federation: Federation, name: str, address: str) -> None
        Take `address` off the list `name` (an overwrite import's clean-up); absent is fine.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

from solo.actions import ActionError
from solo.db import Database
from solo.federation.context import Federation

MODULE: Final = "solo.actions.lists"
UNAVAILABLE: Final = "lists are not available yet"


def available() -> bool:
    return importlib.util.find_spec(MODULE) is not None


def _function(name: str) -> Callable[..., Awaitable[Any]]:
    if not available():
        raise ActionError(f"Lists cannot be imported or exported: {UNAVAILABLE}.")
    module = importlib.import_module(MODULE)
    return cast(Callable[..., Awaitable[Any]], getattr(module, name))


async def import_member(federation: Federation, name: str, address: str) -> bool:
    return bool(await _function("import_members")(federation, name, address))


async def export_members(db: Database) -> list[tuple[str, str]]:
    rows = await _function("export_members")(db)
    return [(str(name), str(address)) for name, address in rows]


async def remove_member(federation: Federation, name: str, address: str) -> None:
    await _function("remove_member")(federation, name, address)
