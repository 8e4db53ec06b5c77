"""Incoming Announce, Like, Block and their Undo through the real inbox and ingress worker,
sent by another Solo instance or by small fake ActivityStreams servers."""

from __future__ import annotations

from pathlib import Path

from solo.activitystreams import PUBLIC
from solo.store import hosts, interactions
from tests.fleet import fleet_of
from tests.ingress_helpers import (
    FakeServer,
    activity,
    actor_row,
    create,
    deliver,
    follow_directly,
    follow_solo,
    local_post,
    note,
    notifications_of,
    solo_sender,
    status_of,
)

# --- Announce ------------------------------------------------------------------------------


async def test_announce_of_our_post_notifies_and_undo_takes_it_back(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        announce = activity(
            "Announce", sender, ours.ap_id, to=[PUBLIC], cc=[alice.actor, sender.followers]
        )
        assert (await deliver(alice, sender, announce)).applied
        bob_row = await actor_row(alice, bob.actor)
        boost = await status_of(alice, announce["id"])
        assert boost is not None
        assert (boost.actor_id, boost.reblog_of_id, boost.visibility) == (
            bob_row,
            ours.id,
            "public",
        )
        assert await notifications_of(alice) == [("reblog", bob_row, ours.id)]
        db = alice.federation.db
        assert (
            await db.fetchval(
                "SELECT ap_id FROM interactions WHERE kind = 'announce' AND actor_id = ?",
                (bob_row,),
            )
            == announce["id"]
        )
        # Again with another id: one boost per account and post.
        again = dict(announce, id=announce["id"] + "/again")
        assert (await deliver(alice, sender, again)).applied
        assert len(await notifications_of(alice)) == 1
        undo = activity("Undo", sender, {k: v for k, v in announce.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await status_of(alice, announce["id"]) is None
        assert await notifications_of(alice) == []
        assert await db.fetchval("SELECT COUNT(*) FROM interactions") == 0


async def test_private_announce_and_unrelated_boosts_are_ignored(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        private = activity("Announce", sender, ours.ap_id, to=[sender.followers])
        assert (await deliver(alice, sender, private)).ignored
        # Not followed and not ours: nothing is fetched.
        unrelated = activity("Announce", sender, "https://elsewhere.test/notes/1", to=[PUBLIC])
        outcome = await deliver(alice, sender, unrelated)
        assert outcome.ignored and "do not follow" in (outcome.error or "")
        followers_only = await local_post(alice, visibility="private")
        boost = activity("Announce", sender, followers_only.ap_id, to=[PUBLIC])
        assert (await deliver(alice, sender, boost)).ignored
        # Followed, boosting an id of ours that is no post here: nothing is fetched from
        # ourselves (so boosts of our posts are applied in batches, off the network).
        await follow_directly(alice, bob.actor)
        invented = activity("Announce", sender, ours.ap_id + "0", to=[PUBLIC])
        outcome = await deliver(alice, sender, invented)
        assert outcome.ignored and "is not a post here" in (outcome.error or "")
        assert await notifications_of(alice) == []


async def test_announce_of_a_third_party_post_is_fetched_from_its_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        original = note(carol, content="<p>carol's words</p>")
        server.serve(original)
        sender = solo_sender(bob)
        announce = activity("Announce", sender, original["id"], to=[PUBLIC])
        assert (await deliver(alice, sender, announce)).applied
        boosted = await status_of(alice, original["id"])
        assert boosted is not None
        assert boosted.actor_id == await actor_row(alice, carol.actor)
        assert boosted.content_html == "<p>carol's words</p>"
        boost = await status_of(alice, announce["id"])
        assert boost is not None and boost.reblog_of_id == boosted.id
        assert boost.actor_id == await actor_row(alice, bob.actor)
        assert await notifications_of(alice) == []
        # bob's own post, embedded, is taken as sent: nothing is fetched from bob.
        own = note(sender, content="<p>mine</p>")
        fetched_before = len([r for r in fleet.requests if r.url.host == "bob.test"])
        self_boost = activity("Announce", sender, own, to=[PUBLIC])
        assert (await deliver(alice, sender, self_boost)).applied
        assert len([r for r in fleet.requests if r.url.host == "bob.test"]) == fetched_before
        stored_own = await status_of(alice, own["id"])
        assert stored_own is not None and stored_own.content_html == "<p>mine</p>"


async def test_spoofed_embedded_announce_is_checked_at_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        sender = solo_sender(bob)
        # The origin has never heard of it: refused, nothing stored.
        invented = note(carol, content="<p>words carol never wrote</p>")
        announce = activity("Announce", sender, invented, to=[PUBLIC])
        assert (await deliver(alice, sender, announce)).ignored
        assert await status_of(alice, invented["id"]) is None
        assert await status_of(alice, announce["id"]) is None
        # The origin has it, with other words: the origin's words are stored.
        real = note(carol, content="<p>what carol wrote</p>")
        server.serve(real)
        doctored = dict(real, content="<p>doctored</p>")
        assert (
            await deliver(alice, sender, activity("Announce", sender, doctored, to=[PUBLIC]))
        ).applied
        stored = await status_of(alice, real["id"])
        assert stored is not None and stored.content_html == "<p>what carol wrote</p>"
        # The origin serves a post whose author lives on another host.
        dave = FakeServer(fleet, "https://dave.example").actor("https://dave.example/users/dave")
        stolen = note(carol, attributedTo=dave.actor)
        server.serve(stolen)
        outcome = await deliver(
            alice, sender, activity("Announce", sender, stolen["id"], to=[PUBLIC])
        )
        assert outcome.ignored and "author's host" in (outcome.error or "")


async def test_announce_from_a_blocked_domain_is_refused_without_fetching(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        original = note(carol)
        server.serve(original)
        await hosts.block_domain(alice.federation.db, "carol.example")
        sender = solo_sender(bob)
        announce = activity("Announce", sender, original["id"], to=[PUBLIC])
        outcome = await deliver(alice, sender, announce)
        assert outcome.ignored and "blocked" in (outcome.error or "")
        assert server.fetched == []
        assert await status_of(alice, original["id"]) is None


async def test_accounts_we_block_get_in_neither_directly_nor_by_boosts(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        carol_row = await follow_directly(alice, carol.actor)
        async with alice.federation.db.transaction() as conn:
            await interactions.add(conn, "block", actor_id=None, target_actor_id=carol_row)
        mention = note(carol, tag=[{"type": "Mention", "href": alice.actor}])
        server.serve(mention)
        outcome = await deliver(alice, carol, create(carol, mention))
        assert outcome.ignored and "blocked" in (outcome.error or "")
        sender = solo_sender(bob)
        boost = activity("Announce", sender, mention["id"], to=[PUBLIC])
        outcome = await deliver(alice, sender, boost)
        assert outcome.ignored and "blocked" in (outcome.error or "")
        ours = await local_post(alice)
        outcome = await deliver(alice, carol, activity("Like", carol, ours.ap_id))
        assert outcome.ignored and "blocked" in (outcome.error or "")
        assert await status_of(alice, mention["id"]) is None
        assert await notifications_of(alice) == []


# --- Like and Block ------------------------------------------------------------------------


async def test_likes_of_our_posts_and_their_undo(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        assert (await deliver(alice, sender, like)).applied
        bob_row = await actor_row(alice, bob.actor)
        assert await notifications_of(alice) == [("favourite", bob_row, ours.id)]
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 1
        # Idempotent: another Like of the same post adds nothing.
        assert (await deliver(alice, sender, activity("Like", sender, ours.ap_id))).applied
        assert len(await notifications_of(alice)) == 1
        # Not ours: ignored.
        theirs = note(sender)
        assert (await deliver(alice, sender, create(sender, theirs))).applied
        assert (await deliver(alice, sender, activity("Like", sender, theirs["id"]))).ignored
        # Nor our boost of a post, nor a post of ours being deleted.
        boost = await local_post(alice, "")
        gone = await local_post(alice, "being deleted")
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE statuses SET reblog_of_id = ? WHERE id = ?", (ours.id, boost.id)
            )
            await conn.execute("UPDATE statuses SET deleted_at = 1 WHERE id = ?", (gone.id,))
        for post in (boost, gone):
            assert (await deliver(alice, sender, activity("Like", sender, post.ap_id))).ignored
        assert len(await notifications_of(alice)) == 1
        undo = activity("Undo", sender, {k: v for k, v in like.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 0
        assert await notifications_of(alice) == []
        # A Misskey reaction is a Like with extras; an EmojiReact from the same account is
        # applied, but one account favourites a post once (tests/test_emoji_reactions.py).
        reaction = activity("Like", sender, ours.ap_id, _misskey_reaction="🍮", content="🍮")
        assert (await deliver(alice, sender, reaction)).applied
        assert await notifications_of(alice) == [("favourite", bob_row, ours.id)]
        emoji = activity("EmojiReact", sender, ours.ap_id, content="🍮")
        assert (await deliver(alice, sender, emoji)).applied
        assert await notifications_of(alice) == [("favourite", bob_row, ours.id)]


async def test_undo_of_a_like_with_another_id_matches_by_the_liked_post(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        assert (await deliver(alice, sender, like)).applied
        assert len(await notifications_of(alice)) == 1
        renamed = {k: v for k, v in like.items() if k != "@context"}
        renamed["id"] = like["id"] + "-as-remembered-by-another-server"
        assert (await deliver(alice, sender, activity("Undo", sender, renamed))).applied
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 0
        assert await notifications_of(alice) == []


async def test_like_undone_before_it_arrives_is_not_applied(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        undo = activity("Undo", sender, {k: v for k, v in like.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert (await deliver(alice, sender, like)).ignored
        assert await notifications_of(alice) == []


async def test_block_cuts_follows_both_ways(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        await follow_solo(bob, alice)
        sender = solo_sender(bob)
        bob_row = await actor_row(alice, bob.actor)
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM follows WHERE actor_id = ?", (bob_row,)) == 2
        elsewhere = activity("Block", sender, "https://elsewhere.test/users/x")
        assert (await deliver(alice, sender, elsewhere)).ignored
        block = activity("Block", sender, alice.actor)
        assert (await deliver(alice, sender, block)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM follows WHERE actor_id = ?", (bob_row,)) == 0
        row = await db.fetchone("SELECT * FROM interactions WHERE kind = 'block'")
        assert row is not None
        assert (row["actor_id"], row["target_actor_id"], row["ap_id"]) == (
            bob_row,
            None,
            block["id"],
        )
        undo = activity("Undo", sender, {k: v for k, v in block.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM interactions") == 0
