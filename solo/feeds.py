"""Timelines in memory: home, local, federated and notifications, as lists of row ids.

Never the source of truth: every feed is rebuilt from SQLite at start-up (`Feeds.rebuild`) and
after changes that remove many entries at once (an unfollow, a block). Adding one status is an
indexed check and an insertion. A page beyond what memory keeps is read from SQLite with the
same rules (`older`), so every rule lives once, in the SQL below.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass
from typing import Any

from solo.db import Database
from solo.events import Event, EventBus
from solo.store import conversations as conversation_store
from solo.store import lists as list_store
from solo.store import mutes as mute_store
from solo.store import notifications as notification_store
from solo.store.lists import EXCLUSIVE_MEMBERS
from solo.store.suppression import HIDDEN_AUTHORS
from solo.store.tag_follows import FOLLOWED_TAG

HOME_SIZE = 800
PUBLIC_SIZE = 400
NOTIFICATIONS_SIZE = 400
# Held-back notifications (the notification policy's) wait apart, unread but not counted.
# A boost of a post already among the newest entries is not shown again (Mastodon: 40).
BOOST_WINDOW = 40

_FOLLOWED = "SELECT actor_id FROM follows WHERE direction = 'out' AND state = 'accepted'"
# Blocked and muted accounts, and those on blocked domains (store/suppression.py): the
# timelines leave them all out.
_HIDDEN = HIDDEN_AUTHORS
# What the home timeline shows (Mastodon's rules): our own posts and boosts; posts and boosts of
# accounts we follow, their replies only to us, to themselves or to accounts we follow; direct
# messages to us. Nothing by (or boosting) an account we block. Other mentions of us are
# notifications, not home entries. Nothing by (or boosting) an account we mute either. A direct
# message the notification policy holds back waits with its notification, out of home too.
# Public posts carrying a hashtag we follow enter too; members of exclusive lists stay out.
HOME_RULE = f"""
    s.deleted_at IS NULL
    AND (s.actor_id IS NULL OR s.actor_id NOT IN ({_HIDDEN}))
    AND (s.actor_id IS NULL OR s.actor_id NOT IN ({EXCLUSIVE_MEMBERS}))
    AND NOT EXISTS (
        SELECT 1 FROM statuses b WHERE b.id = s.reblog_of_id AND b.actor_id IN ({_HIDDEN})
    )
    AND (
        s.actor_id IS NULL
        OR (s.visibility = 'direct'
            AND s.id IN (SELECT status_id FROM notifications
                         WHERE type = 'mention' AND filtered = 0))
        OR (
            s.visibility != 'direct'
            AND s.actor_id IN ({_FOLLOWED})
            AND (
                s.in_reply_to_ap_id IS NULL
                OR EXISTS (
                    SELECT 1 FROM statuses p WHERE p.id = s.in_reply_to_id
                    AND (p.actor_id IS NULL OR p.actor_id = s.actor_id
                         OR p.actor_id IN ({_FOLLOWED}))
                )
            )
        )
        OR (s.visibility = 'public' AND s.reblog_of_id IS NULL AND {FOLLOWED_TAG})
    )
