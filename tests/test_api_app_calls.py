"""What apps call at start-up and on their main screens (Elk, Phanpy, Tusky, Ice Cubes): every
endpoint answers, with Mastodon's entity shapes; and remote accounts' dates are real ones."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from solo.store import hosts
from tests.test_api_statuses import user_token
from tests.test_web_queries import Builder


async def test_a_remote_account_without_published_is_dated_when_first_seen(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build = Builder(app)
    await build.setup()  # zed's document has no `published`
    db = build.federation.db
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at)"
            " VALUES ('https://old.example/u/ann', 'ann', 'old.example', 'https://old.example/i',"
            " ?, 0)",
            (json.dumps({"published": "2019-03-04T05:06:07Z"}),),
        )
    ann = await db.fetchval("SELECT id FROM actors WHERE username = 'ann'")
    auth = await user_token(client)
    zed = (await client.get(f"/api/v1/accounts/{build.zed}", headers=auth)).json()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert zed["created_at"] == f"{today}T00:00:00.000Z"
    dated = (await client.get(f"/api/v1/accounts/{ann}", headers=auth)).json()
    assert dated["created_at"] == "2019-03-04T00:00:00.000Z"
    assert time.time() - 86400 < datetime.fromisoformat(zed["created_at"]).timestamp()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/suggestions",
        "/api/v1/scheduled_statuses",
        "/api/v1/featured_tags",
        "/api/v1/instance/rules",
    ],
)
async def test_empty_lists_apps_read(client: httpx.AsyncClient, path: str) -> None:
    auth = await user_token(client)
    response = await client.get(path, headers=auth)
    assert response.status_code == 200 and response.json() == []


async def test_lists_about_an_account(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).json()
    for account in (str(build.zed), me["id"]):
        for what in ("lists", "featured_tags"):
            response = await client.get(f"/api/v1/accounts/{account}/{what}", headers=auth)
            assert response.status_code == 200 and response.json() == [], what
    unknown = await client.get("/api/v1/accounts/999999/lists", headers=auth)
    assert unknown.status_code == 404
    assert (await client.get(f"/api/v1/accounts/{build.zed}/lists")).status_code == 401
    familiar = await client.get(
        "/api/v1/accounts/familiar_followers",
        params=[("id[]", str(build.zed)), ("id[]", me["id"])],
        headers=auth,
    )
    assert familiar.json() == [
        {"id": str(build.zed), "accounts": []},
        {"id": me["id"], "accounts": []},
    ]


async def test_domain_blocks_and_peers_are_real(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    await hosts.block_domain(build.federation.db, "spam.example")
    async with build.federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at)"
            " VALUES ('https://spam.example/u/s', 's', 'spam.example', 'https://spam.example/i',"
            " '{}', 0)"
        )
    auth = await user_token(client)
    blocks = await client.get("/api/v1/domain_blocks", headers=auth)
    assert blocks.status_code == 200 and blocks.json() == ["spam.example"]
    assert (await client.get("/api/v1/domain_blocks")).status_code == 401
    read_only = await user_token(client, scope="read:statuses")
    assert (await client.get("/api/v1/domain_blocks", headers=read_only)).status_code == 403
    peers = await client.get("/api/v1/instance/peers")
    assert peers.status_code == 200 and peers.json() == ["remote.test"]


async def test_a_tag_has_its_history(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    for text in ("#Cats are nice", "more #cats", "no tag"):
        await client.post("/api/v1/statuses", json={"status": text}, headers=auth)
    tag = await client.get("/api/v1/tags/Cats", headers=auth)
    assert tag.status_code == 200
    entity = tag.json()
    assert set(entity) == {"name", "url", "history", "following"}
    assert entity["name"] == "cats" and entity["following"] is False
    assert entity["url"] == f"{build.settings.base_url}/tags/cats"
    assert len(entity["history"]) == 7
    today = entity["history"][0]
    assert today == {
        "day": str(int(time.time()) // 86400 * 86400),
        "uses": "2",
        "accounts": "1",
    }
    assert all(day["uses"] == "0" for day in entity["history"][1:])
    assert (await client.get("/api/v1/tags/nobody_uses_this")).json()["history"][0]["uses"] == "0"
    assert (await client.get("/api/v1/tags/no%20such")).status_code == 404


async def test_owner_role_and_api_versions(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).json()
    assert me["role"] == {
        "id": "3",
        "name": "Owner",
        "color": "",
        "permissions": "1048575",
        "highlighted": True,
    }
    instance = (await client.get("/api/v2/instance")).json()
    assert instance["api_versions"] == {"mastodon": 2}
