"""Posting, editing, deleting, boosting and favouriting across in-process instances.

What reaches the other side is read from the fleet's recorded requests and from the receiving
instance's ingress jobs, both real: the incoming handlers for these activities are not what is
tested here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from solo import urls
from solo.actions import ActionError
from solo.actions import follows as follow_actions
from solo.actions import interactions as interaction_actions
from solo.actions import statuses as status_actions
from solo.activitystreams import PUBLIC
from solo.store import actors as actor_store
from solo.store import follows
from solo.store import statuses as status_store
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus, Status
from tests.fleet import Fleet, Node, eventually, fleet_of

Activity = dict[str, Any]


def posted(fleet: Fleet, host: str, kind: str) -> list[Activity]:
    """The activities of type `kind` POSTed to `host`, in order (every attempt counts)."""
    found = []
    for request in fleet.requests:
        if request.method == "POST" and request.url.netloc.decode() == host:
            body = json.loads(request.content)
            if body.get("type") == kind:
                found.append(body)
    return found


async def received(node: Node, kind: str) -> list[Activity]:
    """The activities of type `kind` that `node`'s inbox accepted (its ingress jobs)."""
    rows = await node.federation.db.fetchall(
        "SELECT payload FROM jobs WHERE queue = 'ingress' ORDER BY id"
    )
    activities = [json.loads(row[0])["activity"] for row in rows]
    return [activity for activity in activities if activity.get("type") == kind]


async def arrival(node: Node, kind: str, object_id: str) -> Activity:
    """Wait for `node` to accept a `kind` whose object (or its id) is `object_id`."""
    found: list[Activity] = []

    async def arrived() -> bool:
        for activity in await received(node, kind):
            obj = activity.get("object")
            if obj == object_id or (isinstance(obj, dict) and obj.get("id") == object_id):
                found.append(activity)
                return True
        return False

    await eventually(arrived, what=f"a {kind} of {object_id} at {node.settings.domain}")
    return found[0]


async def job_hosts(node: Node, activity_id: str) -> list[str]:
    """The hosts `node` queued deliveries of its activity `activity_id` for."""
    rows = await node.federation.db.fetchall(
        "SELECT jobs.host FROM jobs JOIN activities ON activities.id = jobs.ref"
        " WHERE jobs.queue = 'push' AND activities.ap_id = ? ORDER BY jobs.host",
        (activity_id,),
    )
    return [row[0] for row in rows]


async def counts(node: Node) -> tuple[int, int, int]:
    db = node.federation.db
    return (
        await db.fetchval("SELECT COUNT(*) FROM statuses"),
        await db.fetchval("SELECT COUNT(*) FROM activities WHERE local = 1"),
        await db.fetchval("SELECT COUNT(*) FROM jobs WHERE queue = 'push'"),
    )


async def befriend(follower: Node, followed: Node) -> None:
    """`follower` follows `followed`, accepted on both sides."""
    await follow_actions.follow(
        follower.federation, f"@{followed.settings.username}@{followed.settings.domain}"
    )

    async def accepted() -> bool:
        actor = await actor_store.get_actor(followed.federation.db, follower.actor)
        if actor is None or actor.id is None:
            return False
        found = await follows.get_follow(followed.federation.db, "in", actor.id)
        return found is not None and found.state == "accepted"

    await eventually(accepted, what="the follow to be accepted")


async def remote_actor(node: Node, other: Node) -> RemoteActor:
    """`other`'s actor as `node` knows it (resolved through WebFinger if need be)."""
    other_settings = other.settings
    return await node.federation.resolver.webfinger(other_settings.username, other_settings.domain)


async def copy_status(node: Node, author: Node, status: Status) -> int:
    """Store `author`'s status at `node`, as its incoming Create handler would."""
    actor = await remote_actor(node, author)
    federation = node.federation
    async with federation.db.transaction() as conn:
        row_id = await status_store.insert_status(
            conn,
            NewStatus(
                id=federation.ids.next(at=status.published_at),
                ap_id=status.ap_id,
                actor_id=actor.id,
                visibility=status.visibility,
                content_html=status.content_html,
                published_at=status.published_at,
                conversation=status.conversation,
            ),
        )
    assert row_id is not None
    return row_id


@asynccontextmanager
async def instances(
    tmp_path: Path, template_root: Path, *names: str
) -> AsyncIterator[tuple[Fleet, list[Node]]]:
    async with fleet_of(tmp_path, template_root, *names) as (fleet, nodes):
        yield fleet, [nodes[name] for name in names]