"""
# Public timelines: public posts (no boosts); local is ours, federated is everything we know.
LOCAL_RULE = (
    "s.deleted_at IS NULL AND s.reblog_of_id IS NULL AND s.visibility = 'public'"
    " AND s.actor_id IS NULL"
)
FEDERATED_RULE = (
    f"s.deleted_at IS NULL AND s.reblog_of_id IS NULL AND s.visibility = 'public'"
    f" AND (s.actor_id IS NULL OR s.actor_id NOT IN ({_HIDDEN}))"
)
RULES = {"home": HOME_RULE, "local": LOCAL_RULE, "federated": FEDERATED_RULE}
# The timeline queries read `statuses s NOT INDEXED`: walking the table newest first (by its
# integer key, which NOT INDEXED still uses) and stopping at the LIMIT beats letting SQLite
# gather every match through the OR of the rules' indexes and sort them (6 ms against 170 ms
# for the home feed with 100,000 statuses; bench/timelines.py).
SIZES = {"home": HOME_SIZE, "local": PUBLIC_SIZE, "federated": PUBLIC_SIZE}
STREAMS = {"home": "user", "local": "public:local", "federated": "public"}


@dataclass(frozen=True)
class Entry:
    id: int
    reblog_of_id: int | None = None


class Feed:
    """Entries newest first, at most `size`; ids are time-sortable, so order is id order."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: list[int] = []  # ascending, for bisect; read back to front
        self._reblogs: dict[int, int | None] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._reblogs

    @property
    def full(self) -> bool:
        return len(self._ids) >= self.size

    def ids(self) -> list[int]:
        return self._ids[::-1]

    def _near(self, entry_id: int, post_id: int) -> list[int]:
        """Entries showing `post_id` (itself or a boost of it) within BOOST_WINDOW places of
        where `entry_id` stands or would stand."""
        at = bisect.bisect_left(self._ids, entry_id)
        low, high = max(0, at - BOOST_WINDOW), at + BOOST_WINDOW
        return [
            other
            for other in self._ids[low:high]
            if other != entry_id and (other == post_id or self._reblogs.get(other) == post_id)
        ]

    def recently_shows(self, status_id: int) -> bool:
        """Whether the post, or a boost of it, is among the newest entries."""
        newest = self._ids[-1] + 1 if self._ids else 0
        return bool(self._near(newest, status_id))

    def add(self, entry: Entry) -> bool:
        """Insert in order; False when it is already there, a repeated boost, or too old.

        A post is shown once among nearby entries: the post itself wins over its boosts, and
        the earliest boost over later ones. The outcome does not depend on the order entries
        are added in, so a rebuild gives the feed the live updates built (remote ids follow
        publication times to the second, so a boost can sort before the post it boosts).
        """
        if entry.id in self._reblogs:
            return False
        if self.full and entry.id < self._ids[0]:
            return False
        post = entry.reblog_of_id if entry.reblog_of_id is not None else entry.id
        near = self._near(entry.id, post)
        if entry.reblog_of_id is not None and any(
            other == post or other < entry.id for other in near
        ):
            return False
        for other in near:
            if other != post:  # a boost shown in this entry's place
                self.remove(other)
        bisect.insort(self._ids, entry.id)
        self._reblogs[entry.id] = entry.reblog_of_id
        if len(self._ids) > self.size:
            oldest = self._ids.pop(0)
            del self._reblogs[oldest]
        return True

    def remove(self, entry_id: int) -> bool:
        if entry_id not in self._reblogs:
            return False
        del self._reblogs[entry_id]
        self._ids.pop(bisect.bisect_left(self._ids, entry_id))
        return True

    def page(self, max_id: int | None, limit: int) -> list[int] | None:
        """Up to `limit` ids older than `max_id`; None when memory cannot tell (ask SQLite)."""
        end = len(self._ids) if max_id is None else bisect.bisect_left(self._ids, max_id)
        start = max(0, end - limit)
        ids = self._ids[start:end][::-1]
        if len(ids) < limit and self.full:
            return None  # the page runs past what memory keeps
        return ids


