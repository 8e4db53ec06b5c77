"""Timelines, notifications and search through the client API: paging from memory and from
SQLite, filters, the Notification entity, and a round trip between two instances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from solo.actions import interactions as interaction_actions
from solo.actions import statuses as status_actions
from solo.store import notifications as notification_store
from tests.fleet import Node, eventually, fleet_of
from tests.test_api_accounts import check_account
from tests.test_api_statuses import check_status, user_token
from tests.test_web_pages import federation_of
from tests.test_web_queries import Builder, populate

NOTIFICATION_KEYS = {"id", "type", "created_at", "account", "status", "group_key"}


async def ids_of(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [int(item["id"]) for item in response.json()]


async def test_home_pages_from_memory_and_sqlite(app: Starlette, client: httpx.AsyncClient) -> None:
    await populate(app)
    federation = federation_of(app)
    federation.feeds.sizes["home"] = 30  # memory keeps fewer than the timeline has
    await federation.feeds.rebuild_timeline("home")
    auth = await user_token(client)
    memory = federation.feeds.timelines["home"].ids()
    first = await client.get("/api/v1/timelines/home?limit=40", headers=auth)
    entities = first.json()
    for status in entities:
        check_status(status)
    shown = await ids_of(first)
    assert shown[:30] == memory  # the part memory keeps, then SQLite's
    assert len(shown) == 40
    link = first.headers["link"]
    assert link.startswith("<https://solo.test/api/v1/timelines/home?limit=40&max_id=")
    assert f"max_id={shown[-1]}" in link.split(",")[0] and 'rel="prev"' in link
    older = await ids_of(
        await client.get(f"/api/v1/timelines/home?max_id={shown[19]}&limit=5", headers=auth)
    )
    assert older == shown[20:25]
    newest = await ids_of(
        await client.get(f"/api/v1/timelines/home?since_id={shown[10]}&limit=3", headers=auth)
    )
    assert newest == shown[:3]
    after = await ids_of(
        await client.get(f"/api/v1/timelines/home?min_id={shown[35]}&limit=3", headers=auth)
    )
    assert after == shown[32:35]
    empty = await client.get(f"/api/v1/timelines/home?min_id={shown[0]}", headers=auth)
    assert empty.json() == [] and "link" not in empty.headers
    assert (await client.get("/api/v1/timelines/home")).status_code == 401
    no_read = await user_token(client, scope="write")
    assert (await client.get("/api/v1/timelines/home", headers=no_read)).status_code == 403
    bad = await client.get("/api/v1/timelines/home?since_id=abc", headers=auth)
    assert bad.status_code == 422 and "since_id" in bad.json()["error"]


async def test_public_and_tag_timelines(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    theirs = await build.add(remote=True, raw='{"tag": [{"type": "Hashtag", "name": "#Cats"}]}')
    mine = await build.add(remote=False, raw='{"tag": [{"type": "Hashtag", "name": "#cats"}]}')
    other = await build.add(remote=False, raw='{"tag": [{"type": "Hashtag", "name": "#dogs"}]}')
    async with build.federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO media (status_id, local, kind, media_type, created_at)"
            " VALUES (?, 1, 'image', 'image/png', 0)",
            (mine,),
        )
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    everything = await ids_of(await client.get("/api/v1/timelines/public"))
    assert everything == [other, mine, theirs]
    assert await ids_of(await client.get("/api/v1/timelines/public?local=true")) == [other, mine]
    assert await ids_of(await client.get("/api/v1/timelines/public?remote=1")) == [theirs]
    assert await ids_of(await client.get("/api/v1/timelines/public?only_media=1")) == [mine]
    tagged = await client.get("/api/v1/timelines/tag/cats", headers=auth)
    assert await ids_of(tagged) == [mine, theirs]
    assert await ids_of(await client.get("/api/v1/timelines/tag/CATS?local=1", headers=auth)) == [
        mine
    ]
    assert await ids_of(await client.get("/api/v1/timelines/tag/cats")) == [mine]  # visitors
    either = await client.get("/api/v1/timelines/tag/dogs?any[]=cats", headers=auth)
    assert await ids_of(either) == [other, mine, theirs]
    media = await client.get("/api/v1/timelines/tag/cats?only_media=true", headers=auth)
    assert await ids_of(media) == [mine]
    assert (await client.get("/api/v1/timelines/tag/none", headers=auth)).json() == []


async def test_notifications(app: Starlette, client: httpx.AsyncClient) -> None:
    await populate(app)
    auth = await user_token(client)
    response = await client.get("/api/v1/notifications", headers=auth)
    listed = response.json()
    assert len(listed) == 40  # Mastodon's default page
    for item in listed:
        assert set(item) == NOTIFICATION_KEYS, set(item) ^ NOTIFICATION_KEYS
        check_account(item["account"])
        assert item["group_key"] == f"ungrouped-{item['id']}"
        if item["type"] == "follow":
            assert item["status"] is None
        else:
            check_status(item["status"])
    assert 'rel="next"' in response.headers["link"]
    full = await ids_of(await client.get("/api/v1/notifications?limit=200", headers=auth))
    assert len(full) == 60  # 80 at most; all there are
    kinds = await client.get("/api/v1/notifications?types[]=follow&limit=80", headers=auth)
    assert {n["type"] for n in kinds.json()} == {"follow"} and len(kinds.json()) == 15
    excluded = await client.get(
        "/api/v1/notifications?exclude_types[]=follow&exclude_types[]=mention&limit=80",
        headers=auth,
    )
    assert {n["type"] for n in excluded.json()} == {"favourite", "reblog"}
    zed = listed[0]["account"]["id"]
    by_account = await client.get(f"/api/v1/notifications?account_id={zed}&limit=5", headers=auth)
    assert len(by_account.json()) == 5
    assert (await client.get("/api/v1/notifications?account_id=999", headers=auth)).json() == []
    page = await ids_of(
        await client.get(f"/api/v1/notifications?max_id={full[9]}&limit=3", headers=auth)
    )
    assert page == full[10:13]
    after = await ids_of(
        await client.get(f"/api/v1/notifications?min_id={full[9]}&limit=3", headers=auth)
    )
    assert after == full[6:9]
    one = await client.get(f"/api/v1/notifications/{full[0]}", headers=auth)
    assert one.status_code == 200 and one.json()["id"] == str(full[0])
    assert (await client.get("/api/v1/notifications/99999", headers=auth)).status_code == 404
    assert (await client.get("/api/v1/notifications/x", headers=auth)).status_code == 404
    dismissed = await client.post(f"/api/v1/notifications/{full[0]}/dismiss", headers=auth)
    assert dismissed.status_code == 200 and dismissed.json() == {}
    assert (await client.get(f"/api/v1/notifications/{full[0]}", headers=auth)).status_code == 404
    again = await client.post(f"/api/v1/notifications/{full[0]}/dismiss", headers=auth)
    assert again.status_code == 404
    read_only = await user_token(client, scope="read")
    assert (await client.post("/api/v1/notifications/clear", headers=read_only)).status_code == 403
    assert (await client.post("/api/v1/notifications/clear", headers=auth)).status_code == 200
    assert (await client.get("/api/v1/notifications", headers=auth)).json() == []
    assert await notification_store.latest(federation_of(app).db) == []
    # A mute with its notifications hides them; one without leaves them.
    build = Builder(app)
    build.zed = int(zed)
    async with build.federation.db.transaction() as conn:
        await notification_store.add(conn, "follow", build.zed)
    await client.post(f"/api/v1/accounts/{zed}/mute", json={"notifications": False}, headers=auth)
    assert len((await client.get("/api/v1/notifications", headers=auth)).json()) == 1
    await client.post(f"/api/v1/accounts/{zed}/mute", headers=auth)
    assert (await client.get("/api/v1/notifications", headers=auth)).json() == []


async def test_search_known_things(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    post = await build.add(remote=True, raw='{"tag": [{"type": "Hashtag", "name": "#Caturday"}]}')
    auth = await user_token(client)

    async def search(query: str, **params: Any) -> dict[str, Any]:
        response = await client.get("/api/v2/search", params={"q": query, **params}, headers=auth)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        assert set(found) == {"accounts", "statuses", "hashtags"}
        return found

    assert [a["acct"] for a in (await search("zed@remote.test"))["accounts"]] == ["zed@remote.test"]
    assert [a["acct"] for a in (await search("alice"))["accounts"]] == ["alice"]
    statuses = (await search(f"https://remote.test/users/zed/statuses/{post}"))["statuses"]
    assert [s["id"] for s in statuses] == [str(post)]
    hashtags = (await search("#cat", type="hashtags"))["hashtags"]
    assert hashtags == [
        {
            "name": "Caturday",
            "url": "https://solo.test/tags/Caturday",
            "history": [],
            "following": False,
        }
    ]
    assert (await search("cat", type="accounts"))["hashtags"] == []
    profile = (await search("https://solo.test/@alice"))["accounts"]
    assert [a["acct"] for a in profile] == ["alice"]
    refused = await client.get("/api/v2/search?q=x@y.test&resolve=true")
    assert refused.status_code == 401
    bad = await client.get("/api/v2/search?q=x&type=people", headers=auth)
    assert bad.status_code == 422 and "type" in bad.json()["error"]
    assert (await client.get("/api/v2/search", headers=auth)).status_code == 422


async def test_follow_by_handle_across_instances(tmp_path: Path, template_root: Path) -> None:
    """toot's `follow`: search with resolve, then follow; their post reaches home, and their
    favourite of ours the notifications."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        auth = await user_token(alice.client)
        found = await alice.client.get(
            "/api/v2/search",
            params={"q": "@bob@bob.test", "resolve": "true", "type": "accounts"},
            headers=auth,
        )
        (account,) = found.json()["accounts"]
        assert account["acct"] == "bob@bob.test"
        followed = await alice.client.post(f"/api/v1/accounts/{account['id']}/follow", headers=auth)
        assert followed.status_code == 200
        assert followed.json()["following"] or followed.json()["requested"]

        async def following() -> bool:
            response = await alice.client.get(
                f"/api/v1/accounts/relationships?id[]={account['id']}", headers=auth
            )
            return bool(response.json()[0]["following"])

        await eventually(following, what="bob to accept")
        mine = await status_actions.post(alice.federation, "Hello Bob", visibility="public")
        theirs = await status_actions.post(bob.federation, "Hello from Bob", visibility="public")

        async def in_home() -> bool:
            response = await alice.client.get("/api/v1/timelines/home", headers=auth)
            return any(s["uri"] == theirs.ap_id for s in response.json())

        await eventually(in_home, what="bob's post in alice's home")
        stored = await _store_at(bob, mine.ap_id)
        await interaction_actions.favourite(bob.federation, stored)

        async def favourited() -> bool:
            response = await alice.client.get(
                "/api/v1/notifications?types[]=favourite", headers=auth
            )
            return any(
                n["account"]["acct"] == "bob@bob.test" and n["status"]["id"] == str(mine.id)
                for n in response.json()
            )

        await eventually(favourited, what="bob's favourite in alice's notifications")
        unfollowed = await alice.client.post(
            f"/api/v1/accounts/{account['id']}/unfollow", headers=auth
        )
        assert unfollowed.json()["following"] is False


