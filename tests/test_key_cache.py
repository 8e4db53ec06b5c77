"""The inbox's cache of signing keys: used while valid, refetched once on rotation, forgotten
when the actor changes or is deleted, bounded; keys never stored are not looked for."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from solo.db import Database
from solo.federation.known_keys import KnownKeys
from solo.federation.remote_actors import parse_actor
from solo.federation.resolver import Resolver
from solo.store import actors as actor_store
from tests.fleet import Node, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    Sender,
    activity,
    deliver,
    local_post,
    post_signed,
    public_pem,
)
from tests.test_web_queries import statements

CAROL = "https://carol.example/users/carol"
_count = iter(range(1, 1_000_000))


def like(sender: Sender, target: Node) -> bytes:
    n = next(_count)
    activity: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.actor}#likes/{n}",
        "type": "Like",
        "actor": sender.actor,
        "object": target.actor,
    }
    return json.dumps(activity).encode()


def rotate(server: FakeServer, actor_id: str) -> Sender:
    """Serve `actor_id` with a new key (same key id); returns the sender holding it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = dict(server.documents[actor_id])
    document["publicKey"] = {**document["publicKey"], "publicKeyPem": public_pem(key)}
    server.serve(document)
    return Sender(actor_id, key)


async def test_a_cached_key_is_used_and_a_rotated_key_is_fetched_once(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor(CAROL)
        assert (await post_signed(alice, carol, like(carol, alice))).status_code == 202
        assert server.fetched == [CAROL]
        for _ in range(3):
            assert (await post_signed(alice, carol, like(carol, alice))).status_code == 202
        assert server.fetched == [CAROL]  # from the cache

        rotated = rotate(server, CAROL)
        assert (await post_signed(alice, rotated, like(rotated, alice))).status_code == 202
        assert server.fetched == [CAROL, CAROL]  # the cached key failed: one refetch
        assert (await post_signed(alice, rotated, like(rotated, alice))).status_code == 202
        assert server.fetched == [CAROL, CAROL]  # the new key is the cached one now

        # The old key no longer verifies, from memory or fetched (one refetch, then 401).
        response = await post_signed(alice, carol, like(carol, alice))
        assert response.status_code == 401
        assert server.fetched == [CAROL, CAROL, CAROL]


async def test_an_actor_updated_in_the_database_is_not_served_from_memory(
    tmp_path: Path, template_root: Path
) -> None:
    """What an Update(Person) handler stores replaces the cached key at once."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor(CAROL)
        assert (await post_signed(alice, carol, like(carol, alice))).status_code == 202
        rotated = rotate(server, CAROL)
        stored = await actor_store.get_actor(db, CAROL)
        assert stored is not None
        new_pem = server.documents[CAROL]["publicKey"]["publicKeyPem"]
        async with db.transaction() as conn:
            await actor_store.upsert_actor(
                conn, stored.__class__(**{**stored.__dict__, "public_key_pem": new_pem})
            )
        fetched = len(server.fetched)
        assert (await post_signed(alice, rotated, like(rotated, alice))).status_code == 202
        assert len(server.fetched) == fetched  # the stored key, not the old one in memory
        response = await post_signed(alice, carol, like(carol, alice))
        assert response.status_code == 401


async def test_a_deleted_actor_is_not_served_from_memory(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor(CAROL)
        assert (await post_signed(alice, carol, like(carol, alice))).status_code == 202
        async with db.transaction() as conn:  # as the Delete handler does
            await actor_store.delete_actor(conn, CAROL)
        del server.documents[CAROL]
        response = await post_signed(alice, carol, like(carol, alice))
        assert response.status_code == 401
        assert server.fetched == [CAROL, CAROL]


async def test_the_ingress_worker_takes_a_sender_from_memory_and_never_a_stale_one(
    tmp_path: Path, template_root: Path
) -> None:
    """The actor of an activity just verified is not read again to apply it; once its row
    changes or goes, what the worker is given is the row as it is."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        resolver = alice.federation.resolver
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor(CAROL)
        first, second = await local_post(alice, "one"), await local_post(alice, "two")
        assert (await deliver(alice, carol, activity("Like", carol, first.ap_id))).applied
        async with statements(db) as seen:
            outcome = await deliver(alice, carol, activity("Like", carol, second.ap_id))
        assert outcome.applied
        assert [sql for sql in seen if "INTO interactions" in sql]  # the Like was applied here
        assert not [sql for sql in seen if "FROM actors" in sql]  # its actor came from memory

        stored = await resolver.stored_actor(CAROL)
        assert stored is not None and stored.display_name != "Carol renamed"
        async with db.transaction() as conn:  # as the Update handler does
            await actor_store.upsert_actor(conn, replace(stored, display_name="Carol renamed"))
        renamed = await resolver.stored_actor(CAROL)
        assert renamed is not None and renamed.display_name == "Carol renamed"
        async with db.transaction() as conn:  # as the Delete handler does
            await actor_store.delete_actor(conn, CAROL)
        assert await resolver.stored_actor(CAROL) is None


async def test_the_key_cache_is_bounded(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        senders = [server.actor(f"https://carol.example/users/u{n}") for n in range(4)]
        for sender in senders:
            assert (await post_signed(alice, sender, like(sender, alice))).status_code == 202
        resolver = Resolver(alice.app.state.instance, alice.federation.fetcher, key_cache_size=2)
        for sender in senders:
            found = await resolver.cached_key(sender.key_id)
            assert found is not None and found.actor.ap_id == sender.actor
        assert list(resolver._keys) == [senders[2].key_id, senders[3].key_id]
        assert await resolver.cached_key(senders[0].key_id) is not None  # read again
        assert list(resolver._keys) == [senders[3].key_id, senders[0].key_id]
        # ... and so is what finds an actor's key: only the actors whose keys are kept.
        assert sorted(resolver._key_of) == sorted([senders[3].actor, senders[0].actor])


def test_known_keys_hold_every_key_added_and_few_others() -> None:
    known = KnownKeys(capacity=2_000)
    added = [f"https://h{n}.example/users/u#main-key" for n in range(2_000)]
    for key_id in added:
        known.add(key_id)
    assert all(key_id in known for key_id in added)
    others = [f"https://h{n}.example/users/v#main-key" for n in range(10_000)]
    assert sum(key_id in known for key_id in others) < 250  # 1 % aimed at, 2.5 % allowed
    assert 42 not in known


async def test_a_key_stored_by_another_process_is_fetched_again(
    tmp_path: Path, template_root: Path
) -> None:
    """The resolver knows which keys are stored from its own writes (and the table at start):
    a key another process stored since is not looked for, but fetched and checked anew."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        first, second = (server.actor(f"https://carol.example/users/u{n}") for n in range(2))
        assert (await post_signed(alice, first, like(first, alice))).status_code == 202
        resolver = alice.federation.resolver
        assert await resolver.cached_key(first.key_id) is not None

        other = Database(alice.app.state.instance.settings.db_path)
        await other.open()
        try:
            actor = parse_actor(server.documents[second.actor])
            await other.write(functools.partial(actor_store.store_actor, actor=actor))
        finally:
            await other.close()
        assert await actor_store.get_actor_by_key_id(resolver.db, second.key_id) is not None
        assert await resolver.cached_key(second.key_id) is None  # never stored by this one

        assert (await post_signed(alice, second, like(second, alice))).status_code == 202
        assert server.fetched == [first.actor, second.actor]
        assert await resolver.cached_key(second.key_id) is not None