class Feeds:
    def __init__(self, db: Database, events: EventBus, sizes: dict[str, int] | None = None) -> None:
        self.db = db
        self.events = events
        self.sizes = {**SIZES, "notifications": NOTIFICATIONS_SIZE, **(sizes or {})}
        self.timelines = {name: Feed(self.sizes[name]) for name in RULES}
        self.notifications = Feed(self.sizes["notifications"])
        self.unread = 0
        self._recount: asyncio.Task[None] | None = None
        # When the next mute runs out: its account's posts are due back in the timelines.
        self._mute_ends: float | None = None
        # Woken after every new notification commits (the Web Push queue's worker).
        self.notification_wakes: list[asyncio.Event] = []
        # Notifications added inside a write batch, announced together once it commits.
        self._batched_notifications: list[int] = []

    async def watch(self) -> None:
        """Hear of every deleted notification, however it went: dismissed, cleared, or with
        the post or account it was about (foreign-key cascades). An entry left behind would
        swallow the next notification given the same place."""
        await self.db.watch("notifications", "id", self._notifications_deleted, events=["DELETE"])

    def _notifications_deleted(self, ids: frozenset[Any]) -> None:
        for notification_id in ids:
            self.notifications.remove(notification_id)
        if self._recount is None or self._recount.done():
            self._recount = asyncio.get_running_loop().create_task(self._count_unread())

    async def _count_unread(self) -> None:
        self.unread = await notification_store.count_unread(self.db)

    async def recount_unread(self) -> None:
        """After a block, a mute or a muted conversation: the count leaves out what they hide
        (and takes back in what an unmute shows again)."""
        await self._count_unread()

    async def aclose(self) -> None:
        if self._recount is not None:
            self._recount.cancel()
            await asyncio.gather(self._recount, return_exceptions=True)

    async def rebuild(self) -> None:
        for name in RULES:
            await self.rebuild_timeline(name)
        await self.rebuild_notifications()

    async def rebuild_timeline(self, name: str) -> None:
        if self.db.after_commit(("timeline", name), lambda: self.rebuild_timeline(name)):
            return  # inside a write batch: once, after it commits
        feed = Feed(self.sizes[name])
        # When the mutes this read applies run out: asked first, so a mute that ends while the
        # rows are read is still waited for (asked after, it would be gone and never undone).
        mute_ends = await mute_store.next_end(self.db)
        rows = await self.db.fetchall(
            f"SELECT s.id, s.reblog_of_id FROM statuses s NOT INDEXED WHERE {RULES[name]}"
            " ORDER BY s.id DESC LIMIT ?",
            (feed.size + BOOST_WINDOW,),
        )
        for row in reversed(rows):  # oldest first, so repeated boosts are judged as they came
            feed.add(Entry(row[0], row[1]))
        self.timelines[name] = feed
        self._mute_ends = mute_ends

    async def expire_mutes(self) -> None:
        """Rebuild the timelines a mute that ran out had thinned, on the first read after."""
        if self._mute_ends is not None and time.time() >= self._mute_ends:
            self._mute_ends = None
            for name in RULES:
                await self.rebuild_timeline(name)

    async def rebuild_notifications(self) -> None:
        if self.db.after_commit("notifications", self.rebuild_notifications):
            return  # inside a write batch: once, after it commits
        feed = Feed(self.sizes["notifications"])
        rows = await self.db.fetchall(
            "SELECT id FROM notifications WHERE filtered = 0 ORDER BY id DESC LIMIT ?",
            (feed.size,),
        )
        for row in rows:
            feed.add(Entry(row[0]))
        self.notifications = feed
        self.unread = await notification_store.count_unread(self.db)

    async def status_added(self, status_id: int) -> list[str]:
        """Put a newly stored status in every timeline whose rule it meets; returns their names.

        Inside a write batch, done once the batch commits (and nothing is returned)."""

        async def later() -> None:
            await self._added(status_id)

        if self.db.after_commit(("status_added", status_id), later):
            return []
        return await self._added(status_id)

    async def _added(self, status_id: int) -> list[str]:
        entered = []
        for name, rule in RULES.items():
            row = await self.db.fetchone(
                f"SELECT s.id, s.reblog_of_id FROM statuses s WHERE s.id = ? AND {rule}",
                (status_id,),
            )
            if row is not None and self.timelines[name].add(Entry(row[0], row[1])):
                entered.append(name)
                self.events.publish(Event("update", STREAMS[name], {"status_id": status_id}))
        conversation = await conversation_store.of_status(self.db, status_id)
        if conversation is not None:
            self.events.publish(
                Event("conversation", "direct", {"id": conversation, "status_id": status_id})
            )
        for list_id in await list_store.lists_showing(self.db, status_id):
            self.events.publish(Event("update", f"list:{list_id}", {"status_id": status_id}))
        return entered

    def status_removed(self, status_id: int) -> None:
        # Which timelines held it: the row is gone, and only public ones may hear of it.
        held = [name for name, feed in self.timelines.items() if feed.remove(status_id)]
        self.events.publish(Event("delete", "user", {"status_id": status_id, "timelines": held}))

    def forget(self, status_ids: list[int]) -> int:
        """Take statuses out of every timeline without a word to the streams (retention prunes
        old posts nobody looks at: no client needs telling); how many places held one."""
        return sum(
            feed.remove(status_id) for feed in self.timelines.values() for status_id in status_ids
        )

    def status_edited(self, status_id: int) -> None:
        self.events.publish(Event("status.update", "user", {"status_id": status_id}))

    async def notification_added(self, notification_id: int) -> None:
        """A new notification: counted and announced to the streams, unless the user asked
        not to get it (`solo.store.suppression`). Inside a write batch, after it commits,
        with the batch's other notifications (one query for all)."""
        if self.db.after_commit("notifications_added", self._announce_batched):
            self._batched_notifications.append(notification_id)
            return
        for wake in self.notification_wakes:
            wake.set()
        if await notification_store.is_shown(self.db, notification_id):
            self._announce(notification_id)

    async def _announce_batched(self) -> None:
        added, self._batched_notifications = self._batched_notifications, []
        for wake in self.notification_wakes:
            wake.set()
        shown = await notification_store.shown_among(self.db, added)
        for notification_id in added:
            if notification_id in shown:
                self._announce(notification_id)

    def _announce(self, notification_id: int) -> None:
        if self.notifications.add(Entry(notification_id)):
            self.unread += 1
            self.events.publish(
                Event("notification", "user", {"id": notification_id, "unread": self.unread})
            )

    async def notifications_merged(self) -> None:
        """Held-back notifications joined the list (a request was accepted): rebuild what they
        enter, and tell the streams, as Mastodon's `notifications_merged` event does."""
        await self.rebuild_notifications()
        await self.rebuild_timeline("home")  # a direct message accepted enters home
        self.events.publish(Event("notifications_merged", "user", {"unread": self.unread}))

    async def older(self, name: str, max_id: int | None, limit: int) -> list[int]:
        """A page of a timeline: from memory when it can, else from SQLite by the same rule."""
        await self.expire_mutes()
        ids = self.timelines[name].page(max_id, limit)
        if ids is not None:
            return ids
        rows = await self.db.fetchall(
            f"SELECT s.id FROM statuses s NOT INDEXED WHERE {RULES[name]}"
            " AND (? IS NULL OR s.id < ?)"
            " ORDER BY s.id DESC LIMIT ?",
            (max_id, max_id, limit),
        )
        return [row[0] for row in rows]
