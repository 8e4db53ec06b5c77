"""Incoming Update and Delete through the real inbox and ingress worker: edits and profiles
only from their author, tombstones, early deletes and deleted accounts."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from solo.store import actors as actor_store
from solo.store import statuses
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
    public_pem,
    solo_sender,
    status_of,
)

# --- Update --------------------------------------------------------------------------------


async def test_update_edits_content_and_only_the_author_may(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (fleet, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        edited = {**sent, "content": "<p>edited</p>", "summary": "now with cw", "sensitive": True}
        edited["updated"] = "2024-05-01T11:00:00Z"
        assert (await deliver(alice, sender, activity("Update", sender, edited))).applied
        stored = await status_of(alice, sent["id"])
        assert stored is not None
        assert (stored.content_html, stored.summary, stored.sensitive) == (
            "<p>edited</p>",
            "now with cw",
            True,
        )
        assert stored.edited_at is not None
        # An older version arriving late does not undo the edit.
        stale = {**sent, "content": "<p>stale</p>", "updated": "2024-05-01T10:30:00Z"}
        assert (await deliver(alice, sender, activity("Update", sender, stale))).ignored
        # Another server cannot edit bob's post…
        intruder = solo_sender(carol)
        forged = {**sent, "content": "<p>forged</p>"}
        outcome = await deliver(alice, intruder, activity("Update", intruder, forged))
        assert outcome.ignored
        # …nor can another actor of the same host.
        server = FakeServer(fleet, "https://shared.example")
        owner = server.actor("https://shared.example/users/owner")
        other = server.actor("https://shared.example/users/other")
        await follow_directly(alice, owner.actor)
        theirs = note(owner)
        assert (await deliver(alice, owner, create(owner, theirs))).applied
        taken = {**theirs, "attributedTo": other.actor, "content": "<p>taken</p>"}
        assert (await deliver(alice, other, activity("Update", other, taken))).ignored
        stored_theirs = await status_of(alice, theirs["id"])
        assert stored_theirs is not None and stored_theirs.content_html == theirs["content"]
        assert await notifications_of(alice) == []


async def test_update_of_a_post_we_boosted_notifies(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        stored = await status_of(alice, sent["id"])
        assert stored is not None
        async with alice.federation.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO interactions (kind, actor_id, status_id, created_at)"
                " VALUES ('announce', NULL, ?, 0)",
                (stored.id,),
            )
        edited = {**sent, "content": "<p>changed</p>"}
        assert (await deliver(alice, sender, activity("Update", sender, edited))).applied
        assert await notifications_of(alice) == [
            ("update", await actor_row(alice, bob.actor), stored.id)
        ]


async def test_update_person_takes_the_profile_but_keys_only_from_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol", name="Carol")
        await follow_directly(alice, carol.actor)
        profile = dict(server.documents[carol.actor], name="Carol Updated")
        assert (await deliver(alice, carol, activity("Update", carol, profile))).applied
        stored = await actor_store.get_actor(alice.federation.db, carol.actor)
        assert stored is not None and stored.display_name == "Carol Updated"
        # A new key in the Update is not believed; the origin is asked, and it says otherwise.
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rotated = dict(
            profile,
            name="Carol Rotated",
            publicKey={
                "id": carol.key_id,
                "owner": carol.actor,
                "publicKeyPem": public_pem(other_key),
            },
        )
        assert (await deliver(alice, carol, activity("Update", carol, rotated))).applied
        stored = await actor_store.get_actor(alice.federation.db, carol.actor)
        assert stored is not None
        assert stored.public_key_pem == public_pem(carol.key)
        assert stored.display_name == "Carol"  # what the origin serves
        # Someone else's profile cannot be updated.
        dave = server.actor("https://carol.example/users/dave")
        outcome = await deliver(
            alice, carol, activity("Update", carol, server.documents[dave.actor])
        )
        assert outcome.ignored


# --- Delete --------------------------------------------------------------------------------


async def test_delete_tombstones_and_a_replayed_create_does_not_return(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        created = create(sender, sent)
        assert (await deliver(alice, sender, created)).applied
        # Someone else cannot delete it.
        intruder = solo_sender(carol)
        assert (await deliver(alice, intruder, activity("Delete", intruder, sent["id"]))).ignored
        assert await status_of(alice, sent["id"]) is not None
        tombstone = {"id": sent["id"], "type": "Tombstone"}
        assert (await deliver(alice, sender, activity("Delete", sender, tombstone))).applied
        assert await status_of(alice, sent["id"]) is None
        assert await statuses.is_tombstoned(alice.federation.db, sent["id"])
        replay = dict(created, id=created["id"] + "/again")
        outcome = await deliver(alice, sender, replay)
        assert outcome.ignored and "deleted" in (outcome.error or "")
        assert await status_of(alice, sent["id"]) is None


async def test_delete_before_create_is_never_stored(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, activity("Delete", sender, sent["id"]))).applied
        remembered = await alice.federation.db.fetchval(
            "SELECT kind FROM early_removals WHERE object_ap_id = ?", (sent["id"],)
        )
        assert remembered == "Delete"
        assert (await deliver(alice, sender, create(sender, sent))).ignored
        assert await status_of(alice, sent["id"]) is None


async def test_actor_delete_removes_everything_of_theirs(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        await follow_solo(bob, alice)
        sender = solo_sender(bob)
        sent = note(sender, tag=[{"type": "Mention", "href": alice.actor}])
        assert (await deliver(alice, sender, create(sender, sent))).applied
        ours = await local_post(alice)
        assert (await deliver(alice, sender, activity("Like", sender, ours.ap_id))).applied
        db = alice.federation.db
        bob_row = await actor_row(alice, bob.actor)
        gone = activity("Delete", sender, {"id": bob.actor, "type": "Person"})
        assert (await deliver(alice, sender, gone)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM actors WHERE id = ?", (bob_row,)) == 0
        for table in ("statuses", "follows", "interactions", "notifications"):
            count = await db.fetchval(
                f"SELECT COUNT(*) FROM {table} WHERE actor_id = ?", (bob_row,)
            )
            assert count == 0, table
        assert await status_of(alice, ours.ap_id) is not None
