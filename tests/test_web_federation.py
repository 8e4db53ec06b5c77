"""The pages of two instances that federate: follows both ways, posts both ways, a reply, a
boost, a favourite and the notifications they bring, all done through the web forms; remote
profiles, sanitized remote HTML, unreachable servers, and a profile change that federates."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from solo.store import actors as actor_store
from solo.store import follows, notifications
from tests.fleet import Fleet, Node, eventually, fleet_of
from tests.ingress_helpers import FakeServer, create, deliver, follow_directly, note
from tests.test_login import login
from tests.test_web_pages import FRAGMENT, cards, send


async def follow_state(node: Node, direction: str, other: Node) -> str | None:
    actor = await actor_store.get_actor(node.federation.db, other.actor)
    if actor is None or actor.id is None:
        return None
    found = await follows.get_follow(node.federation.db, direction, actor.id)  # type: ignore[arg-type]
    return None if found is None else found.state


async def copy_of(node: Node, text: str) -> int:
    """The row id of the post with `text` at `node`, once it has arrived."""
    found: list[int] = []

    async def arrived() -> bool:
        row = await node.federation.db.fetchval(
            "SELECT id FROM statuses WHERE content_html LIKE ? AND reblog_of_id IS NULL",
            (f"%{text}%",),
        )
        if row is not None:
            found.append(int(row))
        return bool(found)

    await eventually(arrived, what=f"{text!r} to reach {node.settings.domain}")
    return found[0]


async def kinds_of(node: Node) -> list[str]:
    return sorted(n.type for n in await notifications.latest(node.federation.db))


@asynccontextmanager
async def populated(tmp_path: Path, template_root: Path) -> AsyncIterator[tuple[Fleet, Node, Node]]:
    """alice and bob follow each other, post, and bob answers, boosts and favourites alice."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        for node in (alice, bob):
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        response = await send(bob.client, "/follow", account="@alice@alice.test")
        assert response.status_code == 200
        assert "Follow request sent to @alice@alice.test." in response.text
        response = await send(alice.client, "/follow", account="bob@bob.test", back="/following")
        assert response.status_code == 303 and response.headers["location"] == "/following"

        async def mutual() -> bool:
            return (
                await follow_state(alice, "out", bob) == "accepted"
                and await follow_state(bob, "out", alice) == "accepted"
            )

        await eventually(mutual, what="alice and bob to follow each other")
        await send(alice.client, "/statuses", text="Hello from alice #solo", back="/")
        await send(bob.client, "/statuses", text="Hello from bob", back="/")
        alice_post = await copy_of(bob, "Hello from alice")
        await copy_of(alice, "Hello from bob")
        await send(bob.client, "/statuses", text="Welcome, alice!", in_reply_to=str(alice_post))
        await send(bob.client, f"/statuses/{alice_post}/boost", back="/")
        await send(bob.client, f"/statuses/{alice_post}/favourite", back="/")

        async def notified() -> bool:
            return await kinds_of(alice) == ["favourite", "follow", "mention", "reblog"]

        await eventually(notified, what="alice's notifications")
        yield fleet, alice, bob


