"""Follow requests, bookmarks, favourites, markers, preferences, and the lists Solo keeps
empty for the clients that read them at start-up."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.test_api_accounts import check_account, check_relationship
from tests.test_api_statuses import check_status, user_token
from tests.test_web_queries import Builder, populate


async def test_follow_requests_authorize_and_reject(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build = Builder(app)
    await build.setup()
    async with build.federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
            " VALUES ('in', ?, 'https://remote.test/follows/1', 'pending', 0)",
            (build.zed,),
        )
    auth = await user_token(client)
    listed = await client.get("/api/v1/follow_requests", headers=auth)
    assert [a["acct"] for a in listed.json()] == ["zed@remote.test"]
    check_account(listed.json()[0])
    authorized = await client.post(f"/api/v1/follow_requests/{build.zed}/authorize", headers=auth)
    assert authorized.status_code == 200
    check_relationship(authorized.json())
    assert authorized.json()["followed_by"] and not authorized.json()["requested_by"]
    assert (await client.get("/api/v1/follow_requests", headers=auth)).json() == []
    rejected = await client.post(f"/api/v1/follow_requests/{build.zed}/reject", headers=auth)
    assert rejected.status_code == 200 and rejected.json()["followed_by"] is False
    again = await client.post(f"/api/v1/follow_requests/{build.zed}/reject", headers=auth)
    assert again.status_code == 404
    assert (
        await client.post("/api/v1/follow_requests/777/reject", headers=auth)
    ).status_code == 404
    read_only = await user_token(client, scope="read")
    refused = await client.post(f"/api/v1/follow_requests/{build.zed}/authorize", headers=read_only)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("path", "flag"), [("bookmarks", "bookmarked"), ("favourites", "favourited")]
)
async def test_bookmarks_and_favourites(
    app: Starlette, client: httpx.AsyncClient, path: str, flag: str
) -> None:
    await populate(app)
    auth = await user_token(client)
    first = await client.get(f"/api/v1/{path}?limit=5", headers=auth)
    statuses = first.json()
    assert len(statuses) == 5
    for status in statuses:
        check_status(status)
        assert status[flag] is True
    link = first.headers["link"]
    assert link.startswith(f"<https://solo.test/api/v1/{path}?limit=5&max_id=")
    next_url = link.split(";")[0].strip("<>")
    second = await client.get(next_url, headers=auth)
    assert len(second.json()) == 5
    assert not {s["id"] for s in second.json()} & {s["id"] for s in statuses}
    everything = await client.get(f"/api/v1/{path}?limit=40", headers=auth)
    assert [s["id"] for s in everything.json()[:10]] == [s["id"] for s in statuses + second.json()]
    no_scope = await user_token(client, scope="read:statuses")
    assert (await client.get(f"/api/v1/{path}", headers=no_scope)).status_code == 403


async def test_markers(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    url = "/api/v1/markers?timeline[]=home&timeline[]=notifications"
    assert (await client.get(url, headers=auth)).json() == {}
    saved = await client.post("/api/v1/markers", data={"home[last_read_id]": "1234"}, headers=auth)
    assert saved.status_code == 200
    home = saved.json()["home"]
    assert set(home) == {"last_read_id", "version", "updated_at"}
    assert home["last_read_id"] == "1234" and home["version"] == 0
    both = await client.post(
        "/api/v1/markers",
        json={"home": {"last_read_id": "1300"}, "notifications": {"last_read_id": 55}},
        headers=auth,
    )
    assert both.json()["home"]["version"] == 1 and both.json()["notifications"]["version"] == 0
    read = (await client.get(url, headers=auth)).json()
    assert read["home"]["last_read_id"] == "1300" and read["notifications"]["last_read_id"] == "55"
    only_home = (await client.get("/api/v1/markers?timeline[]=home", headers=auth)).json()
    assert set(only_home) == {"home"}
    blank = await client.post("/api/v1/markers", json={"home": {}}, headers=auth)
    assert blank.status_code == 422 and "home[last_read_id]" in blank.json()["error"]
    nothing = await client.post("/api/v1/markers", json={}, headers=auth)
    assert nothing.status_code == 422
    read_only = await user_token(client, scope="read")
    refused = await client.post(
        "/api/v1/markers", json={"home": {"last_read_id": "1"}}, headers=read_only
    )
    assert refused.status_code == 403


async def test_preferences(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    preferences = (await client.get("/api/v1/preferences", headers=auth)).json()
    for key in (
        "posting:default:visibility",
        "posting:default:sensitive",
        "posting:default:language",
        "reading:expand:media",
        "reading:expand:spoilers",
    ):
        assert key in preferences
    assert (await client.get("/api/v1/preferences")).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/custom_emojis",
        "/api/v1/announcements",
        "/api/v1/lists",
        "/api/v1/filters",
        "/api/v2/filters",
        "/api/v1/followed_tags",
        "/api/v1/trends",
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
        "/api/v1/conversations",
        "/api/v1/endorsements",
    ],
)
async def test_empty_lists(client: httpx.AsyncClient, path: str) -> None:
    auth = await user_token(client)
    response = await client.get(path, headers=auth)
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize("path", ["/api/v1/lists/1", "/api/v1/filters/1", "/api/v2/filters/1"])
async def test_unknown_items_of_empty_lists(client: httpx.AsyncClient, path: str) -> None:
    auth = await user_token(client)
    response = await client.get(path, headers=auth)
    assert response.status_code == 404 and response.json() == {"error": "Record not found"}


async def test_public_lists_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/custom_emojis")).json() == []
    assert (await client.get("/api/v1/trends/tags")).json() == []
    assert (await client.get("/api/v1/lists")).status_code == 401


async def test_trailing_slashes_reach_the_same_endpoint_without_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    headers = await user_token(client)
    for path in ("/api/v1/timelines/public", "/api/v1/custom_emojis", "/api/v1/preferences"):
        plain = await client.get(path, headers=headers)
        slashed = await client.get(path + "/", headers=headers)
        assert plain.status_code == slashed.status_code == 200, path
        assert plain.json() == slashed.json(), path
    created = await client.post(
        "/api/v1/statuses/", json={"status": "with a slash"}, headers=headers
    )
    assert created.status_code == 200 and created.json()["content"] == "<p>with a slash</p>"
    assert (await client.get("/api/v1/no_such_thing/", headers=headers)).status_code == 404
