"""Relays in both dialects, played by a small fake relay in the test fleet: subscribing from
settings, the relay's answers, its shares filling the federated timeline (never as boosts),
our public posts reaching another Solo through it, the rate limit, and leaving."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.actions import statuses
from solo.activitystreams import PUBLIC
from solo.store import relays as relay_store
from solo.store.relays import Relay
from tests.fake_relay import FakeRelay
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import FakeServer, create, note
from tests.test_login import csrf_from, login

FORM = "/settings/relays"


async def subscribe(node: Node, url: str) -> httpx.Response:
    page = await node.client.get(FORM)
    if page.status_code != 200:
        await login(node.client, username=node.settings.username)
        page = await node.client.get(FORM)
    token = csrf_from(page.text)
    return await node.client.post(FORM, data={"csrf": token, "url": url})


async def only_relay(node: Node) -> Relay:
    (relay,) = await relay_store.all_relays(node.federation.db)
    return relay


async def accepted(node: Node) -> None:
    async def check() -> bool:
        return (await only_relay(node)).state == "accepted"

    await eventually(check, what="the relay to accept")


async def in_federated(node: Node, status: int | None) -> bool:
    return status is not None and status in node.federation.feeds.timelines["federated"].ids()


async def status_id(node: Node, ap_id: str) -> int | None:
    value = await node.federation.db.fetchval("SELECT id FROM statuses WHERE ap_id = ?", (ap_id,))
    return None if value is None else int(value)


async def ingress_settled(node: Node) -> bool:
    busy = await node.federation.db.fetchval(
        "SELECT COUNT(*) FROM jobs WHERE queue = 'ingress' AND state IN ('queued', 'running')"
    )
    return int(busy) == 0


async def test_a_public_post_reaches_another_solo_through_a_mastodon_style_relay(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        relay = FakeRelay(fleet)
        alice, bob = nodes["alice"], nodes["bob"]
        response = await subscribe(alice, "https://relay.test/inbox")
        assert response.status_code == 303
        page = await alice.client.get(FORM)
        assert "relay.test" in page.text and "Pending" in page.text
        await accepted(alice)
        # The Follow of the Public collection, sent and signed by the instance actor.
        follow = relay.received[0]
        assert follow["type"] == "Follow" and follow["object"] == PUBLIC
        assert follow["actor"] == "https://alice.test/actor"
        assert 'keyId="https://alice.test/actor#main-key"' in relay.signers[0]
        assert (await only_relay(alice)).actor_ap_id == relay.actor
        assert (await subscribe(bob, "https://relay.test/inbox")).status_code == 303
        await accepted(bob)
        page = await alice.client.get(FORM)
        assert "Accepted" in page.text and "nothing shared yet" in page.text

        # Only public posts go to relays.
        quiet = await statuses.post(alice.federation, "Quiet one", visibility="unlisted")
        public = await statuses.post(alice.federation, "Hello relay world")

        async def arrived() -> bool:
            return await status_id(bob, public.ap_id) is not None

        await eventually(arrived, what="the post to reach bob through the relay")
        await relay.settle()
        creates = [a for a in relay.received if a["type"] == "Create"]
        assert [c["object"]["id"] for c in creates] == [public.ap_id]
        assert await status_id(bob, quiet.ap_id) is None
        # In bob's federated timeline as alice's post, and no boost by the relay anywhere.
        shared = await status_id(bob, public.ap_id)
        await eventually(lambda: in_federated(bob, shared), what="the federated timeline")
        boosts = await bob.federation.db.fetchval(
            "SELECT COUNT(*) FROM statuses WHERE reblog_of_id IS NOT NULL"
        )
        assert boosts == 0
        federated = await bob.client.get("/federated")
        # Shown as the post itself, not as a boost by the relay.
        assert "Hello relay world" in federated.text and 'class="boosted-by"' not in federated.text
        relay_row = await only_relay(bob)
        assert relay_row.announces == 1 and relay_row.last_announce_at is not None
        assert "last share" in (await bob.client.get(FORM)).text


async def test_litepub_relay_is_followed_and_follows_back(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        relay = FakeRelay(fleet)
        alice = nodes["alice"]
        assert (await subscribe(alice, "https://relay.test/actor")).status_code == 303
        await accepted(alice)
        stored = await only_relay(alice)
        assert stored.dialect == "litepub" and stored.inbox == relay.inbox
        assert relay.received[0]["object"] == relay.actor

        # The relay's Follow of our instance actor is accepted at once, by the instance actor.
        async def follow_back_accepted() -> bool:
            return any(a["type"] == "Accept" for a in relay.received)

        await eventually(follow_back_accepted, what="the follow-back's Accept")
        answer = next(a for a in relay.received if a["type"] == "Accept")
        assert answer["actor"] == "https://alice.test/actor"
        assert answer["object"]["actor"] == relay.actor
        # A post elsewhere, announced by the relay: fetched from its origin, shown alone.
        origin = FakeServer(fleet, "https://far.test")
        author = origin.actor("https://far.test/users/carol")
        post = note(author, content="<p>from far away</p>")
        origin.serve(post)
        response = await relay.send("https://alice.test/actor/inbox", relay.announce(post["id"]))
        assert response.status_code == 202

        async def arrived() -> bool:
            return await status_id(alice, post["id"]) is not None

        await eventually(arrived, what="the shared post")
        assert post["id"] in origin.fetched
        shared = await status_id(alice, post["id"])
        await eventually(lambda: in_federated(alice, shared), what="the federated timeline")


async def test_a_create_forwarded_by_a_relay_is_fetched_from_its_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        relay = FakeRelay(fleet)
        alice = nodes["alice"]
        await subscribe(alice, "https://relay.test/inbox")
        await accepted(alice)
        origin = FakeServer(fleet, "https://far.test")
        author = origin.actor("https://far.test/users/dan")
        real = note(author, content="<p>the real text</p>")
        origin.serve(real)
        # The relay's copy says something else: only the origin's copy is believed.
        forged = dict(real, content="<p>forged by the relay</p>")
        response = await relay.send(
            "https://alice.test/inbox", create(author, forged) | {"actor": author.actor}
        )
        assert response.status_code == 202

        async def arrived() -> bool:
            return await status_id(alice, real["id"]) is not None

        await eventually(arrived, what="the forwarded post")
        content = await alice.federation.db.fetchval(
            "SELECT content_html FROM statuses WHERE ap_id = ?", (real["id"],)
        )
        assert "the real text" in content and "forged" not in content


async def test_a_flooding_relay_is_limited_and_can_be_dropped(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        relay = FakeRelay(fleet)
        alice = nodes["alice"]
        await subscribe(alice, "https://relay.test/inbox")
        await accepted(alice)
        origin = FakeServer(fleet, "https://far.test")
        author = origin.actor("https://far.test/users/erin")
        posts = [note(author) for _ in range(3)]
        for post in posts:
            origin.serve(post)
        stored = await only_relay(alice)
        # This minute's budget all but spent, as after a flood of shares.
        async with alice.federation.db.transaction() as conn:
            await conn.execute(
                "UPDATE relays SET window_start = ?, window_count = 119 WHERE id = ?",
                (time.time(), stored.id),
            )
        for post in posts:
            await relay.send("https://alice.test/actor/inbox", relay.announce(post["id"]))

        async def counted() -> bool:
            row = await only_relay(alice)
            return row.announces + row.dropped == 3

        await eventually(counted, what="the shares to be counted")
        row = await only_relay(alice)
        assert (row.announces, row.dropped) == (1, 2)

        async def stored_posts() -> list[int | None]:
            return [await status_id(alice, post["id"]) for post in posts]

        async def one_stored() -> bool:
            return any(found is not None for found in await stored_posts())

        await eventually(one_stored, what="the one share within the limit")
        await eventually(lambda: ingress_settled(alice), what="the ingress queue to settle")
        assert sum(found is not None for found in await stored_posts()) == 1

        async def refusals() -> list[Any]:
            return await alice.federation.db.fetchall(
                "SELECT sender, reason FROM refusals WHERE type = 'Announce'"
            )

        async def both_refused() -> bool:
            return len(await refusals()) == 2

        await eventually(both_refused, what="the refusals to be recorded")
        reasons = await refusals()
        assert all(r[0] == relay.actor and "shares a minute" in r[1] for r in reasons)
        page = (await alice.client.get(FORM)).text
        assert "2 dropped over 120 a minute" in page

        # Removing it sends an Undo of the Follow, and its shares are no longer taken.
        token = csrf_from(page)
        response = await alice.client.post(
            f"{FORM}/remove", data={"csrf": token, "relay": str(row.id)}
        )
        assert response.status_code == 303
        assert await relay_store.all_relays(alice.federation.db) == []

        async def undone() -> bool:
            return any(a["type"] == "Undo" for a in relay.received)

        await eventually(undone, what="the Undo")
        undo = next(a for a in relay.received if a["type"] == "Undo")
        assert undo["object"]["type"] == "Follow" and undo["object"]["object"] == PUBLIC
        assert undo["actor"] == "https://alice.test/actor"
        later = note(author)
        origin.serve(later)
        await relay.send("https://alice.test/actor/inbox", relay.announce(later["id"]))
        await relay.settle()

        async def ignored() -> bool:
            found = await alice.federation.db.fetchval(
                "SELECT COUNT(*) FROM jobs WHERE queue = 'ingress' AND state = 'dead'"
            )
            return int(found) == 3

        await eventually(ignored, what="the later share to be ignored")
        assert await status_id(alice, later["id"]) is None


async def test_a_refusing_relay_shows_as_failed(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        FakeRelay(fleet, accept=False)
        alice = nodes["alice"]
        await subscribe(alice, "https://relay.test/inbox")

        async def failed() -> bool:
            return (await only_relay(alice)).state == "failed"

        await eventually(failed, what="the relay's Reject")
        page = (await alice.client.get(FORM)).text
        assert "Failed" in page and "The relay refused the subscription." in page


async def test_bad_relay_addresses_are_refused_and_store_nothing(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        FakeRelay(fleet)
        alice = nodes["alice"]
        cases = [
            ("", "Give the relay's inbox or actor address"),
            ("relay.test", "starts with https://"),
            ("javascript:alert(1)", "starts with https://"),
            ("https://alice.test/inbox", "That address is this server."),
            ("https://" + "x" * 3000 + ".test/inbox", "longer than 2048 characters"),
            ("https://relay.test/nothing-here", "does not answer as a relay actor"),
            ("https://gone.test/actor", "does not answer as a relay actor"),
        ]
        for url, message in cases:
            response = await subscribe(alice, url)
            assert response.status_code == 422, url
            assert message in html.unescape(response.text), url
        assert await relay_store.all_relays(alice.federation.db) == []
        assert (await subscribe(alice, "https://relay.test/inbox")).status_code == 303
        again = await subscribe(alice, "https://relay.test/inbox")
        assert again.status_code == 422 and "already subscribe" in again.text
        token = csrf_from((await alice.client.get(FORM)).text)
        missing = await alice.client.post(f"{FORM}/remove", data={"csrf": token, "relay": "999"})
        assert missing.status_code == 404 and "not among yours" in missing.text
        # Both forms need the CSRF token.
        for path, fields in ((FORM, {"url": "https://relay.test/actor"}), (f"{FORM}/remove", {})):
            forged = await alice.client.post(path, data={**fields, "csrf": "forged"})
            assert forged.status_code == 403
        assert len(await relay_store.all_relays(alice.federation.db)) == 1
        # Settings link to the page; visitors are sent to log in.
        assert 'href="/settings/relays"' in (await alice.client.get("/settings")).text
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=alice.app), base_url=alice.settings.base_url
        ) as visitor:
            assert (await visitor.get(FORM)).status_code in (303, 401)


async def test_a_relay_that_cannot_be_reached_shows_as_failed(
    tmp_path: Path, template_root: Path
) -> None:
    async def gone(request: Request) -> Response:
        return Response("no relay here", status_code=410)

    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        fleet.add("dead.test", Starlette(routes=[Route("/inbox", gone, methods=["POST"])]))
        alice = nodes["alice"]
        assert (await subscribe(alice, "https://dead.test/inbox")).status_code == 303

        async def failed() -> bool:
            return (await only_relay(alice)).state == "failed"

        await eventually(failed, what="the undeliverable Follow to fail the relay")
        page = html.unescape((await alice.client.get(FORM)).text)
        assert "Failed" in page and "The relay could not be reached" in page
