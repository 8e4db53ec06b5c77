"""Two instances in one process: follow, accept, locked accounts, unfollow, remove follower."""

from __future__ import annotations

from pathlib import Path

from solo.actions import follows as follow_actions
from solo.store import actors as actor_store
from solo.store import follows, notifications
from tests.fleet import Node, eventually, fleet_of


async def follow_state(node: Node, direction: str, other: Node) -> str | None:
    actor = await actor_store.get_actor(node.federation.db, other.actor)
    if actor is None or actor.id is None:
        return None
    found = await follows.get_follow(node.federation.db, direction, actor.id)  # type: ignore[arg-type]
    return None if found is None else found.state


async def test_follow_is_accepted_across_instances(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        follow = await follow_actions.follow(bob.federation, "@alice@alice.test")
        assert follow.state == "pending"

        async def accepted() -> bool:
            return await follow_state(bob, "out", alice) == "accepted"

        await eventually(accepted, what="bob's follow to be accepted")
        assert await follow_state(alice, "in", bob) == "accepted"
        kinds = [n.type for n in await notifications.latest(alice.federation.db)]
        assert kinds == ["follow"]
        page = await alice.client.get(
            "/users/alice/followers?page=true",
            headers={"Accept": "application/activity+json"},
        )
        assert page.json()["orderedItems"] == [bob.actor]
        # Following again is idempotent and sends nothing new.
        again = await follow_actions.follow(bob.federation, "alice@alice.test")
        assert again.id == follow.id


async def test_locked_account_approves_requests(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", locked=True) as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_actions.follow(bob.federation, "@alice@alice.test")

        async def requested() -> bool:
            return await follow_state(alice, "in", bob) == "pending"

        await eventually(requested, what="a follow request at alice")
        assert await follow_state(bob, "out", alice) == "pending"
        kinds = [n.type for n in await notifications.latest(alice.federation.db)]
        assert kinds == ["follow_request"]
        await follow_actions.approve(alice.federation, bob.actor)

        async def accepted() -> bool:
            return await follow_state(bob, "out", alice) == "accepted"

        await eventually(accepted, what="bob to see the approval")
        assert await follow_state(alice, "in", bob) == "accepted"


async def test_rejected_request_and_removed_follower(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", locked=True) as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_actions.follow(bob.federation, "@alice@alice.test")

        async def requested() -> bool:
            return await follow_state(alice, "in", bob) == "pending"

        await eventually(requested, what="a follow request")
        await follow_actions.reject(alice.federation, bob.actor)

        async def gone() -> bool:
            return await follow_state(bob, "out", alice) is None

        await eventually(gone, what="bob to see the rejection")
        assert await follow_state(alice, "in", bob) is None


async def test_unfollow_reaches_the_other_side(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_actions.follow(bob.federation, "@alice@alice.test")

        async def accepted() -> bool:
            return await follow_state(alice, "in", bob) == "accepted"

        await eventually(accepted, what="the follow")
        await follow_actions.unfollow(bob.federation, alice.actor)
        assert await follow_state(bob, "out", alice) is None

        async def gone() -> bool:
            return await follow_state(alice, "in", bob) is None

        await eventually(gone, what="alice to lose her follower")
        assert await notifications.latest(alice.federation.db) == []