async def test_post_reaches_each_follower_server_once(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (fleet, (alice, bob)):
        await befriend(bob, alice)
        # Two more followers living on bob's server, behind the same shared inbox.
        async with alice.federation.db.transaction() as conn:
            for name in ("carol", "dave"):
                actor = RemoteActor(
                    ap_id=f"https://bob.test/users/{name}",
                    type="Person",
                    username=name,
                    domain="bob.test",
                    inbox=f"https://bob.test/users/{name}/inbox",
                    shared_inbox="https://bob.test/inbox",
                    key_id=None,
                    public_key_pem=None,
                )
                actor_id = await actor_store.upsert_actor(conn, actor)
                await follows.put_follow(
                    conn, "in", actor_id, f"https://bob.test/follows/{name}", "accepted"
                )

        status = await status_actions.post(
            alice.federation, "Hello #Solo world, see https://example.com/page"
        )
        assert status.actor_id is None
        assert status.ap_id == urls.status(alice.settings, status.id)
        create = await arrival(bob, "Create", status.ap_id)
        assert create["id"] == f"{status.ap_id}/activity"
        assert create["actor"] == alice.actor
        note = create["object"]
        assert note["type"] == "Note"
        assert note["attributedTo"] == alice.actor
        assert note["to"] == [PUBLIC]
        assert note["cc"] == [urls.followers(alice.settings)]
        assert note["tag"] == [
            {"type": "Hashtag", "href": "https://alice.test/tags/solo", "name": "#solo"}
        ]
        assert 'href="https://example.com/page"' in note["content"]
        assert note["conversation"].startswith("tag:alice.test,")
        assert "@context" in create
        assert len(posted(fleet, "bob.test", "Create")) == 1
        assert await job_hosts(alice, create["id"]) == ["bob.test"]

        outbox = await alice.client.get(
            "/users/alice/outbox?page=true", headers={"Accept": "application/activity+json"}
        )
        assert [item["object"]["id"] for item in outbox.json()["orderedItems"]] == [status.ap_id]


async def test_mentions_are_tagged_addressed_and_delivered(
    tmp_path: Path, template_root: Path
) -> None:
    async with instances(tmp_path, template_root, "alice", "bob", "carol") as (
        fleet,
        (alice, bob, carol),
    ):
        await befriend(bob, alice)
        status = await status_actions.post(
            alice.federation,
            "Hi @carol@carol.test, @ghost@nowhere.test and @alice, also @nobody",
        )
        create = await arrival(carol, "Create", status.ap_id)
        note = create["object"]
        assert note["tag"] == [
            {"type": "Mention", "href": carol.actor, "name": "@carol@carol.test"},
            {"type": "Mention", "href": alice.actor, "name": "@alice@alice.test"},
        ]
        assert note["to"] == [PUBLIC]
        assert note["cc"] == [urls.followers(alice.settings), carol.actor, alice.actor]
        assert 'class="u-url mention"' in note["content"]
        # Unresolvable mentions stay text.
        assert "@ghost@nowhere.test" in note["content"]
        assert "@nobody" in note["content"]
        await arrival(bob, "Create", status.ap_id)
        assert await job_hosts(alice, create["id"]) == ["bob.test", "carol.test"]
        assert len(posted(fleet, "carol.test", "Create")) == 1


async def test_followers_only_and_direct_posts(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob", "carol") as (
        _,
        (alice, bob, carol),
    ):
        await befriend(bob, alice)
        private = await status_actions.post(
            alice.federation, "Only for my followers", visibility="private"
        )
        create = await arrival(bob, "Create", private.ap_id)
        assert create["object"]["to"] == [urls.followers(alice.settings)]
        assert create["object"]["cc"] == []
        assert await job_hosts(alice, create["id"]) == ["bob.test"]
        outbox = await alice.client.get(
            "/users/alice/outbox", headers={"Accept": "application/activity+json"}
        )
        assert outbox.json()["totalItems"] == 0

        direct = await status_actions.post(
            alice.federation, "@carol@carol.test just between us", visibility="direct"
        )
        create = await arrival(carol, "Create", direct.ap_id)
        assert create["object"]["to"] == [carol.actor]
        assert create["object"]["cc"] == []
        assert create["to"] == [carol.actor]
        assert await job_hosts(alice, create["id"]) == ["carol.test"]
        assert not [a for a in await received(bob, "Create") if a["id"] == create["id"]]


async def test_reply_goes_to_the_replied_to_author(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (_, (alice, bob)):
        original = await status_actions.post(bob.federation, "What do you think?")
        parent_id = await copy_status(alice, bob, original)
        reply = await status_actions.post(
            alice.federation, "I agree", in_reply_to=parent_id, visibility="unlisted"
        )
        assert reply.in_reply_to_id == parent_id
        assert reply.in_reply_to_ap_id == original.ap_id
        assert reply.conversation == original.conversation
        create = await arrival(bob, "Create", reply.ap_id)
        note = create["object"]
        assert note["inReplyTo"] == original.ap_id
        assert note["conversation"] == original.conversation
        assert note["to"] == [urls.followers(alice.settings)]
        assert note["cc"] == [PUBLIC]
        # bob does not follow alice: he hears of the reply as the author it answers.
        assert await job_hosts(alice, create["id"]) == ["bob.test"]


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "Write something first."),
        ("  \n\t ", {}, "Write something first."),
        ("x" * 501, {}, "500"),
        ("x" * 490, {"summary": "y" * 20}, "500"),
        ("hello", {"visibility": "everyone"}, "Visibility"),
        ("hello", {"in_reply_to": 12345}, status_actions.GONE_PARENT),
    ],
)
async def test_refused_posts_store_and_queue_nothing(
    tmp_path: Path, template_root: Path, text: str, options: dict[str, Any], message: str
) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (_, (alice, bob)):
        await befriend(bob, alice)
        before = await counts(alice)
        with pytest.raises(ActionError, match=message):
            await status_actions.post(alice.federation, text, **options)
        assert await counts(alice) == before


