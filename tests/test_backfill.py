"""Backfill: a new follow's outbox, a profile's recent posts, a thread's ancestors and replies;
bounded, refused where ingress would refuse, and never holding a page for long."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from solo.activitystreams import PUBLIC
from solo.federation import backfill
from solo.store import hosts, statuses
from tests.fleet import Fleet, Node, eventually, fleet_of
from tests.ingress_helpers import (
    AS_CONTEXT,
    FakeServer,
    Sender,
    activity,
    actor_row,
    create,
    deliver,
    follow_directly,
    follow_solo,
    local_post,
    note,
    status_of,
)
from tests.test_login import login


class SlowServer(FakeServer):
    """A FakeServer whose routes may answer late, or 410 Gone."""

    def __init__(self, fleet: Fleet, origin: str) -> None:
        super().__init__(fleet, origin)
        self.delays: dict[str, float] = {}
        self.gone: set[str] = set()

    async def endpoint(self, request: Request) -> Response:
        url = str(request.url)
        await asyncio.sleep(self.delays.get(url, 0))
        if request.method == "GET" and url in self.gone:
            self.fetched.append(url)
            return Response("gone", status_code=410)
        return await super().endpoint(request)


def served(server: FakeServer, document: dict[str, Any]) -> dict[str, Any]:
    server.serve({"@context": AS_CONTEXT, **document})
    return document


def with_replies(
    server: FakeServer, post: dict[str, Any], own: list[Any], others: list[Any]
) -> dict[str, Any]:
    """Give a post Mastodon's replies collection: the author's own replies in the embedded
    first page, the others' (as ids) on the next page."""
    collection = f"{post['id']}/replies"
    following = f"{collection}?only_other_accounts=true&page=true"
    post["replies"] = {
        "id": collection,
        "type": "Collection",
        "first": {"type": "CollectionPage", "next": following, "partOf": collection, "items": own},
    }
    served(server, dict(post["replies"]))
    served(
        server, {"id": following, "type": "CollectionPage", "partOf": collection, "items": others}
    )
    return post


async def store_by_ingress(node: Node, author: Sender, post: dict[str, Any]) -> int:
    """Deliver a post (its author followed) and return its row id."""
    assert (await deliver(node, author, create(author, post))).applied
    stored = await status_of(node, post["id"])
    assert stored is not None
    return stored.id


async def count_by(node: Node, actor_ap_id: str) -> int:
    actor_id = await actor_row(node, actor_ap_id)
    return int(
        await node.federation.db.fetchval(
            "SELECT COUNT(*) FROM statuses WHERE actor_id = ?", (actor_id,)
        )
    )


