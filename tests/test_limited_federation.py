"""Limited federation: only the allowlisted servers (and our own domain) may deliver to us or
fetch from us, and we neither deliver to nor fetch from anyone else. Three Solo instances:
alice allows bob, not carol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solo.actions import ActionError
from solo.actions import follows as follow_actions
from solo.actions import statuses as status_actions
from solo.config import Settings
from solo.errors import SetupError
from solo.federation import vocab
from solo.federation.remote_actors import parse_actor
from solo.store import actors as actor_store
from solo.store import follows
from tests.fleet import eventually
from tests.ingress_helpers import follow_solo, post_signed, solo_sender, status_of
from tests.secure_fleet import AS_JSON, fetch_as, fleet_with
from tests.test_login import login

LIMITED = {"limited_federation": True, "federation_allowlist": "bob.test"}
TRIO = {"alice": LIMITED, "bob": {}, "carol": {}}


async def test_only_an_allowlisted_server_may_deliver(tmp_path: Path, template_root: Path) -> None:
    async with fleet_with(tmp_path, template_root, TRIO) as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        follow = vocab.follow(carol.settings, alice.actor, f"{carol.actor}#follows/1")
        response = await post_signed(alice, solo_sender(carol), json.dumps(follow).encode())
        assert response.status_code == 403
        assert response.text == "carol.test is not among the servers this one federates with."
        assert await actor_store.get_actor(alice.federation.db, carol.actor) is None

        await follow_solo(bob, alice)  # allowlisted: the Follow goes in, the Accept comes out
        bob_row = await actor_store.get_actor(alice.federation.db, bob.actor)
        assert bob_row is not None and bob_row.id is not None
        found = await follows.get_follow(alice.federation.db, "in", bob_row.id)
        assert found is not None and found.state == "accepted"
        post = await status_actions.post(alice.federation, "for the circle")

        async def delivered() -> bool:
            return await status_of(bob, post.ap_id) is not None

        await eventually(delivered, what="alice's post to reach bob")


async def test_only_an_allowlisted_server_may_fetch(tmp_path: Path, template_root: Path) -> None:
    async with fleet_with(tmp_path, template_root, TRIO) as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        post = await status_actions.post(alice.federation, "inside the circle")
        for url in (post.ap_id, f"{alice.actor}/outbox", alice.actor):
            found = await fetch_as(bob, url)
            assert isinstance(found, dict) and found["id"] == url
            assert await fetch_as(carol, url) == "answered 403", url
            assert await fetch_as(carol, url, user=True) == "answered 403", url
        # Unsigned: 401 as in secure mode, which limited federation implies; the actor stays
        # readable, minimal, for key fetches.
        unsigned = await alice.client.get(post.ap_id, headers={"Accept": AS_JSON})
        assert unsigned.status_code == 401
        actor = await alice.client.get(alice.actor, headers={"Accept": AS_JSON})
        assert actor.status_code == 200 and "summary" not in actor.json()


async def test_a_limited_server_neither_fetches_from_nor_delivers_to_others(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_with(tmp_path, template_root, TRIO) as (fleet, nodes):
        alice, carol = nodes["alice"], nodes["carol"]
        hello = await status_actions.post(carol.federation, "hello alice")
        refused = await fetch_as(alice, hello.ap_id)
        assert refused == (
            "carol.test is not among the servers this one federates with (limited federation)"
        )
        with pytest.raises(ActionError, match="limited federation"):
            await follow_actions.follow(alice.federation, "carol@carol.test")

        # carol follows alice somehow (a row from before the circle closed): nothing goes out.
        document = (await carol.client.get(carol.actor, headers={"Accept": AS_JSON})).json()
        async with alice.federation.db.transaction() as conn:
            row = await actor_store.upsert_actor(conn, parse_actor(document))
            await follows.put_follow(conn, "in", row, f"{carol.actor}#f", "accepted")
        fleet.requests.clear()
        await status_actions.post(alice.federation, "not for carol")

        async def dropped() -> bool:
            error = await alice.federation.db.fetchval(
                "SELECT last_error FROM jobs WHERE queue = 'push' AND state = 'dead'"
            )
            return error is not None

        await eventually(dropped, what="the delivery to carol to be dropped")
        error = await alice.federation.db.fetchval("SELECT last_error FROM jobs WHERE state='dead'")
        assert error == "carol.test is not among the servers this one federates with"
        assert not [r for r in fleet.requests if r.url.host == "carol.test"]


def test_the_allowlist_refuses_what_is_no_domain(tmp_path: Path) -> None:
    for bad, reason in [
        ("https://bob.test/", "is a URL"),
        ("*.bob.test", "has a wildcard"),
        ("bob test", "is not a domain"),
    ]:
        with pytest.raises(SetupError, match=reason):
            Settings(data_dir=tmp_path, federation_allowlist=f"ok.test, {bad}")
    settings = Settings(
        data_dir=tmp_path,
        domain="me.example",
        limited_federation=True,
        federation_allowlist=" Bob.Test , club.example:8443,,",
    )
    assert settings.allowed_domains == {"bob.test", "club.example:8443"}
    assert settings.secure_fetch
    allowed = ["me.example", "bob.test", "sub.bob.test", "bob.test:8443", "club.example:8443"]
    for host in allowed:
        assert settings.federates_with(host), host
    for host in ["club.example", "notbob.test", "test", "evil.example"]:
        assert not settings.federates_with(host), host
    assert Settings(data_dir=tmp_path).federates_with("anyone.example")


async def test_the_settings_page_says_how_the_server_federates(
    tmp_path: Path, template_root: Path
) -> None:
    modes = {
        "alice": {**LIMITED, "federation_allowlist": "bob.test, club.example"},
        "bob": {"authorized_fetch": True},
        "carol": {},
    }
    expected = {
        "alice": ["Limited federation is on", "<li>bob.test</li><li>club.example</li>"],
        "bob": ["Secure mode is on"],
        "carol": ["Open federation"],
    }
    async with fleet_with(tmp_path, template_root, modes) as (_, nodes):
        for name, node in nodes.items():
            assert (await login(node.client, username=name)).status_code == 303
            page = await node.client.get("/settings")
            assert page.status_code == 200
            section = page.text.split('id="federation"', 1)[1].split("</section>", 1)[0]
            for text in expected[name]:
                assert text in section, (name, text)
