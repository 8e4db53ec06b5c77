"""Lists: creating, renaming and deleting them, adding and removing members, and the CSV
helpers of Mastodon's lists export (`List name,Account address`, one row per member).

Only accounts we follow (or have asked to follow) can be members, as on Mastodon; unfollowing
takes an account off every list (a trigger in the schema). Sizes are bounded: MAX_LISTS lists
(Mastodon's own limit per account), MAX_MEMBERS accounts in one list, titles of at most
MAX_TITLE characters. A change past a limit is refused whole (InvalidList, 422) with a message
a person understands.

An exclusive list keeps its members' posts out of home, so a change that can move posts in or
out of home (membership of an exclusive list, the flag itself) rebuilds the home feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, cast

from solo.actions import ActionError
from solo.actions import follows as follow_actions
from solo.db import Database
from solo.errors import RequestError
from solo.federation.context import Federation
from solo.store import follows as follow_store
from solo.store import lists as store
from solo.store.lists import REPLIES_POLICIES, List, RepliesPolicy

MAX_LISTS: Final = 50
MAX_MEMBERS: Final = 5_000
MAX_TITLE: Final = 200
MAX_CHANGE: Final = 500  # accounts one request may add or remove


class InvalidList(RequestError):
    """A list change we refuse; the message is for a person (and the API's `error`)."""

    status = 422


def clean_title(title: str) -> str:
    text = " ".join(title.split())
    if not text:
        raise InvalidList("A list needs a title.")
    if len(text) > MAX_TITLE:
        raise InvalidList(f"A list's title can be at most {MAX_TITLE} characters.")
    return text


def clean_policy(policy: str | None, default: RepliesPolicy = "list") -> RepliesPolicy:
    if policy is None or policy == "":
        return default
    if policy not in REPLIES_POLICIES:
        raise InvalidList("Replies policy must be one of followed, list or none.")
    return cast(RepliesPolicy, policy)


async def create(
    federation: Federation, title: str, policy: str | None = None, exclusive: bool = False
) -> List:
    title = clean_title(title)
    chosen = clean_policy(policy)
    if await store.count_lists(federation.db) >= MAX_LISTS:
        raise InvalidList(f"You have {MAX_LISTS} lists, the most there can be: delete one first.")
    async with federation.db.transaction() as conn:
        list_id = await store.create(conn, title, chosen, exclusive)
    found = await store.get_list(federation.db, list_id)
    assert found is not None
    return found


async def change(
    federation: Federation,
    found: List,
    *,
    title: str | None = None,
    policy: str | None = None,
    exclusive: bool | None = None,
) -> List:
    """Rename the list or change its settings; what is None stays as it was."""
    new_title = found.title if title is None else clean_title(title)
    new_policy = clean_policy(policy, found.replies_policy)
    new_exclusive = found.exclusive if exclusive is None else exclusive
    async with federation.db.transaction() as conn:
        await store.update(conn, found.id, new_title, new_policy, new_exclusive)
    if new_exclusive != found.exclusive:
        await federation.feeds.rebuild_timeline("home")
    changed = await store.get_list(federation.db, found.id)
    assert changed is not None
    return changed


async def delete(federation: Federation, found: List) -> None:
    async with federation.db.transaction() as conn:
        await store.delete(conn, found.id)
    if found.exclusive:
        await federation.feeds.rebuild_timeline("home")  # its members' posts come back


async def add_members(federation: Federation, found: List, actor_ids: Sequence[int]) -> None:
    """Add accounts we follow (or asked to); refused whole if one is not followed."""
    wanted = list(dict.fromkeys(actor_ids))
    if len(wanted) > MAX_CHANGE:
        raise InvalidList(f"Add at most {MAX_CHANGE} accounts at once.")
    db = federation.db
    states = await follow_store.follows_of(db, wanted)
    for actor_id in wanted:
        if ("out", actor_id) not in states:
            raise InvalidList("You can only add accounts you follow to a list.")
    new = set(wanted) - await store.members_of(db, found.id, wanted)
    if await store.count_members(db, found.id) + len(new) > MAX_MEMBERS:
        raise InvalidList(f"A list can hold at most {MAX_MEMBERS} accounts.")
    async with db.transaction() as conn:
        await store.add_members(conn, found.id, wanted)
    if found.exclusive and new:
        await federation.feeds.rebuild_timeline("home")


async def remove_members(federation: Federation, found: List, actor_ids: Sequence[int]) -> None:
    if len(actor_ids) > MAX_CHANGE:
        raise InvalidList(f"Remove at most {MAX_CHANGE} accounts at once.")
    async with federation.db.transaction() as conn:
        await store.remove_members(conn, found.id, actor_ids)
    if found.exclusive and actor_ids:
        await federation.feeds.rebuild_timeline("home")


async def import_members(federation: Federation, list_name: str, address: str) -> str:
    """One row of Mastodon's lists export: the list (made if need be) gets the account, which
    is followed first when it is not yet (as Mastodon's import does). Returns what happened:
    "added", "already there", "followed and added", or why not."""
    try:
        title = clean_title(list_name)
        found = await store.find_by_title(federation.db, title) or await create(federation, title)
        actor = await follow_actions.find_account(federation, address)
        assert actor.id is not None
        if await store.members_of(federation.db, found.id, [actor.id]):
            return "already there"
        outcome = "added"
        if await follow_store.get_follow(federation.db, "out", actor.id) is None:
            await follow_actions.follow(federation, actor.ap_id)
            outcome = "followed and added"
        await add_members(federation, found, [actor.id])
    except (InvalidList, ActionError) as error:
        return error.message
    return outcome


async def export_rows(db: Database) -> list[tuple[str, str]]:
    """Every (list name, account address) pair, for Mastodon's lists CSV."""
    return await store.export_rows(db)
