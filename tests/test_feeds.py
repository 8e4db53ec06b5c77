"""Feeds in memory: what each timeline shows, boosts once, bounds, paging, rebuilds."""

from __future__ import annotations

import random
from pathlib import Path

from solo.actions import follows as follow_actions
from solo.actions import interactions, notification_requests, statuses
from solo.events import EventBus
from solo.feeds import BOOST_WINDOW, Entry, Feed, Feeds
from solo.store import actors as actor_store
from solo.store import follows
from solo.store.statuses import get_status_by_ap_id
from tests.fleet import Node, eventually, fleet_of


def test_feed_keeps_order_bounds_and_skips_repeated_boosts() -> None:
    feed = Feed(5)
    for entry_id in (10, 30, 20):
        assert feed.add(Entry(entry_id))
    assert feed.ids() == [30, 20, 10]
    assert not feed.add(Entry(20))  # already there
    assert not feed.add(Entry(40, reblog_of_id=30))  # 30 itself is recent
    assert feed.add(Entry(50, reblog_of_id=7))
    assert not feed.add(Entry(60, reblog_of_id=7))  # 7 was boosted recently
    for entry_id in (70, 80, 90):
        feed.add(Entry(entry_id))
    assert feed.ids() == [90, 80, 70, 50, 30]
    assert not feed.add(Entry(1))  # older than everything kept
    assert feed.page(None, 2) == [90, 80]
    assert feed.page(80, 2) == [70, 50]
    assert feed.page(50, 5) is None  # runs past memory: SQLite answers
    assert feed.remove(70) and feed.ids() == [90, 80, 50, 30]


def test_the_feed_does_not_depend_on_the_order_entries_arrive_in() -> None:
    """Live updates and a rebuild add the same entries in different orders."""
    entries = [Entry(100), Entry(90, reblog_of_id=100), Entry(95, reblog_of_id=100)]
    entries += [Entry(200, reblog_of_id=7), Entry(210, reblog_of_id=7), Entry(205)]
    entries += [Entry(n) for n in range(300, 330)]
    shuffler = random.Random(4)
    results = set()
    for _ in range(50):
        shuffler.shuffle(entries)
        feed = Feed(100)
        for entry in entries:
            feed.add(entry)
        results.add(tuple(feed.ids()))
    (result,) = results
    assert 100 in result and 90 not in result and 95 not in result  # the post beats its boosts
    assert 200 in result and 210 not in result  # the earliest boost stays


def test_a_boost_far_down_the_feed_is_shown_again() -> None:
    feed = Feed(500)
    feed.add(Entry(1))
    for entry_id in range(2, BOOST_WINDOW + 3):
        feed.add(Entry(entry_id))
    assert feed.add(Entry(1000, reblog_of_id=1))


async def follow_and_wait(node: Node, other: Node) -> None:
    await follow_actions.follow(
        node.federation, f"@{other.settings.username}@{other.settings.domain}"
    )

    async def accepted() -> bool:
        actor = await actor_store.get_actor(node.federation.db, other.actor)
        if actor is None or actor.id is None:
            return False
        found = await follows.get_follow(node.federation.db, "out", actor.id)
        return found is not None and found.state == "accepted"

    await eventually(accepted, what="the follow to be accepted")


async def arrived(node: Node, ap_id: str) -> int:
    async def stored() -> bool:
        return await get_status_by_ap_id(node.federation.db, ap_id) is not None

    await eventually(stored, what=f"{ap_id} to arrive")
    found = await get_status_by_ap_id(node.federation.db, ap_id)
    assert found is not None
    return found.id


async def in_feed(node: Node, name: str, status_id: int) -> None:
    """Wait for a stored status to reach a feed: the handler commits first, then tells feeds."""

    async def there() -> bool:
        return status_id in node.federation.feeds.timelines[name]

    await eventually(there, what=f"{status_id} in {name}")


def home(node: Node) -> list[int]:
    return node.federation.feeds.timelines["home"].ids()


