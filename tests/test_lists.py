"""Lists and followed hashtags across three instances: alice follows bob and carol, makes a
list of bob, reads it through the API and the web (replies policy, exclusive lists, the list
stream's source), and follows a hashtag whose public posts then enter her home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from solo.actions import lists as list_actions
from solo.events import Event
from solo.store import actors as actor_store
from tests.fleet import Node, eventually, fleet_of
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_web_federation import copy_of, follow_state
from tests.test_web_pages import send


async def _follow(a: Node, b: Node) -> None:
    await send(a.client, "/follow", account=f"@{b.settings.username}@{b.settings.domain}")

    async def accepted() -> bool:
        return await follow_state(a, "out", b) == "accepted"

    await eventually(accepted, what=f"{a.settings.domain} to follow {b.settings.domain}")


async def _actor_id(node: Node, other: Node) -> int:
    actor = await actor_store.get_actor(node.federation.db, other.actor)
    assert actor is not None and actor.id is not None
    return actor.id


async def _texts(client: httpx.AsyncClient, path: str, auth: dict[str, str]) -> list[str]:
    answer = await client.get(path, headers=auth)
    assert answer.status_code == 200, answer.text
    shown: list[dict[str, Any]] = answer.json()
    return [(s["reblog"] or s)["content"] for s in shown]


def _has(texts: list[str], text: str) -> bool:
    return any(text in t for t in texts)


async def test_lists_through_the_api_and_the_web(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        await _follow(alice, bob)
        await _follow(alice, carol)
        await _follow(bob, carol)
        auth = await user_token(alice.client)
        api = alice.client
        bob_id, carol_id = str(await _actor_id(alice, bob)), str(await _actor_id(alice, carol))

        made = await api.post("/api/v1/lists", data={"title": "Friends"}, headers=auth)
        assert made.status_code == 200, made.text
        friends = made.json()
        assert friends["title"] == "Friends" and friends["replies_policy"] == "list"
        assert friends["exclusive"] is False
        list_path = f"/api/v1/lists/{friends['id']}"
        added = await api.post(
            f"{list_path}/accounts", data={"account_ids[]": [bob_id]}, headers=auth
        )
        assert added.status_code == 200, added.text
        members = (await api.get(f"{list_path}/accounts", headers=auth)).json()
        assert [m["acct"] for m in members] == ["bob@bob.test"]
        on = (await api.get(f"/api/v1/accounts/{bob_id}/lists", headers=auth)).json()
        assert [found["id"] for found in on] == [friends["id"]]
        assert (await api.get(f"/api/v1/accounts/{carol_id}/lists", headers=auth)).json() == []

        # bob's posts are in the list, carol's are not; both stay in home.
        published: list[Event] = []
        queue = alice.federation.events.subscribe()
        await send(bob.client, "/statuses", text="Bob on the list", visibility="public")
        await send(carol.client, "/statuses", text="Carol off the list", visibility="public")
        carol_post = await copy_of(alice, "Carol off the list")
        await copy_of(alice, "Bob on the list")
        while not queue.empty():
            published.append(queue.get_nowait())
        alice.federation.events.unsubscribe(queue)
        assert any(e.stream == f"list:{friends['id']}" for e in published)
        timeline = f"/api/v1/timelines/list/{friends['id']}"
        texts = await _texts(api, timeline, auth)
        assert _has(texts, "Bob on the list") and not _has(texts, "Carol off the list")
        home = await _texts(api, "/api/v1/timelines/home", auth)
        assert _has(home, "Bob on the list") and _has(home, "Carol off the list")

        # Replies: bob answers carol. `list` leaves it out (carol is no member), `followed`
        # shows it (alice follows carol), `none` leaves it out again.
        carol_at_bob = await copy_of(bob, "Carol off the list")
        replied = await send(
            bob.client,
            "/statuses",
            text="Bob answers carol",
            visibility="public",
            in_reply_to=str(carol_at_bob),
        )
        assert replied.status_code == 303, replied.text
        await copy_of(alice, "Bob answers carol")
        assert carol_post
        for policy, shown in (("list", False), ("followed", True), ("none", False)):
            changed = await api.put(list_path, data={"replies_policy": policy}, headers=auth)
            assert changed.json()["replies_policy"] == policy
            texts = await _texts(api, timeline, auth)
            assert _has(texts, "Bob answers carol") is shown, policy

        # Exclusive: bob's posts leave home, and come back when it is not.
        changed = await api.put(list_path, data={"exclusive": "true"}, headers=auth)
        assert changed.json()["exclusive"] is True
        home = await _texts(api, "/api/v1/timelines/home", auth)
        assert not _has(home, "Bob on the list") and _has(home, "Carol off the list")
        page = await alice.client.get("/")
        assert "Bob on the list" not in page.text and "Carol off the list" in page.text
        await api.put(list_path, data={"exclusive": "false"}, headers=auth)
        assert _has(await _texts(api, "/api/v1/timelines/home", auth), "Bob on the list")

        # Refusals: someone alice does not follow, an unknown account, an unknown list.
        await send(alice.client, "/unfollow", account=carol.actor)
        refused = await api.post(
            f"{list_path}/accounts", data={"account_ids[]": [carol_id]}, headers=auth
        )
        assert refused.status_code == 422
        assert "only add accounts you follow" in refused.json()["error"]
        unknown = await api.post(
            f"{list_path}/accounts", data={"account_ids[]": ["999999"]}, headers=auth
        )
        assert unknown.status_code == 404
        assert (await api.get("/api/v1/lists/424242", headers=auth)).status_code == 404
        blank = await api.post("/api/v1/lists", data={"title": "  "}, headers=auth)
        assert blank.status_code == 422 and "title" in blank.json()["error"]

        # The web: the Lists page, the list's timeline, its edit page.
        lists_page = await alice.client.get("/lists")
        assert "Friends" in lists_page.text
        web_timeline = await alice.client.get(f"/lists/{friends['id']}")
        assert "Bob on the list" in web_timeline.text
        assert "Carol off the list" not in web_timeline.text
        edit = await alice.client.get(f"/lists/{friends['id']}/edit")
        assert "bob@bob.test" in edit.text
        # Removing from the list page, adding back from bob's profile menu.
        removed = await send(
            alice.client, f"/lists/{friends['id']}/remove", account=bob.actor, back="/lists"
        )
        assert removed.status_code == 303
        assert (await api.get(f"{list_path}/accounts", headers=auth)).json() == []
        profile = await alice.client.get("/@bob@bob.test")
        assert "Add to list" in profile.text
        readded = await send(
            alice.client, "/lists/add", list=friends["id"], account=bob.actor, back="/@bob@bob.test"
        )
        assert readded.status_code == 303
        profile = await alice.client.get("/@bob@bob.test")
        assert f'href="/lists/{friends["id"]}"' in profile.text

        # Unfollowing takes bob off every list, as on Mastodon.
        await send(alice.client, "/unfollow", account=bob.actor)
        assert (await api.get(f"{list_path}/accounts", headers=auth)).json() == []

        # Export and import helpers for the lists CSV; deleting the list.
        assert await list_actions.export_rows(alice.federation.db) == []
        outcome = await list_actions.import_members(alice.federation, "Imported", "bob@bob.test")
        assert outcome == "followed and added"
        again = await list_actions.import_members(alice.federation, "Imported", "bob@bob.test")
        assert again == "already there"
        assert await list_actions.export_rows(alice.federation.db) == [("Imported", "bob@bob.test")]
        deleted = await api.delete(list_path, headers=auth)
        assert deleted.status_code == 200
        titles = [found["title"] for found in (await api.get("/api/v1/lists", headers=auth)).json()]
        assert titles == ["Imported"]


async def test_a_followed_hashtag_brings_public_posts_into_home(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "carol") as (_, nodes):
        alice, carol = nodes["alice"], nodes["carol"]
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        await _follow(alice, carol)
        auth = await user_token(alice.client)
        api = alice.client
        await send(carol.client, "/statuses", text="About #SoloDev today", visibility="public")
        await send(carol.client, "/statuses", text="Untagged chatter", visibility="public")
        await copy_of(alice, "About")
        await copy_of(alice, "Untagged chatter")
        # alice stops following carol: the posts stay stored, but leave home.
        await send(alice.client, "/unfollow", account=carol.actor)
        home = await _texts(api, "/api/v1/timelines/home", auth)
        assert not _has(home, "SoloDev")

        tag = (await api.get("/api/v1/tags/SoloDev", headers=auth)).json()
        assert tag["name"] == "solodev" and tag["following"] is False
        followed = await api.post("/api/v1/tags/solodev/follow", headers=auth)
        assert followed.status_code == 200 and followed.json()["following"] is True
        home = await _texts(api, "/api/v1/timelines/home", auth)
        assert _has(home, "SoloDev") and not _has(home, "Untagged chatter")
        assert "SoloDev" in (await alice.client.get("/")).text
        listed = (await api.get("/api/v1/followed_tags", headers=auth)).json()
        assert [t["name"] for t in listed] == ["solodev"]
        assert (await api.get("/api/v1/tags/solodev", headers=auth)).json()["following"] is True

        # The web tag page offers Unfollow; unfollowing there takes the posts out of home.
        page = await alice.client.get("/tags/solodev")
        assert "Unfollow #solodev" in page.text
        await send(alice.client, "/tags/solodev/unfollow", back="/tags/solodev")
        assert not _has(await _texts(api, "/api/v1/timelines/home", auth), "SoloDev")
        assert "Follow #solodev" in (await alice.client.get("/tags/solodev")).text
        assert (await api.get("/api/v1/followed_tags", headers=auth)).json() == []
        bad = await api.post("/api/v1/tags/no%20tag/follow", headers=auth)
        assert bad.status_code == 404


async def test_featured_hashtags_on_the_profile_the_api_and_the_actor(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        assert (await login(alice.client)).status_code == 303
        auth = await user_token(alice.client)
        api = alice.client
        await send(alice.client, "/statuses", text="Working on #SoloDev", visibility="public")
        suggested = (await api.get("/api/v1/featured_tags/suggestions", headers=auth)).json()
        assert [t["name"] for t in suggested] == ["solodev"]
        made = await api.post("/api/v1/featured_tags", data={"name": "#SoloDev"}, headers=auth)
        assert made.status_code == 200, made.text
        featured = made.json()
        assert featured["name"] == "SoloDev" and featured["statuses_count"] == "1"
        assert featured["last_status_at"] is not None
        mine = (await api.get("/api/v1/accounts/verify_credentials", headers=auth)).json()
        of = (await api.get(f"/api/v1/accounts/{mine['id']}/featured_tags")).json()
        assert [t["id"] for t in of] == [featured["id"]]
        actor = (
            await api.get("/users/alice", headers={"Accept": "application/activity+json"})
        ).json()
        assert actor["featuredTags"] == "https://alice.test/users/alice/collections/tags"
        collection = (
            await api.get(actor["featuredTags"], headers={"Accept": "application/activity+json"})
        ).json()
        assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
        assert collection["orderedItems"] == [
            {"type": "Hashtag", "href": "https://alice.test/tags/solodev", "name": "#SoloDev"}
        ]
        assert "#SoloDev" in (await alice.client.get("/@alice")).text
        bad = await api.post("/api/v1/featured_tags", data={"name": "not a tag"}, headers=auth)
        assert bad.status_code == 422
        gone = await api.delete(f"/api/v1/featured_tags/{featured['id']}", headers=auth)
        assert gone.status_code == 200
        assert (await api.get("/api/v1/featured_tags", headers=auth)).json() == []
        again = await api.delete(f"/api/v1/featured_tags/{featured['id']}", headers=auth)
        assert again.status_code == 404
