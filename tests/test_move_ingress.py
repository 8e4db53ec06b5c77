"""Receiving a Move from fake remote servers: refused when the target, fetched fresh, does not
name the origin (recorded among the refusals, with why); once a week per account; a block or a
mute carries over to the target; a Move of an account we have nothing to do with is ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solo.actions import blocks
from solo.actions import moves as move_actions
from solo.federation.handlers.move import UNFOLLOW_DELAY
from solo.store import actors as actor_store
from solo.store import follows, interactions, mutes, refusals
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    Sender,
    activity,
    actor_row,
    deliver,
    follow_directly,
    notifications_of,
)

OLD = "https://old.test/users/mover"
NEW = "https://new.test/users/mover"


def move(origin: Sender, target: str | dict[str, Any]) -> dict[str, Any]:
    return activity("Move", origin, origin.actor, target=target)


async def follow_in(node: Node, actor_id: int) -> str | None:
    found = await follows.get_follow(node.federation.db, "in", actor_id)
    return None if found is None else found.state


async def refused_for(node: Node, why: str) -> bool:
    """Whether the newest refusal is a Move's, for `why` (refusals are written a moment after
    the job is dropped, with whatever is committed next: polled)."""

    async def recorded() -> bool:
        found = await refusals.recent(node.federation.db, limit=1)
        return bool(found) and found[0].type == "Move" and why in found[0].reason

    await eventually(recorded, what=f"a Move refused for {why!r}")
    return True


async def test_a_move_is_refused_unless_the_fresh_target_names_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        old_server, new_server = (
            FakeServer(fleet, "https://old.test"),
            FakeServer(fleet, "https://new.test"),
        )
        origin = old_server.actor(OLD)
        new_server.actor(NEW)  # no alsoKnownAs
        await follow_directly(alice, OLD)
        old_id = await actor_row(alice, OLD)

        # An embedded target claiming the alias changes nothing: the target is fetched.
        embedded = {"id": NEW, "type": "Person", "alsoKnownAs": [OLD]}
        outcome = await deliver(alice, origin, move(origin, embedded))
        assert outcome.ignored
        assert await refused_for(alice, "does not name")
        assert NEW in new_server.fetched
        assert (await follows.get_follow(alice.federation.db, "out", old_id)) is not None
        assert await notifications_of(alice) == []

        # A Move whose object is someone else, or without a target, is refused too.
        other = activity("Move", origin, "https://old.test/users/other", target=NEW)
        assert (await deliver(alice, origin, other)).ignored
        assert await refused_for(alice, "another account")
        assert (await deliver(alice, origin, activity("Move", origin, OLD))).ignored
        assert await refused_for(alice, "without a target")

        # Once the target names the origin, the follow moves.
        new_server.actor(NEW, alsoKnownAs=[OLD])
        assert (await deliver(alice, origin, move(origin, NEW))).applied
        new_id = await actor_row(alice, NEW)
        db = alice.federation.db
        assert await follows.get_follow(db, "out", old_id) is None
        followed = await follows.get_follow(db, "out", new_id)
        assert followed is not None and followed.state == "pending"
        assert [kind for kind, actor, _ in await notifications_of(alice)] == ["move"]
        # The Follow goes now, the Undo of the old follow later.
        due = await db.fetchall(
            "SELECT activities.type, jobs.next_attempt_at - jobs.created_at FROM jobs"
            " JOIN activities ON activities.id = jobs.ref WHERE jobs.queue = 'push'"
            " ORDER BY jobs.id"
        )
        assert [(row[0], row[1] > UNFOLLOW_DELAY - 5) for row in due] == [
            ("Undo", True),
            ("Follow", False),
        ]

        # A second Move within 7 days is refused, whatever it says.
        assert (await deliver(alice, origin, move(origin, NEW))).ignored
        assert await refused_for(alice, "7 days")


async def test_a_block_and_a_mute_carry_over_to_the_target(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        old_server, new_server = (
            FakeServer(fleet, "https://old.test"),
            FakeServer(fleet, "https://new.test"),
        )
        blocked = old_server.actor(OLD)
        muted = old_server.actor("https://old.test/users/loud")
        new_server.actor(NEW, alsoKnownAs=[OLD])
        loud_new = "https://new.test/users/loud"
        new_server.actor(loud_new, alsoKnownAs=[muted.actor])
        stranger = old_server.actor("https://old.test/users/stranger")
        new_server.actor("https://new.test/users/stranger", alsoKnownAs=[stranger.actor])

        await blocks.block(alice.federation, await alice.federation.resolver.actor(OLD))
        await blocks.mute(
            alice.federation,
            await alice.federation.resolver.actor(muted.actor),
            notifications=True,
            duration=0,
        )
        assert (await deliver(alice, blocked, move(blocked, NEW))).applied
        new_id = await actor_row(alice, NEW)
        assert await interactions.exists(db, "block", actor_id=None, target_actor_id=new_id)
        sent = await db.fetchall("SELECT body FROM activities WHERE type = 'Block' ORDER BY id")
        assert len(sent) == 2 and f'"object":"{NEW}"' in sent[1][0]  # the target's server is told

        assert (await deliver(alice, muted, move(muted, loud_new))).applied
        loud_id = await actor_row(alice, loud_new)
        carried = (await mutes.mutes_of(db, [loud_id])).get(loud_id)
        assert carried is not None and carried.notifications
        assert await follows.get_follow(db, "out", loud_id) is None
        assert await notifications_of(alice) == []  # only a follow's move notifies

        # Someone we neither follow, block nor mute: nothing is fetched or changed.
        assert (
            await deliver(alice, stranger, move(stranger, "https://new.test/users/stranger"))
        ).ignored
        assert await refused_for(alice, "neither follow")
        assert await actor_store.get_actor(db, "https://new.test/users/stranger") is None


async def test_a_move_to_us_lets_the_old_followers_past_the_lock(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", locked=True) as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        old_server = FakeServer(fleet, "https://old.test")
        origin = old_server.actor(OLD)
        fan = old_server.actor("https://old.test/users/fan")
        stranger = old_server.actor("https://old.test/users/stranger")
        alias = await move_actions.add_alias(alice.federation, OLD)  # an actor URL works too
        assert (alias.ap_id, alias.handle) == (OLD, "mover@old.test")

        # Before the move, a follow from the old account's follower waits like any other.
        follow = activity("Follow", fan, alice.actor)
        assert (await deliver(alice, fan, follow)).applied
        fan_id = await actor_row(alice, fan.actor)
        assert await follow_in(alice, fan_id) == "pending"

        # A Move to us from an account that is not an alias of ours is refused.
        assert (await deliver(alice, stranger, move(stranger, alice.actor))).ignored
        assert await refused_for(alice, "not one of our aliases")

        # The alias moves here: its followers are read, and the waiting request is accepted.
        old_server.actor(OLD, movedTo=alice.actor)
        old_server.serve(
            {
                "id": f"{OLD}/followers",
                "type": "OrderedCollection",
                "totalItems": 1,
                "orderedItems": [fan.actor],
            }
        )
        assert (await deliver(alice, origin, move(origin, alice.actor))).applied
        assert await follow_in(alice, fan_id) == "accepted"
        accepts = await db.fetchall("SELECT body FROM activities WHERE type = 'Accept'")
        assert len(accepts) == 1 and follow["id"] in accepts[0][0]
        # A later Follow from someone the old account did not list still waits.
        assert (await deliver(alice, stranger, activity("Follow", stranger, alice.actor))).applied
        stranger_id = await actor_row(alice, stranger.actor)
        assert await follow_in(alice, stranger_id) == "pending"