async def test_accepted_follow_fills_home_with_the_newest_page(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        for n in range(25):
            await local_post(alice, f"post {n}")
        newest = await statuses.outbox_page(alice.federation.db, max_id=None, limit=20)
        await follow_solo(bob, alice)

        async def backfilled() -> bool:
            return len(bob.federation.feeds.timelines["home"]) == 20

        await eventually(backfilled, what="alice's newest posts in bob's home")
        assert await count_by(bob, alice.actor) == 20
        home = bob.federation.feeds.timelines["home"].ids()
        shown = [await statuses.get_status(bob.federation.db, i) for i in home]
        # Newest first, as alice published them; the five oldest were not on the first page.
        assert [s.ap_id for s in shown if s is not None] == [s.ap_id for s in newest]


async def test_profile_reads_a_mastodon_shaped_outbox(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        outbox = "https://carol.example/users/carol/outbox"
        carol = server.actor("https://carol.example/users/carol", outbox=outbox)
        public = [note(carol, published=f"2024-05-0{n}T10:00:00Z") for n in range(1, 5)]
        by_id = served(server, note(carol, published="2024-05-05T10:00:00Z"))
        hidden = note(carol, to=[carol.followers], cc=[])
        boost = activity("Announce", carol, "https://elsewhere.example/notes/1", to=[PUBLIC])
        page = f"{outbox}?page=true"
        newest_first = [create(carol, post) for post in reversed(public)]
        items = [by_id["id"], boost, create(carol, hidden), *newest_first]
        served(server, {"id": outbox, "type": "OrderedCollection", "first": page})
        served(server, {"id": page, "type": "OrderedCollectionPage", "orderedItems": items})

        await backfill.profile(alice.federation, carol.actor, wait=10)
        for post in [*public, by_id]:
            assert await status_of(alice, post["id"]) is not None, post["id"]
        assert await status_of(alice, hidden["id"]) is None
        assert await count_by(alice, carol.actor) == 5
        # Not followed: the posts are known, the home feed is not theirs.
        assert len(alice.federation.feeds.timelines["home"]) == 0
        # Opening the profile again soon fetches nothing.
        before = len(server.fetched)
        await backfill.profile(alice.federation, carol.actor, wait=10)
        assert len(server.fetched) == before
        # A new follow of an account whose posts we have stores nothing twice.
        actor = await alice.federation.resolver.actor(carol.actor)
        assert await backfill.after_follow_accepted(alice.federation, actor) == 0


async def test_thread_fetches_missing_ancestors(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        other = FakeServer(fleet, "https://dave.example")
        dave = other.actor("https://dave.example/users/dave")
        await follow_directly(alice, carol.actor)
        chain: list[dict[str, Any]] = []
        for n in range(5):
            author, host = (dave, other) if n == 2 else (carol, server)
            reply_to = {"inReplyTo": chain[-1]["id"]} if chain else {}
            chain.append(served(host, note(author, **reply_to)))
        last = await store_by_ingress(alice, carol, chain[-1])

        await backfill.thread(alice.federation, last, wait=10)
        rows = [await status_of(alice, post["id"]) for post in chain]
        assert all(row is not None for row in rows)
        # Linked both ways: each post points at its parent, whichever was stored first.
        for parent, child in itertools.pairwise(rows):
            assert parent is not None and child is not None
            assert child.in_reply_to_id == parent.id


async def test_thread_reads_replies_collections(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        other = FakeServer(fleet, "https://dave.example")
        dave = other.actor("https://dave.example/users/dave")
        await follow_directly(alice, carol.actor)
        root = note(carol)
        own = note(carol, inReplyTo=root["id"])
        theirs = note(dave, inReplyTo=root["id"])
        deeper = served(server, note(carol, inReplyTo=theirs["id"]))
        served(other, with_replies(other, theirs, [], [deeper["id"]]))
        served(server, with_replies(server, own, [], []))
        with_replies(server, root, [own], [theirs["id"]])
        root_id = await store_by_ingress(alice, carol, root)

        await backfill.thread(alice.federation, root_id, wait=10)
        for post, parent in ((own, root), (theirs, root), (deeper, theirs)):
            stored, above = await status_of(alice, post["id"]), await status_of(alice, parent["id"])
            assert stored is not None and above is not None, post["id"]
            assert stored.in_reply_to_id == above.id


async def test_thread_backfill_is_bounded(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        await follow_directly(alice, carol.actor)
        # A chain of 50 replies, each listing the next: only REPLY_DEPTH levels are read.
        chain = [note(carol)]
        for _ in range(50):
            chain.append(note(carol, inReplyTo=chain[-1]["id"]))
        for post, reply in zip(chain, [*chain[1:], None], strict=True):
            served(server, with_replies(server, post, [], [reply["id"]] if reply else []))
        first = await store_by_ingress(alice, carol, chain[0])
        await backfill.thread(alice.federation, first, wait=10)
        stored = [await status_of(alice, post["id"]) is not None for post in chain]
        assert stored == [True] * (1 + backfill.REPLY_DEPTH) + [False] * (50 - backfill.REPLY_DEPTH)
        # Sixty replies to one post: at most REPLY_ITEMS of them.
        wide = note(carol)
        replies = [served(server, note(carol, inReplyTo=wide["id"])) for _ in range(60)]
        with_replies(server, wide, [], [reply["id"] for reply in replies])
        await backfill.thread(alice.federation, await store_by_ingress(alice, carol, wide), wait=10)
        found = [await status_of(alice, reply["id"]) for reply in replies]
        assert sum(row is not None for row in found) == backfill.REPLY_ITEMS


async def test_thread_answers_in_time_and_finishes_later(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = SlowServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        await follow_directly(alice, carol.actor)
        root = note(carol)
        late = note(carol, inReplyTo=root["id"])
        with_replies(server, root, [], [late["id"]])
        served(server, with_replies(server, late, [], []))
        server.delays[late["id"]] = 5.0
        # Below the late reply, a page that never comes in time.
        server.delays[late["replies"]["first"]["next"]] = 60.0
        root_id = await store_by_ingress(alice, carol, root)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await backfill.thread(alice.federation, root_id, wait=0.5)
        assert loop.time() - started < 1.5
        assert await status_of(alice, late["id"]) is None

        async def arrived() -> bool:
            return await status_of(alice, late["id"]) is not None

        await eventually(arrived, within=15, what="the slow reply")
        # Shutting down cancels what still runs, at once.
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert f"solo-backfill thread {root_id}" in names
        started = loop.time()
        await backfill.shutdown(alice.federation)
        assert loop.time() - started < 1.0


async def test_thread_refuses_what_ingress_refuses(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = SlowServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        evil = SlowServer(fleet, "https://evil.example")
        evil.actor("https://evil.example/users/mallory")
        dave = FakeServer(fleet, "https://dave.example")
        dave_sender = dave.actor("https://dave.example/users/dave")
        blocked = FakeServer(fleet, "https://blocked.example")
        eve = blocked.actor("https://blocked.example/users/eve")
        await follow_directly(alice, carol.actor)
        root = note(carol)
        reply = {"inReplyTo": root["id"]}
        good = served(server, note(carol, **reply))
        # Served by evil.example but claiming carol as its author.
        forged = served(evil, {**note(carol, **reply), "id": "https://evil.example/notes/1"})
        # On carol's host, attributed to dave.
        misplaced = served(server, {**note(dave_sender, **reply), "id": f"{carol.actor}/x/1"})
        deleted_here = served(server, note(carol, **reply))
        tombstone = served(server, {"id": f"{carol.actor}/notes/gone", "type": "Tombstone"})
        gone = note(carol, **reply)
        server.gone.add(gone["id"])
        deleted_early = served(server, note(carol, **reply))
        from_blocked = served(blocked, note(eve, **reply))
        followers_only = served(server, note(carol, to=[carol.followers], cc=[], **reply))
        with_replies(
            server,
            root,
            [forged],
            [
                good["id"],
                misplaced["id"],
                deleted_here["id"],
                tombstone["id"],
                gone["id"],
                deleted_early["id"],
                from_blocked["id"],
                followers_only["id"],
            ],
        )
        root_id = await store_by_ingress(alice, carol, root)
        async with alice.federation.db.transaction() as conn:
            await statuses.tombstone(conn, deleted_here["id"])
        assert (await deliver(alice, carol, activity("Delete", carol, deleted_early["id"]))).applied
        await hosts.block_domain(alice.federation.db, "blocked.example")

        await backfill.thread(alice.federation, root_id, wait=10)
        assert await status_of(alice, good["id"]) is not None
        for refused in (
            forged,
            misplaced,
            deleted_here,
            tombstone,
            gone,
            deleted_early,
            from_blocked,
            followers_only,
        ):
            assert await status_of(alice, refused["id"]) is None, refused["id"]
        # Neither the tombstoned post nor the blocked domain was asked for anything.
        assert deleted_here["id"] not in server.fetched
        assert blocked.fetched == []
        # The early Delete is still remembered, for the Create it overtook.
        assert await statuses.deleted_before_arrival(
            alice.federation.db, deleted_early["id"], carol.actor
        )


async def test_concurrent_thread_calls_run_one_backfill(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = SlowServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        await follow_directly(alice, carol.actor)
        parent = served(server, note(carol))
        server.delays[parent["id"]] = 0.3
        child_id = await store_by_ingress(alice, carol, note(carol, inReplyTo=parent["id"]))
        federation = alice.federation
        await asyncio.gather(
            backfill.thread(federation, child_id, wait=10),
            backfill.thread(federation, child_id, wait=10),
        )
        assert server.fetched.count(parent["id"]) == 1
        assert await status_of(alice, parent["id"]) is not None
        # Reloading the page soon after starts nothing either.
        fetched = len(server.fetched)
        await backfill.thread(federation, child_id, wait=10)
        assert len(server.fetched) == fetched
        # An unknown status is no error for the page.
        await backfill.thread(federation, 12345, wait=10)


async def test_profile_reads_the_totals_their_server_gives(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        base = "https://carol.example/users/carol"
        carol = server.actor(base, outbox=f"{base}/outbox", following=f"{base}/following")
        # Mastodon shows totals while hiding the items; a bogus total is ignored.
        served(server, {"id": f"{base}/followers", "type": "OrderedCollection", "totalItems": 1234})
        served(server, {"id": f"{base}/following", "type": "OrderedCollection", "totalItems": 56})
        served(server, {"id": f"{base}/outbox", "type": "OrderedCollection", "totalItems": -3})
        await backfill.profile(alice.federation, carol.actor, wait=10)
        actor = await alice.federation.resolver.actor(carol.actor)
        assert (actor.followers_count, actor.following_count, actor.statuses_count) == (
            1234,
            56,
            None,
        )
        # A refresh of the actor document keeps them.
        actor = await alice.federation.resolver.actor(carol.actor, refresh=True)
        assert actor.followers_count == 1234
        assert (await login(alice.client)).status_code == 303
        page = await alice.client.get("/@carol@carol.example")
        assert "<strong>1234</strong> followers" in page.text
        assert "<strong>56</strong> following" in page.text
        assert "known here" in page.text  # the outbox gave no usable total
