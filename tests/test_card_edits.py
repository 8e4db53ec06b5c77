"""Link cards follow edits: an edit (ours through the web or the API, or a remote Update) drops
the card of the old text and finds the card of the new first link, or none when there is no
link left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.federation import cards
from solo.store import cards as card_store
from solo.store import statuses as status_store
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import FakeServer, activity, create, deliver, follow_directly, note
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_web_pages import send

FIRST = "https://site.test/first"
SECOND = "https://site.test/second"


def site() -> Starlette:
    async def page(request: Request) -> Response:
        name = request.path_params["name"]
        html = f"<html><head><title>The {name} page</title></head><body></body></html>"
        return Response(html, media_type="text/html; charset=utf-8")

    return Starlette(routes=[Route("/{name}", page)])


@asynccontextmanager
async def solo_and_site(tmp_path: Path, template_root: Path) -> AsyncIterator[Node]:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        fleet.add("site.test", site())
        yield nodes["alice"]


async def card_title(node: Node, status_id: int) -> str | None:
    found = (await card_store.cards_of(node.federation.db, [status_id])).get(status_id)
    return None if found is None else found.title


async def settles_on(node: Node, status_id: int, title: str | None) -> None:
    """The status's card becomes `title` (None: no card), once the card tasks are done."""

    async def done() -> bool:
        return await card_title(node, status_id) == title

    await eventually(done, what=f"the card of {status_id} to be {title!r}")
    # No task still under way brings another card back.
    await cards.shutdown(node.federation)
    assert await card_title(node, status_id) == title


async def test_an_api_edit_changes_and_drops_the_card(tmp_path: Path, template_root: Path) -> None:
    async with solo_and_site(tmp_path, template_root) as alice:
        auth = await user_token(alice.client)
        response = await alice.client.post(
            "/api/v1/statuses", json={"status": f"Read {FIRST}"}, headers=auth
        )
        status_id = int(response.json()["id"])
        await settles_on(alice, status_id, "The first page")

        edit = await alice.client.put(
            f"/api/v1/statuses/{status_id}", json={"status": f"No, read {SECOND}"}, headers=auth
        )
        assert edit.status_code == 200, edit.text
        await settles_on(alice, status_id, "The second page")
        shown = await alice.client.get(f"/api/v1/statuses/{status_id}", headers=auth)
        assert shown.json()["card"]["title"] == "The second page"

        edit = await alice.client.put(
            f"/api/v1/statuses/{status_id}", json={"status": "Never mind."}, headers=auth
        )
        assert edit.status_code == 200, edit.text
        await settles_on(alice, status_id, None)
        shown = await alice.client.get(f"/api/v1/statuses/{status_id}", headers=auth)
        assert shown.json()["card"] is None


async def test_a_web_edit_changes_and_drops_the_card(tmp_path: Path, template_root: Path) -> None:
    async with solo_and_site(tmp_path, template_root) as alice:
        assert (await login(alice.client)).status_code == 303
        await send(alice.client, "/statuses", text=f"Read {FIRST}", back="/")
        status_id = int(
            await alice.federation.db.fetchval("SELECT id FROM statuses WHERE actor_id IS NULL")
        )
        await settles_on(alice, status_id, "The first page")

        await send(alice.client, f"/statuses/{status_id}/edit", text=f"Read {SECOND}", back="/")
        await settles_on(alice, status_id, "The second page")
        page = await alice.client.get("/")
        assert "The second page" in page.text and "The first page" not in page.text

        await send(alice.client, f"/statuses/{status_id}/edit", text="No link.", back="/")
        await settles_on(alice, status_id, None)
        assert "The second page" not in (await alice.client.get("/")).text


async def test_a_remote_update_changes_and_drops_the_card(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        fleet.add("site.test", site())
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        await follow_directly(alice, carol.actor)
        original = note(carol, content=f'<p>See <a href="{FIRST}">this</a></p>')
        await deliver(alice, carol, create(carol, original))
        stored = await status_store.get_status_by_ap_id(alice.federation.db, original["id"])
        assert stored is not None
        await settles_on(alice, stored.id, "The first page")

        async def update(content: str, when: str) -> None:
            edited = {**original, "content": content, "updated": when}
            await deliver(alice, carol, activity("Update", carol, edited))

        await update(f'<p>See <a href="{SECOND}">that</a></p>', "2024-01-01T00:00:00Z")
        await settles_on(alice, stored.id, "The second page")
        await update("<p>Nothing to see.</p>", "2024-01-02T00:00:00Z")
        await settles_on(alice, stored.id, None)


async def test_a_card_fetched_before_an_edit_does_not_come_back(
    tmp_path: Path, template_root: Path
) -> None:
    """The card task of the old text may finish after the edit: it must not attach the old
    card to the new text."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        asked = asyncio.Event()
        release = asyncio.Event()

        async def slow(request: Request) -> Response:
            asked.set()
            await release.wait()
            return Response("<title>Slow</title>", media_type="text/html")

        fleet.add("slow.test", Starlette(routes=[Route("/page", slow)]))
        auth = await user_token(alice.client)
        response = await alice.client.post(
            "/api/v1/statuses", json={"status": "Read https://slow.test/page"}, headers=auth
        )
        status_id = int(response.json()["id"])
        async with asyncio.timeout(10):
            await asked.wait()  # the card task is reading the old link's page
        edit = await alice.client.put(
            f"/api/v1/statuses/{status_id}", json={"status": "No link after all."}, headers=auth
        )
        assert edit.status_code == 200
        release.set()

        async def fetched() -> bool:
            return await card_store.get(alice.federation.db, "https://slow.test/page") is not None

        await eventually(fetched, what="the slow page's card to be stored")
        await settles_on(alice, status_id, None)
