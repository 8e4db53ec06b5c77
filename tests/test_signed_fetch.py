"""Followers-only and direct posts served to the signed GETs of those who may read them (rule 43):
real signed fetches between Solo instances; everyone else gets the 404 of a missing post."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from solo.actions import follows as follow_actions
from solo.actions import statuses as status_actions
from solo.federation import backfill
from solo.federation.signatures import HTTPSignatureAuth, sign_headers
from solo.net.fetch import HTTPStatusError
from solo.store import statuses as status_store
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import follow_solo
from tests.test_rfc9421 import sign as sign_rfc9421

AS_JSON = "application/activity+json"


async def fetch_as(reader: Node, url: str, *, user: bool = True) -> dict[str, Any] | int:
    """The document `reader`'s server gets at `url`, signed as its user (or its instance
    actor), through its own guarded fetcher; the status code when refused."""
    federation = reader.federation
    auth = federation.user_auth if user else federation.resolver.auth
    try:
        return await federation.fetcher.get_activity(url, auth=auth)
    except HTTPStatusError as error:
        return error.status


async def unsigned(node: Node, url: str, **headers: str) -> httpx.Response:
    return await node.client.get(url, headers={"Accept": AS_JSON, **headers})


def user_key(node: Node) -> rsa.RSAPrivateKey:
    return node.federation.instance.user_keys.private_key()


async def test_followers_only_post_served_to_a_follower_only(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(bob, alice)
        post = await status_actions.post(alice.federation, "for followers", visibility="private")

        for url in (post.ap_id, f"{post.ap_id}/activity"):
            found = await fetch_as(bob, url)
            assert isinstance(found, dict) and found["id"] == url
            assert "for followers" in str(found)
            assert await fetch_as(carol, url) == 404  # not a follower
            assert await fetch_as(bob, url, user=False) == 404  # the instance actor names nobody
        missing = await unsigned(alice, f"{alice.actor}/statuses/1")
        response = await unsigned(alice, post.ap_id)
        assert response.status_code == 404 and response.text == missing.text

        # What the follower got is marked as depending on who asked, and never shared.
        headers = sign_headers(
            "GET",
            post.ap_id,
            {"Accept": AS_JSON},
            b"",
            key_id=f"{bob.actor}#main-key",
            private_key=user_key(bob),
        )
        response = await unsigned(alice, post.ap_id, **headers)
        assert response.status_code == 200
        assert response.headers["vary"].removesuffix(", Accept-Encoding") == "Accept, Signature"
        assert "private" in response.headers["cache-control"]
        assert "public" not in response.headers["cache-control"]

        # bob's key id with carol's key: a bad signature is refused like none at all.
        headers = sign_headers(
            "GET",
            post.ap_id,
            {"Accept": AS_JSON},
            b"",
            key_id=f"{bob.actor}#main-key",
            private_key=user_key(carol),
        )
        response = await unsigned(alice, post.ap_id, **headers)
        assert response.status_code == 404 and response.text == missing.text

        # RFC 9421, as Mastodon 4.5 may sign.
        signed = sign_rfc9421(
            "GET",
            urlpath(post.ap_id),
            {"Host": "alice.test", "Accept": AS_JSON},
            '"@method" "@target-uri"',
            f';created={int(time.time())};keyid="{bob.actor}#main-key"',
            key=user_key(bob),
        )
        response = await unsigned(alice, post.ap_id, **signed)
        assert response.status_code == 200, response.text

        # An unfollow ends it, once alice has heard of it.
        await follow_actions.unfollow(bob.federation, alice.actor)

        async def unfollowed() -> bool:
            return await fetch_as(bob, post.ap_id) == 404

        await eventually(unfollowed, what="alice to stop serving bob")


def urlpath(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


async def test_direct_post_served_to_its_addressee_only(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(carol, alice)  # a follower, but not addressed
        post = await status_actions.post(
            alice.federation, "just for @bob@bob.test", visibility="direct"
        )
        found = await fetch_as(bob, post.ap_id)
        assert isinstance(found, dict) and bob.actor in found["to"]
        assert await fetch_as(carol, post.ap_id) == 404
        assert (await unsigned(alice, post.ap_id)).status_code == 404
        found = await fetch_as(bob, f"{post.ap_id}/activity")
        assert isinstance(found, dict) and found["type"] == "Create"
        assert await fetch_as(carol, f"{post.ap_id}/activity") == 404


async def test_a_thread_fetches_a_followers_only_parent_between_solos(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        parent = await status_actions.post(
            alice.federation, "before you came", visibility="private"
        )
        await follow_solo(bob, alice)  # after the parent: bob never received it
        reply = await status_actions.post(
            alice.federation, "and a follow-up", visibility="private", in_reply_to=parent.id
        )

        async def arrived() -> bool:
            return (
                await status_store.get_status_by_ap_id(bob.federation.db, reply.ap_id) is not None
            )

        await eventually(arrived, what="the reply to reach bob")
        child = await status_store.get_status_by_ap_id(bob.federation.db, reply.ap_id)
        assert child is not None
        assert await status_store.get_status_by_ap_id(bob.federation.db, parent.ap_id) is None

        await backfill.thread(bob.federation, child.id, wait=10)
        stored = await status_store.get_status_by_ap_id(bob.federation.db, parent.ap_id)
        assert stored is not None and stored.visibility == "private"
        again = await status_store.get_status_by_ap_id(bob.federation.db, reply.ap_id)
        assert again is not None and again.in_reply_to_id == stored.id


@pytest.mark.parametrize("signer", ["instance", "stranger"])
async def test_others_do_not_get_a_followers_only_parent(
    tmp_path: Path, template_root: Path, signer: str
) -> None:
    """Nobody's fetch stores a followers-only post it was not shown: a date-signed GET by a
    server that follows no one still gets 404, and nothing is stored."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        post = await status_actions.post(alice.federation, "followers only", visibility="private")
        auth = (
            HTTPSignatureAuth(f"{bob.actor}#main-key", user_key(bob))
            if signer == "stranger"
            else bob.federation.resolver.auth
        )
        headers = {"Accept": AS_JSON, "Date": formatdate(time.time(), usegmt=True)}
        request = httpx.Request("GET", post.ap_id, headers=headers)
        signed = next(auth.auth_flow(request))
        response = await unsigned(alice, post.ap_id, **dict(signed.headers))
        assert response.status_code == 404