async def test_every_page_of_a_populated_instance(tmp_path: Path, template_root: Path) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        home = await web.get("/")
        assert "Hello from bob" in home.text and "Hello from alice" in home.text
        assert "Welcome, alice!" in home.text  # a reply to us by someone we follow
        assert "@bob@bob.test" in home.text
        assert 'class="notification-count" aria-label="4 unread">4</span>' in home.text
        own_post = await alice.federation.db.fetchval(
            "SELECT id FROM statuses WHERE actor_id IS NULL AND reblog_of_id IS NULL"
        )
        card = home.text[home.text.index(f'data-id="{own_post}"') :]
        card = card[: card.index("</article>")]
        assert '<span class="label">Reply</span> <span class="count">1</span>' in card
        assert '<span class="label">Boost</span> <span class="count">1</span>' in card
        assert '<span class="label">Favourite</span> <span class="count">1</span>' in card

        page = await web.get("/notifications")
        for text in ("followed you", "mentioned you", "boosted your post", "favourited your post"):
            assert text in page.text
        assert page.text.count('class="notification ') == 4
        assert "Welcome, alice!" in page.text
        assert 'class="notification-count hidden"' in page.text

        assert "Hello from alice" in (await web.get("/local")).text
        assert "Hello from bob" not in (await web.get("/local")).text
        federated = await web.get("/federated")
        assert "Hello from bob" in federated.text and "Hello from alice" in federated.text
        assert "Hello from alice" in (await web.get("/tags/solo")).text

        thread = await web.get(f"/@alice/{own_post}")
        assert "Welcome, alice!" in thread.text
        assert re.search(r'<article class="[^"]*\bdepth-1\b', thread.text)
        assert "></textarea>" in thread.text  # no mention of ourselves in the reply box

        profile = await web.get("/@alice")
        assert "<strong>1</strong> post" in profile.text
        assert "<strong>1</strong> follower" in profile.text
        assert "<strong>1</strong> following" in profile.text

        followers = await web.get("/followers")
        assert "@bob@bob.test" in followers.text and "Remove follower" in followers.text
        assert "Follows you" in followers.text
        following = await web.get("/following")
        assert "@bob@bob.test" in following.text and "Unfollow" in following.text

        remote = await web.get("/@bob@bob.test")
        assert remote.status_code == 200
        # bob's reply to alice is under the profile's "Posts and replies" tab, not "Posts".
        assert "Hello from bob" in remote.text and "Welcome, alice!" not in remote.text
        with_replies = (await web.get("/@bob@bob.test/with_replies")).text
        assert "Hello from bob" in with_replies and "Welcome, alice!" in with_replies
        assert "Follows you" in remote.text and ">Unfollow</button>" in remote.text
        assert "known here" in remote.text
        assert (await web.get("/@BOB@bob.test")).headers["location"] == "/@bob@bob.test"
        moved = await web.get("/@BOB@bob.test/media")
        assert moved.headers["location"] == "/@bob@bob.test/media"
        lookup = await web.get("/remote?account=bob%40bob.test")
        assert lookup.headers["location"] == "/@bob@bob.test"

        bob_post = await alice.federation.db.fetchval(
            "SELECT id FROM statuses WHERE content_html LIKE '%Hello from bob%'"
        )
        remote_thread = await web.get(f"/@bob@bob.test/{bob_post}")
        assert remote_thread.status_code == 200
        assert ">@bob@bob.test </textarea>" in remote_thread.text  # the reply box mentions bob
        wrong = await web.get(f"/@alice/{bob_post}")
        assert wrong.headers["location"] == f"/@bob@bob.test/{bob_post}"

        reply = await web.get(f"/compose?in_reply_to={bob_post}")
        assert "Reply to @bob@bob.test" in reply.text and "Hello from bob" in reply.text
        assert ">@bob@bob.test </textarea>" in reply.text
        marked = await send(web, f"/statuses/{bob_post}/bookmark", back="/")
        assert marked.status_code == 303
        bookmarks = await web.get("/bookmarks")
        assert cards(bookmarks.text) == [str(bob_post)] and "@bob@bob.test" in bookmarks.text
        settings = await web.get("/settings")
        assert 'name="display_name" maxlength="30" value="alice"' in settings.text

        search = await web.get("/search?q=%40bob%40bob.test")
        assert "@bob@bob.test" in search.text and "Unfollow" in search.text
        by_url = await web.get(f"/search?q={bob.actor}")
        assert "@bob@bob.test" in by_url.text

        # bob sees alice's side of it as a remote account.
        seen = await bob.client.get("/@alice@alice.test")
        assert "Hello from alice" in seen.text and "Follows you" in seen.text