async def _store_at(node: Node, ap_id: str) -> int:
    """A post of another instance, fetched and stored at `node` through its search."""
    auth = await user_token(node.client, username=node.settings.username)
    response = await node.client.get(
        "/api/v2/search", params={"q": ap_id, "resolve": "true"}, headers=auth
    )
    (status,) = response.json()["statuses"]
    return int(status["id"])


async def test_a_remote_account_opened_in_an_app_shows_its_recent_posts(
    tmp_path: Path, template_root: Path
) -> None:
    """As the web profile does: opening an account we do not follow reads its outbox."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        posted = [await status_actions.post(bob.federation, f"Bob says {n}") for n in range(3)]
        auth = await user_token(alice.client)
        found = await alice.client.get(
            "/api/v2/search",
            params={"q": "@bob@bob.test", "resolve": "true", "type": "accounts"},
            headers=auth,
        )
        (account,) = found.json()["accounts"]
        statuses = await alice.client.get(
            f"/api/v1/accounts/{account['id']}/statuses", headers=auth
        )
        assert statuses.status_code == 200
        assert [s["uri"] for s in statuses.json()] == [p.ap_id for p in reversed(posted)]
        again = (await alice.client.get(f"/api/v1/accounts/{account['id']}", headers=auth)).json()
        assert again["statuses_count"] == 3  # bob's outbox total, read with his posts
