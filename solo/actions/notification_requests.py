"""The notification policy and its requests, as the web and the client API change them.

    await change_policy(federation, {"for_not_following": "filter"})
    await accept_requests(federation, request_ids)    # held notifications join the list
    await dismiss_requests(federation, request_ids)   # held notifications are deleted

Nothing federates: the policy only decides what we are told of.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from solo.actions import ActionError
from solo.federation.context import Federation
from solo.store import notification_policy as policy_store
from solo.store import notification_requests as request_store
from solo.store.notification_policy import ACTIONS, FIELDS, Action

MAX_AT_ONCE: Final = 100  # requests accepted or dismissed in one call


def parse_changes(values: Mapping[str, str | None]) -> dict[str, Action]:
    """The policy fields given (absent or empty ones are left as they are); an unknown value
    is refused with what would be accepted."""
    changes: dict[str, Action] = {}
    for name in FIELDS:
        value = values.get(name)
        if value is None or value == "":
            continue
        if value not in ACTIONS:
            raise ActionError(
                "%(name)s must be one of accept, filter or drop, not %(value)s.",
                name=name,
                value=repr(value),
            )
        changes[name] = value  # type: ignore[assignment]  # checked against ACTIONS above
    return changes


async def change_policy(
    federation: Federation, changes: Mapping[str, Action]
) -> policy_store.Policy:
    """Apply policy changes to notifications yet to come; returns the policy now in force."""
    async with federation.db.transaction() as conn:
        await policy_store.set_policy(conn, dict(changes))
    return await policy_store.get_policy(federation.db)


def _bounded(request_ids: Collection[int]) -> Collection[int]:
    if not request_ids:
        raise ActionError("Choose at least one request.")
    if len(request_ids) > MAX_AT_ONCE:
        raise ActionError(
            "At most %(max_at_once)s requests can be handled at once.", max_at_once=MAX_AT_ONCE
        )
    return request_ids


async def accept_requests(federation: Federation, request_ids: Collection[int]) -> int:
    """Accept requests: their notifications join the list (and the home timeline, for direct
    messages) and their accounts' future notifications pass. Returns how many there were."""
    async with federation.db.transaction() as conn:
        accepted = await request_store.accept(conn, _bounded(request_ids))
    if accepted:
        await federation.feeds.notifications_merged()
    return accepted


async def dismiss_requests(federation: Federation, request_ids: Collection[int]) -> int:
    """Dismiss requests, deleting what they held; later notifications from those accounts are
    held back again. Returns how many there were."""
    async with federation.db.transaction() as conn:
        return await request_store.dismiss(conn, _bounded(request_ids))
