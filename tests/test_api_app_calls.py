"""What apps call at start-up and on their main screens (Elk, Phanpy, Tusky, Ice Cubes): every
endpoint answers, with Mastodon's entity shapes; and remote accounts' dates are real ones."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

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
