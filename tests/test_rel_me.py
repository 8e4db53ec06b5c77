"""Profile fields with rel="me" links: verified in the background against a fake site, shown
as verified here only, the mark lost when the value changes, and links sent as Mastodon's HTML."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from solo.federation import verify_links
from solo.store.account import get_account
from tests.fleet import Node, eventually, fleet_of
from tests.test_login import login
from tests.test_web_pages import send

MARK = '<span class="verified"'


def site(pages: dict[str, str]) -> Starlette:
    """A personal website: each path answers its HTML."""

    async def page(request: Request) -> Response:
        body = pages.get(request.url.path)
        if body is None:
            return HTMLResponse("not here", status_code=404)
        return HTMLResponse(body)

    return Starlette(routes=[Route("/{path:path}", page)])


async def save_fields(node: Node, *values: str) -> httpx.Response:
    names = [f"Link {i}" for i in range(1, len(values) + 1)]
    response = await send(
        node.client, "/settings", display_name="Alice", bio="", field_name=names, field_value=values
    )
    assert response.status_code == 303
    return response


async def verified_values(node: Node) -> set[str]:
    account = await get_account(node.federation.db)
    assert account is not None
    return {field.value for field in account.fields if field.verified_at is not None}


async def test_a_page_linking_back_verifies_the_field(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        fleet.add(
            "site.test",
            site(
                {
                    "/": '<html><body><a rel="me nofollow" href="https://alice.test/@alice/">'
                    "me</a></body></html>",
                    "/head": '<html><head><link rel="Me" href="https://alice.test/users/alice">'
                    "</head></html>",
                    "/other": '<a rel="me" href="https://elsewhere.test/@alice">not us</a>'
                    '<a href="https://alice.test/@alice">no rel</a>',
                }
            ),
        )
        await login(alice.client)
        await save_fields(
            alice,
            "https://site.test/",
            "https://site.test/head",
            "https://site.test/other",
            "https://site.test/missing",
        )

        async def verified() -> bool:
            return len(await verified_values(alice)) == 2

        await eventually(verified, what="the links back to be verified")
        await verify_links.settled(alice.federation)
        assert await verified_values(alice) == {"https://site.test/", "https://site.test/head"}

        profile = (await alice.client.get("/@alice")).text
        assert (
            '<dd><a href="https://site.test/" rel="me nofollow noopener" target="_blank">'
            "https://site.test/</a> " + MARK
        ) in profile
        assert profile.count(MARK) == 2
        assert '<span class="visually-hidden">Verified' in profile
        visitor = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=alice.app), base_url=alice.settings.base_url
        )
        async with visitor:
            assert (await visitor.get("/@alice")).text.count(MARK) == 2
        settings = (await alice.client.get("/settings")).text
        assert settings.count(MARK) == 2

        # The actor carries the links, never a verification claim.
        actor = (
            await alice.client.get("/users/alice", headers={"Accept": "application/activity+json"})
        ).json()
        assert actor["attachment"][0] == {
            "type": "PropertyValue",
            "name": "Link 1",
            "value": '<a href="https://site.test/" rel="me nofollow noopener noreferrer"'
            ' target="_blank">https://site.test/</a>',
        }
        assert "verified_at" not in str(actor)

        # A changed value loses its mark; an unchanged one keeps it.
        await save_fields(alice, "https://site.test/", "https://site.test/other")
        await verify_links.settled(alice.federation)
        assert await verified_values(alice) == {"https://site.test/"}
        profile = (await alice.client.get("/@alice")).text
        assert profile.count(MARK) == 1


async def test_the_person_escapes_field_values(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        await login(alice.client)
        await save_fields(alice, 'https://site.test/?a=1&b="x"', "<b>plain</b> & text")
        await verify_links.settled(alice.federation)
        actor = (
            await alice.client.get("/users/alice", headers={"Accept": "application/activity+json"})
        ).json()
        values = [item["value"] for item in actor["attachment"]]
        assert values == [
            '<a href="https://site.test/?a=1&amp;b=&quot;x&quot;" rel="me nofollow noopener'
            ' noreferrer" target="_blank">https://site.test/?a=1&amp;b=&quot;x&quot;</a>',
            "&lt;b&gt;plain&lt;/b&gt; &amp; text",
        ]
        profile = (await alice.client.get("/@alice")).text
        assert "&lt;b&gt;plain&lt;/b&gt; &amp; text" in profile
        assert 'href="https://site.test/?a=1&amp;b=&#34;x&#34;"' in profile


async def test_a_private_address_is_never_fetched(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        await login(alice.client)
        before = len(fleet.requests)
        await save_fields(alice, "http://10.0.0.5/", "http://127.0.0.1:8080/")
        await verify_links.settled(alice.federation)
        assert not [r for r in fleet.requests[before:] if r.url.host in ("10.0.0.5", "127.0.0.1")]
        assert await verified_values(alice) == set()


async def test_a_private_address_without_test_transport(client: httpx.AsyncClient) -> None:
    await login(client)
    response = await send(
        client,
        "/settings",
        display_name="Alice",
        bio="",
        field_name=["Home"],
        field_value=["http://127.0.0.1:9/"],
    )
    assert response.status_code == 303
    profile = (await client.get("/@alice")).text
    assert 'href="http://127.0.0.1:9/"' in profile and MARK not in profile
