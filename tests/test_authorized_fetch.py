"""Authorized fetch ("secure mode"): ActivityPub GETs need a verified signature, the actor stays
readable for key fetches, blocked domains get 403 on every GET, and Solo servers in secure mode
still follow, deliver to and fetch from each other."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from solo.actions import pins
from solo.actions import statuses as status_actions
from solo.federation import backfill, cavage
from solo.federation.fetch_gate import MINIMAL_ACTOR_FIELDS
from solo.federation.signatures import HTTPSignatureAuth, b64
from solo.store import hosts
from solo.store import statuses as status_store
from tests.fleet import Node, eventually
from tests.ingress_helpers import FakeServer, follow_solo, status_of
from tests.secure_fleet import AS_JSON, fetch_as, fleet_with, instance_auth, signed_get

SECURE = {"authorized_fetch": True}
FIXTURES = Path(__file__).parent / "fixtures" / "signatures"


def collections_of(node: Node) -> list[str]:
    actor = node.actor
    return [
        f"{actor}/outbox",
        f"{actor}/outbox?page=true",
        f"{actor}/followers",
        f"{actor}/following?page=true",
        f"{actor}/collections/featured",
    ]


async def test_secure_mode_refuses_unsigned_gets_of_posts_and_collections(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_with(tmp_path, template_root, {"alice": SECURE}) as (_, nodes):
        alice = nodes["alice"]
        post = await status_actions.post(alice.federation, "hello, signed world")
        await pins.pin(alice.federation, post.id)
        for url in [post.ap_id, f"{post.ap_id}/activity", *collections_of(alice)]:
            response = await alice.client.get(url, headers={"Accept": AS_JSON})
            assert response.status_code == 401, url
            assert "signed requests" in response.json()["error"]
            assert "hello" not in response.text
        # A post that does not exist answers the same: nothing tells what exists.
        missing = await alice.client.get(f"{alice.actor}/statuses/1", headers={"Accept": AS_JSON})
        assert missing.status_code == 401

        # A signature that does not verify is refused with its reason.
        stranger = HTTPSignatureAuth(
            f"{alice.actor}#main-key",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
        response = await signed_get(alice, post.ap_id, stranger)
        assert response.status_code == 401
        assert "signature" in response.json()["error"].lower()
        garbled = {"Accept": AS_JSON, "Signature": 'keyId="mailto:x",signature="AAAA"'}
        response = await alice.client.get(post.ap_id, headers=garbled)
        assert response.status_code == 401 and response.json()["error"]


async def test_what_stays_open_in_secure_mode(tmp_path: Path, template_root: Path) -> None:
    """The actor (minimal), the instance actor, WebFinger, NodeInfo and every web page."""
    async with fleet_with(tmp_path, template_root, {"alice": SECURE}) as (_, nodes):
        alice = nodes["alice"]
        post = await status_actions.post(alice.federation, "seen on the web")

        actor = await alice.client.get(alice.actor, headers={"Accept": AS_JSON})
        assert actor.status_code == 200
        document = actor.json()
        assert set(document) <= MINIMAL_ACTOR_FIELDS
        assert document["publicKey"]["id"] == f"{alice.actor}#main-key"
        assert document["inbox"] and document["preferredUsername"] == "alice"
        assert "followers" not in document and "summary" not in document
        assert actor.headers["vary"].removesuffix(", Accept-Encoding") == "Accept, Signature"
        assert actor.headers["cache-control"] == "private"

        instance_actor = await alice.client.get("/actor", headers={"Accept": AS_JSON})
        assert instance_actor.status_code == 200 and "publicKey" in instance_actor.json()
        webfinger = await alice.client.get(
            "/.well-known/webfinger", params={"resource": "acct:alice@alice.test"}
        )
        assert webfinger.status_code == 200
        assert (await alice.client.get("/.well-known/nodeinfo")).status_code == 200
        assert (await alice.client.get("/nodeinfo/2.0")).status_code == 200

        html = {"Accept": "text/html"}
        profile = await alice.client.get("/@alice", headers=html)
        assert profile.status_code == 200 and "seen on the web" in profile.text
        assert (await alice.client.get(f"/@alice/{post.id}", headers=html)).status_code == 200
        redirect = await alice.client.get(post.ap_id, headers=html)
        assert redirect.status_code == 303
        assert redirect.headers["location"].endswith(f"/@alice/{post.id}")


async def test_secure_mode_serves_a_signed_server_and_a_signed_follower(
    tmp_path: Path, template_root: Path
) -> None:
    nodes_settings = {"alice": SECURE, "bob": {}, "carol": {}}
    async with fleet_with(tmp_path, template_root, nodes_settings) as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(bob, alice)
        public = await status_actions.post(alice.federation, "for everyone")
        private = await status_actions.post(alice.federation, "for followers", visibility="private")

        # Any server's signed fetch gets the public post, its activity and the collections.
        for reader in (bob, carol):
            found = await fetch_as(reader, public.ap_id)
            assert isinstance(found, dict) and "for everyone" in str(found)
            activity = await fetch_as(reader, f"{public.ap_id}/activity")
            assert isinstance(activity, dict) and activity["type"] == "Create"
            for url in collections_of(alice):
                collection = await fetch_as(reader, url)
                assert isinstance(collection, dict), (url, collection)
            followers = await fetch_as(reader, f"{alice.actor}/followers")
            assert isinstance(followers, dict) and followers["totalItems"] == 1
            actor = await fetch_as(reader, alice.actor)
            assert isinstance(actor, dict) and "followers" in actor  # whole, not minimal

        # The followers-only post: to the follower, not to another server.
        found = await fetch_as(bob, private.ap_id, user=True)
        assert isinstance(found, dict) and "for followers" in str(found)
        assert await fetch_as(carol, private.ap_id, user=True) == "answered 404"

        response = await signed_get(alice, public.ap_id, instance_auth(bob))
        assert response.status_code == 200
        assert response.headers["vary"].removesuffix(", Accept-Encoding") == "Accept, Signature"
        assert response.headers["cache-control"] == "private"


@pytest.mark.parametrize("secure", [True, False], ids=["secure", "open"])
async def test_a_blocked_domain_gets_403_on_every_signed_get(
    tmp_path: Path, template_root: Path, secure: bool
) -> None:
    values = SECURE if secure else {}
    async with fleet_with(tmp_path, template_root, {"alice": values, "bob": {}}) as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        post = await status_actions.post(alice.federation, "not for bob's server")
        assert isinstance(await fetch_as(bob, post.ap_id), dict)
        await hosts.block_domain(alice.federation.db, "bob.test")
        urls = [alice.actor, f"{alice.settings.base_url}/actor", post.ap_id]
        for url in [*urls, f"{post.ap_id}/activity", *collections_of(alice)]:
            assert await fetch_as(bob, url) == "answered 403", url
            assert await fetch_as(bob, url, user=True) == "answered 403", url
        response = await signed_get(alice, post.ap_id, instance_auth(bob))
        assert response.json() == {"error": "bob.test is blocked here."}


async def test_secure_solos_follow_post_and_fetch_each_other(
    tmp_path: Path, template_root: Path
) -> None:
    """Neither knows the other at first: each key fetch meets the other's open instance actor,
    so nothing recurses."""
    async with fleet_with(tmp_path, template_root, {"alice": SECURE, "bob": SECURE}) as (
        fleet,
        nodes,
    ):
        alice, bob = nodes["alice"], nodes["bob"]
        earlier = await status_actions.post(alice.federation, "before bob came")
        parent = await status_actions.post(
            alice.federation, "a private start", visibility="private"
        )
        await follow_solo(bob, alice)

        # The outbox backfill after the Accept went through alice's gate.
        async def backfilled() -> bool:
            return await status_of(bob, earlier.ap_id) is not None

        await eventually(backfilled, what="alice's outbox to reach bob")

        # A new post is delivered; a followers-only parent is fetched when bob opens the thread.
        reply = await status_actions.post(
            alice.federation, "and a follow-up", visibility="private", in_reply_to=parent.id
        )

        async def delivered() -> bool:
            return await status_of(bob, reply.ap_id) is not None

        await eventually(delivered, what="the reply to reach bob")
        child = await status_of(bob, reply.ap_id)
        assert child is not None
        await backfill.thread(bob.federation, child.id, wait=10)
        stored = await status_store.get_status_by_ap_id(bob.federation.db, parent.ap_id)
        assert stored is not None and stored.visibility == "private"

        # And the other way: alice looks bob up and reads his post.
        hello = await status_actions.post(bob.federation, "hello from bob")
        found = await fetch_as(alice, hello.ap_id)
        assert isinstance(found, dict) and found["id"] == hello.ap_id
        # Every GET between them was signed, and each instance actor was fetched once by the
        # other (no key fetch led to another).
        gets = [r for r in fleet.requests if r.method == "GET" and "/users/" in r.url.path]
        assert gets and all("signature" in r.headers for r in gets)
        key_fetches = [str(r.url) for r in fleet.requests if r.url.path == "/actor"]
        assert sorted(key_fetches) == ["https://alice.test/actor", "https://bob.test/actor"]


async def test_a_mastodon_signed_get_is_served(tmp_path: Path, template_root: Path) -> None:
    """Signed as Mastodon's own spec signs a GET (`date host (request-target)`, rsa-sha256), with
    the spec's key for https://remote.domain/users/bob (tests/fixtures/signatures, from
    mastodon/mastodon spec/requests/signature_verification_spec.rb); a fresh Date, since the
    captured request is from 2023 and far outside the clock window."""
    async with fleet_with(tmp_path, template_root, {"alice": SECURE}) as (fleet, nodes):
        alice = nodes["alice"]
        pem = (FIXTURES / "keys" / "mastodon-spec-bob.private.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        remote = FakeServer(fleet, "https://remote.domain")
        remote.actor("https://remote.domain/users/bob")
        remote.documents["https://remote.domain/users/bob"]["publicKey"]["publicKeyPem"] = (
            FIXTURES / "keys" / "mastodon-spec-bob.public.pem"
        ).read_text()
        post = await status_actions.post(alice.federation, "read by mastodon")
        path = httpx.URL(post.ap_id).raw_path.decode()
        date = formatdate(time.time(), usegmt=True)
        fields = {"date": [date], "host": ["alice.test"]}
        order = ["date", "host", "(request-target)"]
        text = cavage.signing_string("GET", path, fields, order, None, None)
        signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        headers = {
            "Accept": AS_JSON,
            "Date": date,
            "Signature": 'keyId="https://remote.domain/users/bob#main-key",algorithm="rsa-sha256",'
            f'headers="{" ".join(order)}",signature="{b64(signature)}"',
        }
        response = await alice.client.get(post.ap_id, headers=headers)
        assert response.status_code == 200, response.text
        assert "read by mastodon" in response.text
        assert "https://remote.domain/users/bob" in remote.fetched  # its key, fetched once