async def test_search_fetches_a_post_by_its_address(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await login(alice.client)
        await login(bob.client, username="bob")
        await send(bob.client, "/statuses", text="Find me by my address")
        url = await bob.federation.db.fetchval("SELECT ap_id FROM statuses")
        response = await alice.client.get("/search", params={"q": url})
        assert response.status_code == 200
        assert "Find me by my address" in response.text
        assert len(cards(response.text)) == 1
        again = await alice.client.get("/search", params={"q": url})
        assert cards(again.text) == cards(response.text)  # stored once, found after


async def test_remote_html_is_shown_sanitized(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        await login(alice.client)
        server = FakeServer(fleet, "https://evil.test")
        mallory = server.actor(
            "https://evil.test/users/mallory",
            name="Mallory <b>bold</b>",
            summary='<p>Bio</p><script>alert("bio")</script>',
            attachment=[
                {"type": "PropertyValue", "name": "Site", "value": '<a href="javascript:x()">x</a>'}
            ],
        )
        await follow_directly(alice, mallory.actor)
        hostile = (
            '<p>Safe words</p><script>alert("x")</script>'
            '<img src="https://evil.test/x.png" onerror="alert(1)">'
            '<a href="javascript:alert(2)">link</a>'
            '<p style="color:red" onclick="alert(3)">styled</p>'
        )
        outcome = await deliver(alice, mallory, create(mallory, note(mallory, content=hostile)))
        assert outcome.applied, outcome.error
        for path in ("/", "/federated", "/@mallory@evil.test"):
            page = await alice.client.get(path)
            assert page.status_code == 200
            assert "Safe words" in page.text and "styled" in page.text
            body = page.text[page.text.index("<main") :]
            for bad in ("<script", "onerror", "onclick", "javascript:", "<img", "style="):
                assert bad not in body, (path, bad)
        profile = await alice.client.get("/@mallory@evil.test")
        assert "Bio" in profile.text and 'alert("bio")' not in profile.text
        assert "Mallory &lt;b&gt;bold&lt;/b&gt;" in profile.text


async def test_bad_input_is_answered_on_the_page(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice = nodes["alice"]
        await login(alice.client)
        response = await send(alice.client, "/follow", account="@nobody@nowhere.test")
        assert response.status_code == 400
        assert "Could not find @nobody@nowhere.test" in response.text
        assert "Your home timeline is empty" in response.text
        fleet.down.add("bob.test")
        response = await send(alice.client, "/follow", account="@bob@bob.test", back="/following")
        assert response.status_code == 303
        page = await alice.client.get(response.headers["location"])
        assert "Could not find @bob@bob.test" in page.text  # shown once, on the page
        assert "Could not find" not in (await alice.client.get("/following")).text
        response = await alice.client.get("/@bob@bob.test")
        assert response.status_code == 400
        assert "Could not find @bob@bob.test" in response.text
        fragment = await alice.client.post(
            "/follow",
            data={"csrf": _csrf(page.text), "account": "@bob@bob.test", "back": "/"},
            headers=FRAGMENT,
        )
        assert fragment.status_code == 400
        assert fragment.text.startswith('<p class="error" role="alert">Could not find')
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM follows") == 0
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM jobs") == 0


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_follow_buttons_act_in_place(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", locked=True) as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await login(alice.client)
        await login(bob.client, username="bob")
        page = await bob.client.get("/@alice@alice.test")
        assert "Approves followers by hand" in page.text
        fields = {"csrf": _csrf(page.text), "account": alice.actor, "back": "/@alice@alice.test"}
        response = await bob.client.post("/follow", data=fields, headers=FRAGMENT)
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div class="relationship"')
        assert "Follow request sent to @alice@alice.test." in response.text
        assert "Cancel follow request" in response.text

        async def requested() -> bool:
            return await follow_state(alice, "in", bob) == "pending"

        await eventually(requested, what="the request to reach alice")
        requests = await alice.client.get("/follow_requests")
        assert "@bob@bob.test" in requests.text and ">Approve</button>" in requests.text
        notified = await alice.client.get("/notifications")
        assert (
            "asked to follow you" in notified.text and "1 follow request waiting" in notified.text
        )
        fields = {"csrf": _csrf(requests.text), "account": bob.actor, "back": "/follow_requests"}
        response = await alice.client.post(
            "/follow_requests/approve", data=fields, headers=FRAGMENT
        )
        assert "@bob@bob.test now follows you." in response.text
        assert "Remove follower" in response.text

        async def accepted() -> bool:
            return await follow_state(bob, "out", alice) == "accepted"

        await eventually(accepted, what="bob to learn of the approval")
        assert (
            "No follow requests are waiting." in (await alice.client.get("/follow_requests")).text
        )

        response = await send(
            alice.client, "/followers/remove", account=bob.actor, back="/followers"
        )
        assert response.headers["location"] == "/followers"
        after = await alice.client.get("/followers")
        assert "@bob@bob.test no longer follows you." in after.text
        assert "Nobody follows you yet." in after.text

        async def removed() -> bool:
            return await follow_state(bob, "out", alice) is None

        await eventually(removed, what="bob to be removed")


async def test_a_profile_change_reaches_followers(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await login(alice.client)
        await login(bob.client, username="bob")
        await send(bob.client, "/follow", account="@alice@alice.test")

        async def followed() -> bool:
            return await follow_state(alice, "in", bob) == "accepted"

        await eventually(followed, what="bob to follow alice")
        delivered_before = len(fleet.requests)
        response = await send(
            alice.client,
            "/settings",
            display_name="Alice Liddell",
            bio="Down the #rabbit hole",
            field_name=["Home", "", "", ""],
            field_value=["Wonderland", "", "", ""],
        )
        assert response.status_code == 303
        settings = await alice.client.get("/settings")
        assert "on its way to your followers" in settings.text
        assert 'value="Alice Liddell"' in settings.text and 'value="Wonderland"' in settings.text
        profile = await alice.client.get("/@alice")
        assert "Alice Liddell" in profile.text and "rabbit" in profile.text
        assert "<dt>Home</dt><dd>Wonderland</dd>" in profile.text

        async def updated() -> bool:
            actor = await actor_store.get_actor(bob.federation.db, alice.actor)
            return actor is not None and actor.display_name == "Alice Liddell"

        await eventually(updated, what="bob's server to get alice's new name")
        actor = await actor_store.get_actor(bob.federation.db, alice.actor)
        assert actor is not None
        assert actor.fields == [{"name": "Home", "value": "Wonderland"}]
        assert "rabbit" in actor.summary_html
        assert len(fleet.requests) > delivered_before
        seen = await bob.client.get("/@alice@alice.test")
        assert "Alice Liddell" in seen.text and "Wonderland" in seen.text
        # Saving again without a change sends nothing.
        jobs = await alice.federation.db.fetchval("SELECT COUNT(*) FROM jobs")
        await send(
            alice.client,
            "/settings",
            display_name="Alice Liddell",
            bio="Down the #rabbit hole",
            field_name=["Home"],
            field_value=["Wonderland"],
        )
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM jobs") == jobs


async def test_settings_refusals_keep_what_was_typed(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        web: httpx.AsyncClient = alice.client
        await login(web)
        response = await send(web, "/settings", display_name="x" * 31, bio="My bio")
        assert response.status_code == 400
        assert "The display name takes at most 30 characters." in response.text
        assert "My bio</textarea>" in response.text
        response = await send(
            web,
            "/settings",
            display_name="Alice",
            field_name=["a", "b", "c", "d", "e"],
            field_value=["1", "2", "3", "4", "5"],
        )
        assert "A profile has at most 4 fields." in response.text
        response = await send(web, "/settings", field_name=["", "x"], field_value=["orphan", ""])
        assert "needs a label" in response.text
        assert await alice.federation.db.fetchval("SELECT display_name FROM account") == "alice"
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM jobs") == 0

        wrong = await send(
            web, "/settings/password", current="nope", new="brand new pass", repeat="brand new pass"
        )
        assert wrong.status_code == 400
        assert "The current password is not right." in wrong.text
        differ = await send(
            web,
            "/settings/password",
            current="correct horse battery",
            new="brand new pass",
            repeat="brand new pasS",
        )
        assert "differ" in differ.text
        short = await send(
            web, "/settings/password", current="correct horse battery", new="short", repeat="short"
        )
        assert "at least 8 characters" in short.text
        changed = await send(
            web,
            "/settings/password",
            current="correct horse battery",
            new="brand new pass",
            repeat="brand new pass",
        )
        assert changed.status_code == 303
        assert "Your password is changed." in (await web.get("/settings")).text  # still in
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=alice.app), base_url=alice.settings.base_url
        ) as other:
            assert (await login(other)).status_code == 401
            assert (await login(other, password="brand new pass")).status_code == 303