async def test_reply_to_a_deleted_post_is_refused(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice") as (_, (alice,)):
        status = await status_actions.post(alice.federation, "soon gone")
        await status_actions.delete(alice.federation, status.id)
        with pytest.raises(ActionError, match=status_actions.GONE_PARENT):
            await status_actions.post(alice.federation, "too late", in_reply_to=status.id)
        exactly = await status_actions.post(alice.federation, "x" * status_actions.MAX_CHARS)
        assert exactly.source_text == "x" * 500


async def test_edit_sends_update_with_updated(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob", "carol") as (
        _,
        (alice, bob, carol),
    ):
        await befriend(bob, alice)
        status = await status_actions.post(alice.federation, "Frist post", summary="cw")
        assert status.sensitive  # a content warning implies it
        await arrival(bob, "Create", status.ap_id)
        edited = await status_actions.edit(
            alice.federation, status.id, "First post, @carol@carol.test #typo"
        )
        assert edited.edited_at is not None
        assert edited.source_text == "First post, @carol@carol.test #typo"
        assert edited.summary == "cw"
        update = await arrival(bob, "Update", status.ap_id)
        note = update["object"]
        assert note["id"] == status.ap_id
        assert "First post" in note["content"]
        assert note["updated"] == update["published"]
        assert [tag["type"] for tag in note["tag"]] == ["Mention", "Hashtag"]
        assert note["cc"] == [urls.followers(alice.settings), carol.actor]
        # The newly mentioned account hears of the edit too.
        await arrival(carol, "Update", status.ap_id)

        with pytest.raises(ActionError, match="Write something"):
            await status_actions.edit(alice.federation, status.id, "   ")
        with pytest.raises(ActionError, match="does not exist"):
            await status_actions.edit(alice.federation, 42, "nothing there")
        theirs = await copy_status(alice, bob, await status_actions.post(bob.federation, "bob"))
        with pytest.raises(ActionError, match="your own"):
            await status_actions.edit(alice.federation, theirs, "mine now")


async def test_delete_sends_delete_with_a_tombstone(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob", "carol") as (
        _,
        (alice, bob, carol),
    ):
        await befriend(bob, alice)
        status = await status_actions.post(alice.federation, "Oops @carol@carol.test")
        await arrival(bob, "Create", status.ap_id)
        await status_actions.delete(alice.federation, status.id)
        for node in (bob, carol):
            deleted = await arrival(node, "Delete", status.ap_id)
            assert deleted["object"] == {"id": status.ap_id, "type": "Tombstone"}
            assert deleted["actor"] == alice.actor
        assert await status_store.get_status(alice.federation.db, status.id) is None
        assert await status_store.is_tombstoned(alice.federation.db, status.ap_id)
        # Deleting again is harmless and sends nothing more.
        before = await counts(alice)
        await status_actions.delete(alice.federation, status.id)
        assert await counts(alice) == before
        with pytest.raises(ActionError, match="does not exist"):
            await status_actions.delete(alice.federation, 42)


async def test_delete_cancels_queued_deliveries(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (fleet, (alice, bob)):
        await befriend(bob, alice)
        fleet.down.add("bob.test")
        status = await status_actions.post(alice.federation, "Nobody will see this")
        create_id = f"{status.ap_id}/activity"
        db = alice.federation.db

        async def job_state(activity_id: str) -> str | None:
            value = await db.fetchval(
                "SELECT jobs.state FROM jobs JOIN activities ON activities.id = jobs.ref"
                " WHERE activities.ap_id = ?",
                (activity_id,),
            )
            return None if value is None else str(value)

        async def waiting() -> bool:
            return await job_state(create_id) == "retrying"

        await eventually(waiting, what="the Create to wait for bob's server")
        await status_actions.delete(alice.federation, status.id)
        assert await job_state(create_id) == "dead"
        last_error = await db.fetchval(
            "SELECT last_error FROM jobs JOIN activities ON activities.id = jobs.ref"
            " WHERE activities.ap_id = ?",
            (create_id,),
        )
        assert "deleted" in last_error
        assert await job_state(f"{status.ap_id}#delete") in ("queued", "running", "retrying")


async def test_favourite_and_unfavourite(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (fleet, (alice, bob)):
        theirs = await status_actions.post(bob.federation, "Like me")
        row_id = await copy_status(alice, bob, theirs)
        await interaction_actions.favourite(alice.federation, row_id)
        await interaction_actions.favourite(alice.federation, row_id)
        like = await arrival(bob, "Like", theirs.ap_id)
        assert like["actor"] == alice.actor
        assert like["id"].startswith(f"{alice.actor}#likes/")
        await interaction_actions.unfavourite(alice.federation, row_id)
        undo = await arrival(bob, "Undo", like["id"])
        assert undo["object"] == {key: value for key, value in like.items() if key != "@context"}
        assert undo["actor"] == alice.actor
        assert len(posted(fleet, "bob.test", "Like")) == 1
        # Nothing left to undo: nothing sent.
        await interaction_actions.unfavourite(alice.federation, row_id)
        assert len(await received(bob, "Undo")) == 1


async def test_boost_and_unboost(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob", "carol") as (
        fleet,
        (alice, bob, carol),
    ):
        await befriend(carol, alice)
        theirs = await status_actions.post(bob.federation, "Boost me")
        row_id = await copy_status(alice, bob, theirs)
        boost = await interaction_actions.boost(alice.federation, row_id)
        again = await interaction_actions.boost(alice.federation, row_id)
        assert again.id == boost.id
        assert boost.reblog_of_id == row_id
        assert boost.actor_id is None
        announce = await arrival(bob, "Announce", theirs.ap_id)
        assert announce["id"] == boost.ap_id == f"{urls.status(alice.settings, boost.id)}/activity"
        assert announce["to"] == [PUBLIC]
        assert announce["cc"] == [bob.actor, urls.followers(alice.settings)]
        assert announce["published"]
        await arrival(carol, "Announce", theirs.ap_id)
        assert len(posted(fleet, "bob.test", "Announce")) == 1

        await interaction_actions.unboost(alice.federation, row_id)
        for node in (bob, carol):
            undo = await arrival(node, "Undo", announce["id"])
            embedded = {key: value for key, value in announce.items() if key != "@context"}
            assert undo["object"] == embedded
        assert await status_store.get_local_boost(alice.federation.db, row_id) is None
        before = await counts(alice)
        await interaction_actions.unboost(alice.federation, row_id)
        assert await counts(alice) == before


async def test_only_public_posts_can_be_boosted(tmp_path: Path, template_root: Path) -> None:
    async with instances(tmp_path, template_root, "alice", "bob") as (_, (alice, bob)):
        await befriend(bob, alice)
        for visibility in ("private", "direct"):
            status = await status_actions.post(alice.federation, "mine", visibility=visibility)
            before = await counts(alice)
            with pytest.raises(ActionError, match="public"):
                await interaction_actions.boost(alice.federation, status.id)
            assert await counts(alice) == before
        # Our own public post: the Announce goes to our followers.
        status = await status_actions.post(alice.federation, "self boost")
        boost = await interaction_actions.boost(alice.federation, status.id)
        announce = await arrival(bob, "Announce", status.ap_id)
        assert announce["cc"] == [alice.actor, urls.followers(alice.settings)]
        assert announce["id"] == boost.ap_id
        with pytest.raises(ActionError, match="no longer exists"):
            await interaction_actions.favourite(alice.federation, 42)


async def test_the_length_limit_is_a_setting(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", max_post_chars=20) as (_, nodes):
        alice = nodes["alice"]
        await status_actions.post(alice.federation, "x" * 20)
        with pytest.raises(ActionError, match="at most 20 characters long; this one has 21"):
            await status_actions.post(alice.federation, "x" * 21)
