"""What one server may say about another's actors and activities (FEDERATION.md rules 38, 39):
a gone keyId proves only its own document gone, and a dedup key is its signer's alone."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import Response

from solo.store import actors as actor_store
from solo.store import follows
from tests.fleet import Node, fleet_of
from tests.ingress_helpers import (
    AS_CONTEXT,
    FakeServer,
    Sender,
    activity,
    create,
    deliver,
    follow_directly,
    local_post,
    note,
    post_signed,
    shared_key,
    status_of,
)


class GoneServer(FakeServer):
    """A FakeServer whose URLs in `gone` answer 410."""

    gone: set[str]

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET" and str(request.url) in self.gone:
            return Response("gone", status_code=410)
        return await super().endpoint(request)


def delete_of_actor(actor: str) -> bytes:
    document = {
        "@context": AS_CONTEXT,
        "id": f"{actor}#delete",
        "type": "Delete",
        "actor": actor,
        "object": actor,
    }
    return json.dumps(document).encode()


async def known_both_ways(alice: Node, bob: str) -> None:
    actor_id = await follow_directly(alice, bob, "out")
    async with alice.federation.db.transaction() as conn:
        await follows.put_follow(conn, "in", actor_id, f"{bob}#follow-in", "accepted")


async def test_a_gone_keyid_elsewhere_on_the_host_deletes_nothing(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = GoneServer(fleet, "https://bob.test")
        server.gone = {"https://bob.test/users/someone-else"}
        bob = server.actor("https://bob.test/users/bob")
        await known_both_ways(alice, bob.actor)
        # Any key will do: the keyId's document answers 410, nothing can be verified.
        forger = Sender("https://bob.test/users/someone-else", shared_key())

        response = await post_signed(alice, forger, delete_of_actor(bob.actor))

        assert response.status_code == 401, response.text
        assert "410" in response.text
        db = alice.federation.db
        assert await actor_store.get_actor(db, bob.actor) is not None
        assert int(await db.fetchval("SELECT COUNT(*) FROM follows")) == 2

        # Once the actor's own document answers 410, the same request is believed.
        server.gone.add(bob.actor)
        response = await post_signed(alice, forger, delete_of_actor(bob.actor))
        assert response.status_code == 202, response.text
        assert await actor_store.get_actor(db, bob.actor) is None
        assert int(await db.fetchval("SELECT COUNT(*) FROM follows")) == 0


async def test_an_actor_whose_own_key_document_is_gone_is_deleted(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = GoneServer(fleet, "https://bob.test")
        server.gone = set()
        bob = server.actor("https://bob.test/users/bob")
        await known_both_ways(alice, bob.actor)
        server.gone.add(bob.actor)
        # Signed with another key than the cached one: the key is fetched again, and the
        # actor's own document (its keyId's) answers 410.
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        response = await post_signed(
            alice, Sender(bob.actor, other_key), delete_of_actor(bob.actor)
        )
        assert response.status_code == 202, response.text
        assert await actor_store.get_actor(alice.federation.db, bob.actor) is None


async def test_a_forger_cannot_claim_an_authors_activity_id(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        bob = FakeServer(fleet, "https://bob.test").actor("https://bob.test/users/bob")
        mallory = FakeServer(fleet, "https://evil.test").actor("https://evil.test/users/mallory")
        await follow_directly(alice, bob.actor)
        posted = note(bob)
        assert (await deliver(alice, bob, create(bob, posted))).applied
        predictable = f"{bob.actor}#delete-{posted['id']}"
        forged = {
            "@context": AS_CONTEXT,
            "id": predictable,
            "type": "Delete",
            "actor": mallory.actor,
            "object": posted["id"],
        }

        refused = await deliver(alice, mallory, forged)

        assert not refused.applied  # not mallory's post to delete
        assert await status_of(alice, posted["id"]) is not None
        real = dict(forged, actor=bob.actor)
        assert (await deliver(alice, bob, real)).applied
        found = await status_of(alice, posted["id"])
        assert found is None or found.deleted_at is not None


async def test_a_forger_cannot_claim_the_key_of_an_id_less_activity(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        bob = FakeServer(fleet, "https://bob.test").actor("https://bob.test/users/bob")
        mallory = FakeServer(fleet, "https://evil.test").actor("https://evil.test/users/mallory")
        await follow_directly(alice, bob.actor)
        posted = note(bob)
        assert (await deliver(alice, bob, create(bob, posted))).applied
        # GoToSocial's Delete carries no id: the key comes from its object and type.
        forged = {"@context": AS_CONTEXT, "type": "Delete", "actor": mallory.actor}
        forged["object"] = posted["id"]

        refused = await deliver(alice, mallory, forged)

        assert not refused.applied  # not mallory's post to delete
        assert await status_of(alice, posted["id"]) is not None
        assert (await deliver(alice, bob, dict(forged, actor=bob.actor))).applied
        found = await status_of(alice, posted["id"])
        assert found is None or found.deleted_at is not None


async def test_a_forged_like_does_not_take_the_authors_like_id(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        bob = FakeServer(fleet, "https://bob.test").actor("https://bob.test/users/bob")
        mallory = FakeServer(fleet, "https://evil.test").actor("https://evil.test/users/mallory")
        ours = await local_post(alice)
        predictable = f"{bob.actor}#likes/1"
        forged = activity("Like", mallory, ours.ap_id, id=predictable)

        assert (await deliver(alice, mallory, forged)).applied  # mallory's favourite stands

        assert (
            await deliver(alice, bob, activity("Like", bob, ours.ap_id, id=predictable))
        ).applied
        rows = await alice.federation.db.fetchall(
            "SELECT actors.ap_id, interactions.ap_id FROM interactions"
            " JOIN actors ON actors.id = interactions.actor_id ORDER BY interactions.id"
        )
        assert [tuple(row) for row in rows] == [(mallory.actor, None), (bob.actor, predictable)]