async def test_what_home_local_and_federated_show(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        feeds = alice.federation.feeds
        own = await statuses.post(alice.federation, "my own post")
        assert home(alice) == [own.id]
        assert feeds.timelines["local"].ids() == [own.id]
        await follow_and_wait(alice, bob)
        await follow_and_wait(bob, alice)
        await follow_and_wait(carol, alice)

        public = await statuses.post(bob.federation, "bob says hi")
        public_id = await arrived(alice, public.ap_id)
        # Remote posts take their place by publication time (to the second), not arrival.
        await in_feed(alice, "federated", public_id)  # the last feed told: all are settled
        assert public_id in feeds.timelines["home"]
        assert public_id not in feeds.timelines["local"]

        # carol is not followed: her public post mentioning alice notifies, but is not home.
        mention = await statuses.post(carol.federation, "hey @alice@alice.test")
        mention_id = await arrived(alice, mention.ap_id)
        await in_feed(alice, "federated", mention_id)
        assert mention_id not in feeds.timelines["home"]
        # A direct message is, once the notification policy lets a stranger's through.
        direct = await statuses.post(
            carol.federation, "psst @alice@alice.test", visibility="direct"
        )
        direct_id = await arrived(alice, direct.ap_id)
        assert direct_id not in feeds.timelines["home"]
        held = await alice.federation.db.fetchval("SELECT id FROM notification_requests")
        await notification_requests.accept_requests(alice.federation, [held])
        await in_feed(alice, "home", direct_id)
        assert direct_id not in feeds.timelines["federated"]

        # bob replies to carol (not followed): not home; bob replies to alice: home.
        carol_post = await statuses.post(carol.federation, "carol thinks @bob@bob.test")
        bob_copy = await arrived(bob, carol_post.ap_id)
        to_carol = await statuses.post(
            bob.federation, "@carol@carol.test yes", in_reply_to=bob_copy
        )
        later = await statuses.post(alice.federation, "a question for my followers")
        alice_copy_of_own = await arrived(bob, later.ap_id)
        to_alice = await statuses.post(
            bob.federation, "@alice@alice.test nice", in_reply_to=alice_copy_of_own
        )
        to_alice_id = await arrived(alice, to_alice.ap_id)
        await in_feed(alice, "home", to_alice_id)
        # alice follows bob, so she stores his reply to carol; her home does not show it.
        reply_to_carol = await arrived(alice, to_carol.ap_id)
        await in_feed(alice, "federated", reply_to_carol)
        assert reply_to_carol not in feeds.timelines["home"]

        # Unfollowing bob takes his posts out of home.
        await follow_actions.unfollow(alice.federation, bob.actor)
        assert public_id not in feeds.timelines["home"]
        assert own.id in feeds.timelines["home"]


async def test_a_post_boosted_twice_is_shown_once(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol", "dave") as (_, nodes):
        alice, bob, carol, dave = (nodes[n] for n in ("alice", "bob", "carol", "dave"))
        for followed in (bob, carol):
            await follow_and_wait(alice, followed)
            await follow_and_wait(followed, dave)
        original = await statuses.post(dave.federation, "worth boosting")
        for booster in (bob, carol):
            copy = await arrived(booster, original.ap_id)
            await interactions.boost(booster.federation, copy)

        async def both_boosts_stored() -> bool:
            count = await alice.federation.db.fetchval(
                "SELECT COUNT(*) FROM statuses WHERE reblog_of_id IS NOT NULL"
            )
            return int(count) == 2

        await eventually(both_boosts_stored, what="both boosts at alice")

        async def handled() -> bool:
            # A job is done once its handler returned, feeds told; `counts` flushes the acks.
            counts = await alice.federation.ingress.counts()
            return not any(counts.get(state) for state in ("queued", "running", "retrying"))

        await eventually(handled, what="alice's ingress to settle")
        boosted = await get_status_by_ap_id(alice.federation.db, original.ap_id)
        assert boosted is not None
        rows = await alice.federation.db.fetchall(
            "SELECT id FROM statuses WHERE reblog_of_id = ? ORDER BY id", (boosted.id,)
        )
        shown = [row[0] for row in rows if row[0] in alice.federation.feeds.timelines["home"]]
        assert len(shown) == 1


async def test_rebuild_gives_the_same_feeds_and_older_pages_come_from_sqlite(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        posted = [(await statuses.post(alice.federation, f"post {n}")).id for n in range(12)]
        live = alice.federation.feeds
        rebuilt = Feeds(alice.federation.db, EventBus())
        await rebuilt.rebuild()
        for name in ("home", "local", "federated"):
            assert rebuilt.timelines[name].ids() == live.timelines[name].ids()
        assert rebuilt.notifications.ids() == live.notifications.ids()

        small = Feeds(alice.federation.db, EventBus(), sizes={"home": 5})
        await small.rebuild()
        newest_first = posted[::-1]
        assert small.timelines["home"].ids() == newest_first[:5]
        first = await small.older("home", None, 4)
        second = await small.older("home", first[-1], 4)
        third = await small.older("home", second[-1], 4)
        assert first + second + third == newest_first
        assert await small.older("home", third[-1], 4) == []


async def test_events_are_published_for_updates_and_notifications(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        queue = alice.federation.events.subscribe()
        own = await statuses.post(alice.federation, "hello")
        kinds = set()
        while not queue.empty():
            event = queue.get_nowait()
            kinds.add((event.kind, event.stream))
            assert event.payload["status_id"] == own.id
        assert kinds == {("update", "user"), ("update", "public:local"), ("update", "public")}
        await follow_and_wait(bob, alice)
        event = await queue.get()
        assert event.kind == "notification" and event.payload["unread"] == 1
        await statuses.delete(alice.federation, own.id)
        assert own.id not in alice.federation.feeds.timelines["home"]
        assert (await queue.get()).kind == "delete"
