"""Interacting across servers: a visitor of alice's profile or post goes to their own server's
`subscribe` page through WebFinger, and Solo's own `/authorize_interaction` opens what another
server sends its user to."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from solo.actions import statuses as status_actions
from solo.store import follows as follow_store
from tests.conftest import PASSWORD
from tests.fleet import Node, eventually, fleet_of
from tests.test_login import csrf_from

SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"


def interact_link(page: str) -> str:
    match = re.search(r'href="(/interact\?uri=[^"]+)"', page)
    assert match, "the page offers no interaction to visitors"
    return html.unescape(match.group(1))


async def log_in_after(node: Node, response: httpx.Response) -> httpx.Response:
    """Follow a redirect to the login form, log in there, and return where login sends us."""
    assert response.status_code == 303
    form = await node.client.get(response.headers["location"])
    assert form.status_code == 200
    next_field = re.search(r'name="next" value="([^"]+)"', form.text)
    assert next_field is not None
    return await node.client.post(
        "/login",
        data={
            "csrf": csrf_from(form.text),
            "username": node.settings.username,
            "password": PASSWORD,
            "next": html.unescape(next_field.group(1)),
        },
    )


def onward(response: httpx.Response) -> str:
    """Where the page after the handle form moves on to: it refreshes itself there, and links
    there, rather than redirecting (the form's CSP `form-action 'self'` would stop a redirect)."""
    assert response.status_code == 200
    refresh = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', response.text)
    link = re.search(r'<a class="button" href="([^"]+)"', response.text)
    assert refresh and link, "the page does not move on to the visitor's server"
    assert html.unescape(refresh.group(1)) == html.unescape(link.group(1))
    return html.unescape(link.group(1))


def fake_server(links: list[dict[str, str]]) -> Starlette:
    """A server whose WebFinger answers for anyone with `links`."""

    async def webfinger(request: Request) -> JSONResponse:
        subject = request.query_params.get("resource", "")
        return JSONResponse({"subject": subject, "links": links})

    return Starlette(routes=[Route("/.well-known/webfinger", webfinger)])


async def test_webfinger_publishes_the_subscribe_template(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        answer = await alice.client.get(
            "/.well-known/webfinger", params={"resource": "acct:alice@alice.test"}
        )
        links = [link for link in answer.json()["links"] if link["rel"] == SUBSCRIBE]
        assert links == [
            {"rel": SUBSCRIBE, "template": "https://alice.test/authorize_interaction?uri={uri}"}
        ]


async def test_a_visitor_follows_alice_from_bobs_server(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        profile = await alice.client.get("/@alice")
        link = interact_link(profile.text)
        assert parse_qs(urlsplit(link).query) == {"uri": [alice.actor]}
        page = await alice.client.get(link)
        assert page.status_code == 200 and "<h1>Follow" in page.text
        sent = await alice.client.post(
            "/interact",
            data={"csrf": csrf_from(page.text), "uri": alice.actor, "handle": "@bob@bob.test"},
        )
        target = onward(sent)
        assert target == f"https://bob.test/authorize_interaction?uri={quote(alice.actor, safe='')}"
        # The handle is offered again next time.
        assert 'value="@bob@bob.test"' in (await alice.client.get(link)).text

        # On bob's server: log in first, then the account opens with its Follow button.
        arrived = await log_in_after(bob, await bob.client.get(target))
        assert arrived.status_code == 303
        assert arrived.headers["location"].startswith("/authorize_interaction?uri=")
        opened = await bob.client.get(arrived.headers["location"])
        assert opened.status_code == 303 and opened.headers["location"] == "/@alice@alice.test"
        account = await bob.client.get("/@alice@alice.test")
        assert 'action="/follow"' in account.text
        followed = await bob.client.post(
            "/follow",
            data={"csrf": csrf_from(account.text), "account": alice.actor, "back": "/"},
        )
        assert followed.status_code == 303

        async def alice_has_bob() -> bool:
            return await follow_store.count_accepted(alice.federation.db, "in") == 1

        await eventually(alice_has_bob, what="bob following alice")


async def test_a_visitor_answers_a_post_and_bob_opens_it(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        post = await status_actions.post(alice.federation, "Herons at dawn")
        hidden = await status_actions.post(
            alice.federation, "Only for friends", visibility="private"
        )
        thread = await alice.client.get(f"/@alice/{post.id}")
        link = interact_link(thread.text)
        page = await alice.client.get(link)
        assert page.status_code == 200 and "Herons at dawn" in page.text
        sent = await alice.client.post(
            "/interact",
            data={"csrf": csrf_from(page.text), "uri": post.ap_id, "handle": "bob@bob.test"},
        )
        assert onward(sent).endswith(quote(post.ap_id, safe=""))
        for uri in (hidden.ap_id, "https://alice.test/nothing", ""):
            refused = await alice.client.get("/interact", params={"uri": uri})
            assert refused.status_code == 404
            assert "no public account or post" in refused.text

        await log_in_after(bob, await bob.client.get("/authorize_interaction"))
        opened = await bob.client.get("/authorize_interaction", params={"uri": post.ap_id})
        assert opened.status_code == 303
        location = opened.headers["location"]
        assert re.fullmatch(r"/@alice@alice\.test/\d+", location)
        shown = await bob.client.get(location)
        assert "Herons at dawn" in shown.text and '/favourite"' in shown.text
        by_handle = await bob.client.get(
            "/authorize_interaction", params={"uri": "acct:alice@alice.test"}
        )
        assert by_handle.headers["location"] == "/@alice@alice.test"


async def test_visitor_bad_handles_get_clear_messages(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice = nodes["alice"]
        fleet.add("plain.test", fake_server([{"rel": "self", "href": "https://plain.test/u"}]))
        fleet.add("evil.test", fake_server([{"rel": SUBSCRIBE, "template": "javascript:{uri}"}]))
        page = await alice.client.get("/interact", params={"uri": alice.actor})
        token = csrf_from(page.text)
        cases = {
            "not a handle": "is not a handle",
            "": "Give your handle",
            "x" * 400 + "@bob.test": "longer than 320",
            "carol@bob.test": "bob.test knows no account called carol",
            "alice@alice.test": "is on this server",
            "someone@gone.test": "Could not ask gone.test",
            "someone@plain.test": "plain.test does not say where to follow",
            "someone@evil.test": "is not a web address",
        }
        for handle, message in cases.items():
            answer = await alice.client.post(
                "/interact", data={"csrf": token, "uri": alice.actor, "handle": handle}
            )
            assert answer.status_code == 400, handle
            assert message in html.unescape(answer.text), handle
            assert 'name="handle"' in answer.text  # the form again, to correct it
        forged = await alice.client.post(
            "/interact", data={"csrf": "forged", "uri": alice.actor, "handle": "bob@bob.test"}
        )
        assert forged.status_code == 403


async def test_authorize_interaction_refuses_bad_addresses(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        bob = nodes["bob"]
        gate = await bob.client.get("/authorize_interaction", params={"uri": nodes["alice"].actor})
        assert gate.status_code == 303
        assert gate.headers["location"] == (
            "/login?next="
            + quote(f"/authorize_interaction?uri={quote(nodes['alice'].actor, safe='')}", safe="")
        )
        await log_in_after(bob, gate)
        empty = await bob.client.get("/authorize_interaction")
        assert empty.status_code == 200 and 'name="uri"' in empty.text
        asked = len(fleet.requests)
        cases = {
            "not a url": "is not the address of an account or a post",
            "https://bob.test/users/bob": "on this server",
            "bob@bob.test": "your own account",
            "https://10.0.0.1/users/x": "Could not fetch",
            "ftp://alice.test/x": "is not the address",
            "https://alice.test/" + "x" * 3000: "longer than 2048",
        }
        for uri, message in cases.items():
            answer = await bob.client.get("/authorize_interaction", params={"uri": uri})
            assert answer.status_code == 400, uri
            assert message in html.unescape(answer.text), uri
        assert len(fleet.requests) == asked  # none of these was fetched
        missing = await bob.client.get(
            "/authorize_interaction", params={"uri": "https://alice.test/users/nobody"}
        )
        assert missing.status_code == 400 and "Could not fetch" in missing.text
