"""What each kind of CSV import does to one line, what an overwrite undoes, and each export.

Every line goes through the same action a person's click does (follow, block, mute, bookmark,
block a domain), after a look at what is there already, so a line done before (an earlier
import, or one a crash cut short before it was recorded) is skipped and counted, never done
twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from solo import urls
from solo.actions import ActionError, blocks, bookmarks, csv_lists
from solo.actions import domain_blocks as domain_actions
from solo.actions import follows as follow_actions
from solo.actions.csv_formats import FOLLOWING_HEADER, MUTES_HEADER, account_address, write
from solo.actions.lookup import resolve_url
from solo.catalogues import N_
from solo.db import Database
from solo.federation.context import Federation
from solo.federation.resolver import ResolveError
from solo.net.fetch import FetchError
from solo.store import actors as actor_store
from solo.store import csv_exports, follows, interactions, mutes
from solo.store import domain_blocks as domain_store
from solo.store.actors import RemoteActor
from solo.store.csv_imports import Line, Outcome, Settled
from solo.store.statuses import Status

# Lines that reach other servers run this many at once: 1,000 follows are 1,000 WebFinger
# look-ups and actor fetches, and each Follow then waits in the push queue, bounded per host.
CONCURRENCY: Final = 4
DOMAIN_BATCH: Final = 500


def batch_size(kind: str) -> int:
    return DOMAIN_BATCH if kind == "domain-blocks" else CONCURRENCY


async def _account(federation: Federation, address: str) -> RemoteActor:
    """The account of `user@server`: stored already, else found through WebFinger."""
    if address.lower() == urls.handle(federation.settings).lower():
        raise ActionError("That is your own account.")
    username, host = address.split("@", 1)
    actor = await actor_store.get_actor_by_handle(federation.db, username, host)
    if actor is None:
        actor = await follow_actions.find_account(federation, address)
    assert actor.id is not None
    return actor


async def _line(federation: Federation, kind: str, values: dict[str, Any]) -> tuple[Outcome, str]:
    value = str(values["value"])
    db = federation.db
    if kind == "bookmarks":
        found = await resolve_url(federation, value)
        if not isinstance(found, Status):
            raise ActionError("That is an account, not a post.")
        if await interactions.exists(db, "bookmark", actor_id=None, status_id=found.id):
            return "skipped", N_("already bookmarked")
        await bookmarks.bookmark(federation, found.id)
        return "added", ""
    if kind == "lists":
        added = await csv_lists.import_member(federation, str(values["list"]), value)
        return ("added", "") if added else ("skipped", N_("already on the list"))
    actor = await _account(federation, value)
    assert actor.id is not None
    if kind == "following":
        if await follows.get_follow(db, "out", actor.id) is not None:
            return "skipped", N_("already followed")
        await follow_actions.follow(federation, actor.ap_id)
    elif kind == "blocks":
        if await interactions.exists(db, "block", actor_id=None, target_actor_id=actor.id):
            return "skipped", N_("already blocked")
        await blocks.block(federation, actor)
    else:
        hide = bool(values.get("notifications", True))
        if actor.id in await mutes.mutes_of(db, [actor.id]):
            return "skipped", N_("already muted")
        await blocks.mute(federation, actor, notifications=hide, duration=0)
    return "added", ""


async def _settle_one(federation: Federation, kind: str, line: Line) -> Settled:
    try:
        outcome, reason = await _line(federation, kind, line.data)
    except ActionError as error:
        return Settled(line.line, "failed", error.message)
    except (FetchError, ResolveError) as error:
        return Settled(line.line, "failed", f"could not reach its server: {error}")
    return Settled(line.line, outcome, reason)


async def _domains(federation: Federation, lines: Sequence[Line]) -> list[Settled]:
    """Domain blocks in ONE transaction for the batch, as the blocklist import does."""
    wanted = [str(line.data["value"]) for line in lines]
    already = await domain_store.existing(federation.db, wanted)
    new = [domain for domain in dict.fromkeys(wanted) if domain not in already]
    await domain_actions.block(federation, [(domain, "") for domain in new])
    return [
        Settled(line.line, "skipped", N_("already blocked"))
        if line.data["value"] in already
        else Settled(line.line, "added")
        for line in lines
    ]


async def apply(federation: Federation, kind: str, lines: Sequence[Line]) -> list[Settled]:
    """Do what each line asks; the outcome of each, with why when it was not done."""
    if kind == "domain-blocks":
        return await _domains(federation, lines)
    return list(await asyncio.gather(*(_settle_one(federation, kind, line) for line in lines)))


def _address(value: object) -> str:
    return (account_address(str(value)) or str(value)).lower()


async def remove_missing(federation: Federation, kind: str, kept: list[dict[str, Any]]) -> int:
    """An overwrite's end: undo what is not in the file (every line of it counts, failed ones
    too, so that nothing the file names is undone); how many were undone."""
    db = federation.db
    keep = {_address(values["value"]) for values in kept}
    removed = 0
    if kind == "following":
        for item in await csv_exports.followed(db):
            if item.address.lower() not in keep:
                await follow_actions.unfollow(federation, item.ap_id)
                removed += 1
    elif kind in ("blocks", "mutes"):
        listed = await (csv_exports.blocked(db) if kind == "blocks" else csv_exports.muted(db))
        for item in listed:
            if item.address.lower() not in keep:
                actor = await actor_store.get_actor(db, item.ap_id)
                assert actor is not None
                await (blocks.unblock if kind == "blocks" else blocks.unmute)(federation, actor)
                removed += 1
    elif kind == "domain-blocks":
        for block in await domain_store.all_blocks(db):
            if block.domain not in keep:
                removed += await domain_actions.unblock(federation, block.domain)
    elif kind == "bookmarks":
        keep = {str(values["value"]) for values in kept}
        for mark in await csv_exports.bookmarked(db):
            if mark.ap_id not in keep and (mark.url or "") not in keep:
                await bookmarks.unbookmark(federation, mark.status_id)
                removed += 1
    elif kind == "lists":
        pairs = {(str(values.get("list", "")), _address(values["value"])) for values in kept}
        for name, address in await csv_lists.export_members(db):
            if (name, address.lower()) not in pairs:
                await csv_lists.remove_member(federation, name, address)
                removed += 1
    return removed


async def export(db: Database, kind: str) -> str:
    """The CSV Mastodon exports for `kind`, of what this instance holds now."""
    if kind == "following":
        # Solo has no per-follow boosts, notify or languages settings: Mastodon's defaults.
        rows: list[tuple[object, ...]] = [
            (item.address, True, False, "") for item in await csv_exports.followed(db)
        ]
        return write(FOLLOWING_HEADER, rows)
    if kind == "blocks":
        return write(None, [(item.address,) for item in await csv_exports.blocked(db)])
    if kind == "mutes":
        muted = await csv_exports.muted(db)
        return write(MUTES_HEADER, [(item.address, item.flag) for item in muted])
    if kind == "domain-blocks":
        return write(None, [(block.domain,) for block in await domain_store.all_blocks(db)])
    if kind == "bookmarks":
        return write(None, [(mark.ap_id,) for mark in await csv_exports.bookmarked(db)])
    if kind == "lists":
        return write(None, await csv_lists.export_members(db))
    raise ActionError("%(kind)s is not something Solo exports.", kind=repr(kind))
