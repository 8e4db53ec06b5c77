"""Moving accounts: aliases for arriving (`alsoKnownAs`), and moving away (`movedTo`, `Move`).

Arriving: the old account is named here as an alias (checked through WebFinger and its actor),
our actor publishes it in `alsoKnownAs`, and the old server may then send its `Move`.
Leaving: the new account must already name us in its `alsoKnownAs` (fetched fresh); then our
actor says `movedTo`, an Update(Person) and a `Move` go to every follower's server in one
transaction with the change, and their servers follow the new account. A move can be undone
(the redirect goes; followers who moved stay moved), and another move waits 30 days
(Mastodon's `AccountMigration::COOLDOWN_PERIOD`). Posting still works while moved.
"""

from __future__ import annotations

import time
from typing import Final

import aiosqlite

from solo import urls
from solo.actions import ActionError, WrongPassword
from solo.actions.follows import find_account
from solo.actions.profile import update_person
from solo.catalogues import Message
from solo.federation import vocab
from solo.federation.audience import FOLLOWERS, inbox_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.federation.moves import also_known_as, move_document
from solo.federation.resolver import ResolveError
from solo.passwords import MAX_LENGTH, check_password_async
from solo.store import account as account_store
from solo.store import moves
from solo.store.account import Account, Alias
from solo.store.actors import RemoteActor

MAX_ALIASES: Final = 10
COOLDOWN: Final = 30 * 86400.0
MAX_HANDLE: Final = 300


async def _find(federation: Federation, target: str) -> RemoteActor:
    target = target.strip()
    if not target:
        raise ActionError("Give the account's address, such as @you@mastodon.example.")
    if len(target) > MAX_HANDLE:
        raise ActionError("That address is too long to be an account's.")
    actor = await find_account(federation, target)
    if actor.ap_id == urls.actor(federation.settings):
        raise ActionError("That is this account itself.")
    return actor


async def _fresh(federation: Federation, actor: RemoteActor) -> RemoteActor:
    """The actor fetched again now: what its server says at this moment, not our copy."""
    try:
        return await federation.resolver.actor(actor.ap_id, refresh=True)
    except ResolveError as error:
        raise ActionError(
            "Could not fetch @%(handle)s again: %(error)s", handle=actor.handle, error=error
        ) from None


async def _publish(federation: Federation, conn: aiosqlite.Connection) -> Account:
    """Queue an Update(Person) with the account as it now is, for every follower's server."""
    account = await account_store.read_account(conn)
    update_id = vocab.activity_id(federation.settings, "Update", federation.ids.next())
    await enqueue_delivery(
        conn,
        update_person(federation, account, update_id),
        FOLLOWERS,
        object_ap_id=urls.actor(federation.settings),
    )
    return account


async def _account(federation: Federation) -> Account:
    account = await account_store.get_account(federation.db)
    assert account is not None
    return account


async def add_alias(federation: Federation, target: str) -> Alias:
    """Name an old account as an alias, once WebFinger and its actor confirm it exists."""
    account = await _account(federation)
    actor = await _find(federation, target)
    alias = Alias(actor.ap_id, actor.handle)
    if any(known.ap_id == alias.ap_id for known in account.aliases):
        return alias
    if len(account.aliases) >= MAX_ALIASES:
        raise ActionError(
            "An account can have at most %(max_aliases)s aliases.", max_aliases=MAX_ALIASES
        )
    async with federation.db.transaction() as conn:
        await moves.set_aliases(conn, [*account.aliases, alias])
        await _publish(federation, conn)
    federation.push.wake.set()
    return alias


async def remove_alias(federation: Federation, ap_id: str) -> None:
    account = await _account(federation)
    kept = [alias for alias in account.aliases if alias.ap_id != ap_id]
    if len(kept) == len(account.aliases):
        raise ActionError("That account is not one of your aliases.")
    async with federation.db.transaction() as conn:
        await moves.set_aliases(conn, kept)
        await _publish(federation, conn)
    federation.push.wake.set()


def cooldown_left(account: Account, now: float | None = None) -> float:
    """Seconds until another move is allowed (0: now)."""
    if account.moved_at is None:
        return 0.0
    return max(0.0, account.moved_at + COOLDOWN - (time.time() if now is None else now))


async def move_away(federation: Federation, target: str, password: str) -> RemoteActor:
    """Move to `target`: it must name us in its `alsoKnownAs`; every follower's server gets a
    Move (and so does the target's, which may let our followers past its lock)."""
    account = await _account(federation)
    if not await check_password_async(password[:MAX_LENGTH], account.password_hash):
        raise WrongPassword("The current password is not right.")
    if account.moved_to is not None:
        raise ActionError(
            "This account has already moved to @%(moved_to_handle)s. Undo that move first.",
            moved_to_handle=account.moved_to_handle,
        )
    left = cooldown_left(account)
    if left > 0:
        days = int(left // 86400) + 1
        raise ActionError(
            Message.counted(
                "You moved less than 30 days ago; you can move again in %(num)s day.",
                "You moved less than 30 days ago; you can move again in %(num)s days.",
                days,
            )
        )
    actor = await _fresh(federation, await _find(federation, target))
    me = urls.actor(federation.settings)
    if me not in also_known_as(actor):
        raise ActionError(
            "@%(handle)s does not name this account as an alias yet. On the new account,"
            " add @%(own)s as an alias first, then try again.",
            handle=actor.handle,
            own=urls.handle(federation.settings),
        )
    settings = federation.settings
    move_id = vocab.activity_id(settings, "Move", federation.ids.next())
    async with federation.db.transaction() as conn:
        await moves.set_moved(conn, actor.ap_id, actor.handle, at=time.time())
        await _publish(federation, conn)
        # The new account is told too, whether or not it follows us.
        audience = FOLLOWERS.plus([inbox_of(actor)])
        await enqueue_delivery(conn, move_document(settings, move_id, actor.ap_id), audience)
    federation.push.wake.set()
    return actor


async def undo_move(federation: Federation) -> None:
    """Clear `movedTo`; the cooldown still counts from the move."""
    account = await _account(federation)
    if account.moved_to is None:
        raise ActionError("This account has not moved.")
    async with federation.db.transaction() as conn:
        await moves.set_moved(conn, None, None, at=None)
        await _publish(federation, conn)
    federation.push.wake.set()
