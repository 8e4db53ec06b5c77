"""Pinned posts: pinning and its refusals, the `featured` collection, pinned posts first on
profiles, ours and remote ones (read from their `featured` by the profile's backfill)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from solo.actions import ActionError, pins, statuses
from solo.activitystreams import PUBLIC
from solo.federation import backfill
from solo.store import pins as pin_store
from solo.store import statuses as status_store
from tests.fleet import fleet_of
from tests.ingress_helpers import AS_CONTEXT, FakeServer, actor_row, note, status_of
from tests.test_login import login
from tests.test_web_pages import FRAGMENT, cards, federation_of, send, token

AS_JSON = {"Accept": "application/activity+json"}
FEATURED = "/users/alice/collections/featured"


@pytest.fixture
async def user(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


async def test_pin_and_unpin_by_the_buttons(user: httpx.AsyncClient, app: Starlette) -> None:
    post = await statuses.post(federation_of(app), "Pin me")
    back = f"/@alice/{post.id}"
    assert f'action="/statuses/{post.id}/pin"' in (await user.get(back)).text
    response = await send(user, f"/statuses/{post.id}/pin", back=back)
    assert response.status_code == 303 and response.headers["location"] == back
    assert 'aria-pressed="true">Unpin from profile' in (await user.get(back)).text
    assert (await send(user, f"/statuses/{post.id}/pin", back=back)).status_code == 303
    assert await pin_store.pinned_ids(federation_of(app).db, None) == [post.id]
    # In place, as the other buttons: the redrawn card comes back.
    fields = {"csrf": await token(user), "back": "/", "entry": str(post.id)}
    response = await user.post(f"/statuses/{post.id}/unpin", data=fields, headers=FRAGMENT)
    assert response.status_code == 200
    assert 'aria-pressed="false">Pin on profile' in response.text
    assert await pin_store.pinned_ids(federation_of(app).db, None) == []
    # Without the CSRF token nothing happens.
    refused = await user.post(f"/statuses/{post.id}/pin", data={"back": back})
    assert refused.status_code in (400, 403)
    assert await pin_store.pinned_ids(federation_of(app).db, None) == []


async def test_refusals_and_the_limit(app: Starlette) -> None:
    federation = federation_of(app)
    private = await statuses.post(federation, "Followers only", visibility="private")
    with pytest.raises(ActionError, match="public and unlisted"):
        await pins.pin(federation, private.id)
    posts = [await statuses.post(federation, f"post {n}") for n in range(6)]
    for post in posts[:5]:
        await pins.pin(federation, post.id)
    await pins.pin(federation, posts[0].id)  # already pinned: fine, even at the limit
    with pytest.raises(ActionError, match="At most 5 posts"):
        await pins.pin(federation, posts[5].id)
    assert len(await pin_store.pinned_ids(federation.db, None)) == 5
    await pins.unpin(federation, posts[0].id)
    await pins.unpin(federation, posts[0].id)  # not pinned: fine
    await pins.pin(federation, posts[5].id)
    await statuses.delete(federation, posts[5].id)
    assert posts[5].id not in await pin_store.pinned_ids(federation.db, None)
    with pytest.raises(ActionError, match="no longer exists"):
        await pins.pin(federation, 12345)


async def test_featured_serves_the_pinned_notes(client: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    older = await statuses.post(federation, "Older pin")
    newer = await statuses.post(federation, "Newer pin", visibility="unlisted")
    await statuses.post(federation, "Not pinned")
    await pins.pin(federation, newer.id)
    await pins.pin(federation, older.id)
    response = await client.get(FEATURED, headers=AS_JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/activity+json")
    featured = response.json()
    assert featured["type"] == "OrderedCollection"
    assert featured["id"] == f"https://solo.test{FEATURED}"
    assert featured["totalItems"] == 2
    items = featured["orderedItems"]
    assert [item["id"] for item in items] == [older.ap_id, newer.ap_id]  # newest pin first
    assert all(item["type"] == "Note" and "@context" not in item for item in items)
    assert "Older pin" in items[0]["content"]
    assert items[1]["to"] == ["https://solo.test/users/alice/followers"]


async def test_profile_shows_pinned_posts_first(
    user: httpx.AsyncClient, app: Starlette, client: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    pinned = await statuses.post(federation, "Pinned one")
    newest = await statuses.post(federation, "Newest")
    await pins.pin(federation, pinned.id)
    page = (await user.get("/@alice")).text
    assert cards(page) == [str(pinned.id), str(newest.id)]  # each card once
    assert page.index("Pinned</p>") < page.index("Pinned one") < page.index("Newest")


async def test_bob_sees_alices_pinned_post(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        pinned = await statuses.post(alice.federation, "Read this first")
        for n in range(3):
            await statuses.post(alice.federation, f"later {n}")
        await pins.pin(alice.federation, pinned.id)
        await login(bob.client, username="bob")
        page = (await bob.client.get("/@alice@alice.test")).text
        stored = await status_of(bob, pinned.ap_id)
        assert stored is not None
        assert cards(page)[0] == str(stored.id)
        assert page.index("Pinned</p>") < page.index("Read this first") < page.index("later 2")
        assert len(cards(page)) == 4


async def test_remote_featured_is_checked_and_bounded(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        other = FakeServer(fleet, "https://dave.example")
        featured = "https://carol.example/users/carol/featured"
        carol = server.actor("https://carol.example/users/carol", featured=featured)
        dave = other.actor("https://dave.example/users/dave")
        good = [note(carol) for _ in range(6)]
        hidden = note(carol, to=[carol.followers], cc=[])
        foreign = note(dave, to=[PUBLIC])  # on another host: not carol's to pin
        items = [hidden, foreign, *good]
        collection = {"id": featured, "type": "OrderedCollection", "orderedItems": items}
        server.serve({"@context": AS_CONTEXT, **collection})
        await backfill.profile(alice.federation, carol.actor, wait=10)
        carol_id = await actor_row(alice, carol.actor)
        shown = await pin_store.pinned_ids(alice.federation.db, carol_id)
        expected = [await status_of(alice, post["id"]) for post in good[:3]]
        assert shown == [s.id for s in expected if s is not None]
        assert await status_of(alice, hidden["id"]) is None
        assert await status_of(alice, foreign["id"]) is None
        assert await status_store.get_status_by_ap_id(alice.federation.db, good[5]["id"]) is None
