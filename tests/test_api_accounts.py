"""The accounts API: our account and others', lookup, an account's statuses with filters,
followers and following, relationships, follow / block / mute and back, account search,
update_credentials; the Account and Relationship entities with every field."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image
from starlette.applications import Starlette

from solo.api.entities import local_account_id
from solo.store import actors as actor_store
from solo.store import follows, pins
from solo.store.account import get_account
from tests.test_api_statuses import user_token
from tests.test_web_pages import federation_of
from tests.test_web_queries import ZED, Builder

# Every key of Mastodon 4.2's Account and Relationship.
ACCOUNT_KEYS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
    "created_at", "note", "url", "uri", "avatar", "avatar_static", "header", "header_static",
    "followers_count", "following_count", "statuses_count", "last_status_at", "emojis",
    "fields", "noindex", "roles", "indexable", "hide_collections",
}  # fmt: skip
RELATIONSHIP_KEYS = {
    "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking",
    "blocked_by", "muting", "muting_notifications", "requested", "requested_by",
    "domain_blocking", "endorsed", "note",
}  # fmt: skip


def check_account(account: dict[str, Any]) -> None:
    assert set(account) >= ACCOUNT_KEYS, ACCOUNT_KEYS - set(account)
    assert isinstance(account["id"], str) and account["id"].isdigit()
    for key in ("avatar", "avatar_static", "header", "header_static", "url"):
        assert account[key].startswith(("http://", "https://")), (key, account[key])


def check_relationship(relationship: dict[str, Any]) -> None:
    assert set(relationship) == RELATIONSHIP_KEYS, set(relationship) ^ RELATIONSHIP_KEYS


async def own_id(app: Starlette) -> str:
    account = await get_account(federation_of(app).db)
    assert account is not None
    return local_account_id(account)


async def zed(app: Starlette) -> tuple[Builder, str]:
    """A remote account `zed@remote.test` we follow, with an avatar."""
    build = Builder(app)
    await build.setup()
    async with build.federation.db.transaction() as conn:
        await conn.execute(
            "UPDATE actors SET avatar_url = 'https://remote.test/a.png' WHERE id = ?", (build.zed,)
        )
    return build, str(build.zed)


async def test_accounts_by_id_and_by_handle(app: Starlette, client: httpx.AsyncClient) -> None:
    build, zed_id = await zed(app)
    await build.add(remote=True)
    me = await own_id(app)
    ours = await client.get(f"/api/v1/accounts/{me}")  # no token needed
    assert ours.status_code == 200
    check_account(ours.json())
    assert ours.json()["acct"] == "alice" and "source" not in ours.json()
    theirs = (await client.get(f"/api/v1/accounts/{zed_id}")).json()
    check_account(theirs)
    assert theirs["acct"] == "zed@remote.test" and theirs["statuses_count"] == 1
    assert theirs["uri"] == ZED and theirs["last_status_at"] is not None
    # The picture comes through our media proxy, as an absolute URL.
    assert theirs["avatar"].startswith("https://solo.test/proxy/")
    assert theirs["header"] == "https://solo.test/static/header-missing.png"
    for missing in ("999999", "abc", "1" * 30):
        response = await client.get(f"/api/v1/accounts/{missing}")
        assert response.status_code == 404
        assert response.json() == {"error": "Record not found"}
    found = await client.get("/api/v1/accounts/lookup", params={"acct": "@zed@remote.test"})
    assert found.status_code == 200 and found.json()["id"] == zed_id
    assert (await client.get("/api/v1/accounts/lookup?acct=alice")).json()["id"] == me
    assert (await client.get("/api/v1/accounts/lookup?acct=alice@solo.test")).json()["id"] == me
    assert (await client.get("/api/v1/accounts/lookup?acct=nobody@x.test")).status_code == 404
    blank = await client.get("/api/v1/accounts/lookup")
    assert blank.status_code == 422 and "acct" in blank.json()["error"]


async def test_account_statuses_filters_and_paging(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build, zed_id = await zed(app)
    auth = await user_token(client)
    me = await own_id(app)
    theirs = await build.add(remote=True)
    mine = [await build.add(remote=False) for _ in range(5)]
    reply = await build.add(remote=False, in_reply_to_id=theirs, in_reply_to_ap_id="x")
    thread = await build.add(remote=False, in_reply_to_id=mine[0], in_reply_to_ap_id="y")
    boost = await build.add(remote=False, reblog_of_id=theirs, content_html="")
    private = await build.add(remote=False)
    async with build.federation.db.transaction() as conn:
        await conn.execute("UPDATE statuses SET visibility = 'private' WHERE id = ?", (private,))
        await conn.execute(
            "INSERT INTO media (status_id, local, kind, media_type, created_at)"
            " VALUES (?, 1, 'image', 'image/png', 0)",
            (mine[1],),
        )
        await pins.add(conn, mine[2])

    async def ids(query: str = "", headers: dict[str, str] = auth) -> list[int]:
        response = await client.get(f"/api/v1/accounts/{me}/statuses{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [int(s["id"]) for s in response.json()]

    newest_first = [private, boost, thread, reply, *reversed(mine)]
    assert await ids() == newest_first
    assert await ids(headers={}) == [i for i in newest_first if i != private]
    assert await ids("?exclude_reblogs=true") == [i for i in newest_first if i != boost]
    # A reply to oneself (a thread) stays, as on Mastodon.
    assert await ids("?exclude_replies=1") == [i for i in newest_first if i != reply]
    assert await ids("?only_media=true") == [mine[1]]
    assert await ids("?pinned=true") == [mine[2]]
    assert await ids(f"?max_id={reply}&limit=2") == [mine[4], mine[3]]
    assert await ids(f"?since_id={mine[0]}&limit=2") == [private, boost]  # the newest
    assert await ids(f"?min_id={mine[0]}&limit=2") == [mine[2], mine[1]]  # right after it
    page = await client.get(f"/api/v1/accounts/{me}/statuses?limit=2", headers=auth)
    link = page.headers["link"]
    assert link.startswith(f"<https://solo.test/api/v1/accounts/{me}/statuses?limit=2&max_id=")
    assert f"max_id={boost}" in link and f'min_id={private}>; rel="prev"' in link
    assert (await client.get(f"/api/v1/accounts/{zed_id}/statuses")).json()[0]["id"] == str(theirs)
    bad = await client.get(f"/api/v1/accounts/{me}/statuses?max_id=x", headers=auth)
    assert bad.status_code == 422 and "max_id" in bad.json()["error"]
    assert (await client.get("/api/v1/accounts/424242/statuses")).status_code == 404


async def test_followers_following_and_relationships(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, zed_id = await zed(app)
    auth = await user_token(client)
    me = await own_id(app)
    following = await client.get(f"/api/v1/accounts/{me}/following")
    assert [a["id"] for a in following.json()] == [zed_id]
    check_account(following.json()[0])
    assert 'rel="next"' in following.headers["link"]
    assert (await client.get(f"/api/v1/accounts/{me}/followers")).json() == []
    assert (await client.get(f"/api/v1/accounts/{zed_id}/followers")).json() == []
    response = await client.get(
        "/api/v1/accounts/relationships",
        params=[("id[]", zed_id), ("id[]", me), ("id[]", "12345")],
        headers=auth,
    )
    assert response.status_code == 200
    theirs, ours = response.json()
    check_relationship(theirs)
    check_relationship(ours)
    assert theirs["id"] == zed_id and theirs["following"] and not theirs["followed_by"]
    assert theirs["showing_reblogs"] and theirs["note"] == "" and theirs["languages"] is None
    assert ours["id"] == me and not ours["following"]
    read_only = await user_token(client, scope="read:accounts")
    refused = await client.get(f"/api/v1/accounts/relationships?id={zed_id}", headers=read_only)
    assert refused.status_code == 403
    assert (await client.get("/api/v1/accounts/relationships?id=1")).status_code == 401


async def test_block_mute_and_back(app: Starlette, client: httpx.AsyncClient) -> None:
    build, zed_id = await zed(app)
    auth = await user_token(client)
    post = await build.add(remote=True)
    await build.federation.feeds.rebuild()

    async def home() -> list[str]:
        response = await client.get("/api/v1/timelines/home", headers=auth)
        return [s["id"] for s in response.json()]

    async def act(what: str, **body: Any) -> dict[str, Any]:
        response = await client.post(f"/api/v1/accounts/{zed_id}/{what}", json=body, headers=auth)
        assert response.status_code == 200, response.text
        relationship: dict[str, Any] = response.json()
        check_relationship(relationship)
        return relationship

    assert str(post) in await home()
    muted = await act("mute", notifications=False, duration=3600)
    assert muted["muting"] and not muted["muting_notifications"]
    assert str(post) not in await home()
    listed = (await client.get("/api/v1/mutes", headers=auth)).json()
    assert [a["id"] for a in listed] == [zed_id] and listed[0]["mute_expires_at"]
    assert not (await act("unmute"))["muting"]
    assert str(post) in await home()
    blocked = await act("block")
    assert blocked["blocking"] and not blocked["following"]  # a block ends follows
    assert str(post) not in await home()
    assert [a["id"] for a in (await client.get("/api/v1/blocks", headers=auth)).json()] == [zed_id]
    assert not (await act("unblock"))["blocking"]
    assert (await act("unblock"))["blocking"] is False  # twice is harmless
    assert (await client.get("/api/v1/blocks", headers=auth)).json() == []
    me = await own_id(app)
    own = await client.post(f"/api/v1/accounts/{me}/block", headers=auth)
    assert own.status_code == 422 and "id" in own.json()["error"]
    assert (await client.post("/api/v1/accounts/4242/mute", headers=auth)).status_code == 404
    read_only = await user_token(client, scope="read")
    refused = await client.post(f"/api/v1/accounts/{zed_id}/block", headers=read_only)
    assert refused.status_code == 403
    bad = await client.post(
        f"/api/v1/accounts/{zed_id}/mute", json={"duration": "soon"}, headers=auth
    )
    assert bad.status_code == 422 and "duration" in bad.json()["error"]


async def test_account_search(app: Starlette, client: httpx.AsyncClient) -> None:
    _, zed_id = await zed(app)
    auth = await user_token(client)
    found = await client.get("/api/v1/accounts/search?q=ze", headers=auth)
    assert [a["id"] for a in found.json()] == [zed_id]
    by_handle = await client.get("/api/v1/accounts/search?q=@zed@remote.test", headers=auth)
    assert [a["id"] for a in by_handle.json()] == [zed_id]
    ours = await client.get("/api/v1/accounts/search?q=alice", headers=auth)
    assert [a["acct"] for a in ours.json()] == ["alice"]
    assert (await client.get("/api/v1/accounts/search?q=zz", headers=auth)).json() == []
    assert (await client.get("/api/v1/accounts/search?q=ze")).status_code == 401
    blank = await client.get("/api/v1/accounts/search", headers=auth)
    assert blank.status_code == 422 and "q" in blank.json()["error"]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_update_credentials(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={
            "display_name": "Alice A.",
            "note": "Hello #world",
            "locked": "1",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://alice.example",
            "fields_attributes[1][name]": "Pronouns",
            "fields_attributes[1][value]": "she/her",
            "source[privacy]": "public",
            "source[sensitive]": "0",
        },
        files={"avatar": ("me.png", png(), "image/png")},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    account = response.json()
    check_account(account)
    assert account["display_name"] == "Alice A." and account["locked"] is True
    assert account["source"]["note"] == "Hello #world" and "world" in account["note"]
    assert [f["name"] for f in account["source"]["fields"]] == ["Site", "Pronouns"]
    assert account["avatar"].startswith("https://solo.test/media/profile/")
    # What is not sent stays; JSON works too.
    again = await client.patch(
        "/api/v1/accounts/update_credentials", json={"locked": False}, headers=auth
    )
    assert again.json()["display_name"] == "Alice A." and again.json()["locked"] is False
    assert len(again.json()["fields"]) == 2
    verified = await client.get("/api/v1/accounts/verify_credentials", headers=auth)
    assert verified.json()["source"]["note"] == "Hello #world"
    too_long = await client.patch(
        "/api/v1/accounts/update_credentials", json={"display_name": "x" * 31}, headers=auth
    )
    assert too_long.status_code == 422 and "display_name" in too_long.json()["error"]
    too_many = await client.patch(
        "/api/v1/accounts/update_credentials",
        json={"fields_attributes": [{"name": str(n), "value": "v"} for n in range(5)]},
        headers=auth,
    )
    assert too_many.status_code == 422 and "fields_attributes" in too_many.json()["error"]
    not_image = await client.patch(
        "/api/v1/accounts/update_credentials",
        files={"header": ("x.txt", b"hello", "text/plain")},
        headers=auth,
    )
    assert not_image.status_code == 422 and "header" in not_image.json()["error"]
    read_only = await user_token(client, scope="read")
    refused = await client.patch(
        "/api/v1/accounts/update_credentials", json={"note": "x"}, headers=read_only
    )
    assert refused.status_code == 403


async def test_remove_from_followers(app: Starlette, client: httpx.AsyncClient) -> None:
    build, zed_id = await zed(app)
    db = build.federation.db
    async with db.transaction() as conn:
        await follows.put_follow(conn, "in", build.zed, f"{ZED}#follows-us", "accepted")
    auth = await user_token(client)
    me = await own_id(app)
    followers = await client.get(f"/api/v1/accounts/{me}/followers")
    assert [a["id"] for a in followers.json()] == [zed_id]
    response = await client.post(f"/api/v1/accounts/{zed_id}/remove_from_followers", headers=auth)
    assert response.status_code == 200
    check_relationship(response.json())
    assert response.json()["followed_by"] is False
    assert response.json()["following"] is True  # ours of them stays
    assert await follows.get_follow(db, "in", build.zed) is None
    assert (await client.get(f"/api/v1/accounts/{me}/followers")).json() == []
    missing = await client.post("/api/v1/accounts/999999/remove_from_followers", headers=auth)
    assert missing.status_code == 404


async def test_remote_totals_from_their_server(app: Starlette, client: httpx.AsyncClient) -> None:
    build, zed_id = await zed(app)
    unknown = (await client.get(f"/api/v1/accounts/{zed_id}")).json()
    assert unknown["followers_count"] == 0 and unknown["following_count"] == 0
    async with build.federation.db.transaction() as conn:
        await actor_store.set_counts(conn, build.zed, followers=321, following=12, statuses=4567)
    known = (await client.get(f"/api/v1/accounts/{zed_id}")).json()
    assert (known["followers_count"], known["following_count"], known["statuses_count"]) == (
        321,
        12,
        4567,
    )
