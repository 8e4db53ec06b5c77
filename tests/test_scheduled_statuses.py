"""Scheduled posts through the client API: `scheduled_at` on a new status answers a
ScheduledStatus, `/api/v1/scheduled_statuses` lists, moves and cancels them, Mastodon's limits
and refusals, uploads kept for them, publication by the scheduler with a fake clock (the time
passed to its step), and after a restart that spanned the time."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from solo.actions import media as media_actions
from solo.actions import scheduled
from solo.app import create_app
from solo.config import Settings
from solo.federation.context import Federation
from solo.store import scheduled as scheduled_store
from tests.conftest import initialise_fast
from tests.fleet import eventually
from tests.test_api_accounts import png
from tests.test_api_media import upload
from tests.test_api_statuses import user_token


def fed(app: Starlette) -> Federation:
    federation: Federation = app.state.federation
    return federation


ENTITY_KEYS = {"id", "scheduled_at", "params", "media_attachments"}


def at(seconds_ahead: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_ahead, UTC).isoformat()


async def schedule(
    client: httpx.AsyncClient, auth: dict[str, str], when: str, **fields: Any
) -> httpx.Response:
    data: dict[str, Any] = {"status": "Later", "scheduled_at": when, **fields}
    return await client.post("/api/v1/statuses", data=data, headers=auth)


async def test_a_scheduled_post_is_a_scheduled_status(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    auth = await user_token(client)
    media = (await upload(client, auth, png(), description="Red")).json()
    response = await schedule(
        client,
        auth,
        at(3600),
        status="With a picture",
        visibility="unlisted",
        spoiler_text="cw",
        language="en",
        **{"media_ids[]": media["id"]},
    )
    assert response.status_code == 200, response.text
    entity = response.json()
    assert set(entity) == ENTITY_KEYS  # no Status: toot and the apps would think it posted
    params = entity["params"]
    assert params["text"] == "With a picture" and params["visibility"] == "unlisted"
    assert params["spoiler_text"] == "cw" and params["language"] == "en"
    assert params["media_ids"] == [media["id"]] and params["poll"] is None
    assert params["scheduled_at"] is None
    assert [m["id"] for m in entity["media_attachments"]] == [media["id"]]
    assert entity["media_attachments"][0]["description"] == "Red"
    assert entity["scheduled_at"].endswith("Z")

    # Nothing was posted; the post is listed, and shown alone.
    statuses = await client.get("/api/v1/timelines/home", headers=auth)
    assert statuses.json() == []
    listed = await client.get("/api/v1/scheduled_statuses", headers=auth)
    assert [s["id"] for s in listed.json()] == [entity["id"]]
    one = await client.get(f"/api/v1/scheduled_statuses/{entity['id']}", headers=auth)
    assert one.json() == entity

    # Its upload outlives the sweep of unattached ones; another, older upload does not.
    other = (await upload(client, auth, png())).json()
    federation = fed(app)
    async with federation.db.transaction() as conn:
        await conn.execute("UPDATE media SET created_at = created_at - 3 * 86400")
    assert await media_actions.prune_unattached(federation) == 1
    gone = await client.get(f"/api/v1/media/{other['id']}", headers=auth)
    assert gone.status_code == 404
    kept = await client.get(f"/api/v1/media/{media['id']}", headers=auth)
    assert kept.status_code == 200

    # Published when its time comes (the step is given the time): the post carries the
    # attachment, dated when it was published, with no trace of `scheduled_at`.
    before = time.time()
    await scheduled.step(federation, now=time.time() + 3601)
    home = (await client.get("/api/v1/timelines/home", headers=auth)).json()
    assert [s["content"] for s in home] == ["<p>With a picture</p>"]
    status = home[0]
    assert "scheduled_at" not in status
    assert status["visibility"] == "unlisted" and status["spoiler_text"] == "cw"
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]
    created = datetime.fromisoformat(status["created_at"]).timestamp()
    assert before - 1 <= created <= time.time() + 1
    assert (await client.get("/api/v1/scheduled_statuses", headers=auth)).json() == []
    row = await federation.db.fetchone(
        "SELECT status_id, scheduled_at FROM scheduled_statuses WHERE id = ?", (int(entity["id"]),)
    )
    assert row is not None and str(row[0]) == status["id"]
    assert abs(row[1] - datetime.fromisoformat(entity["scheduled_at"]).timestamp()) < 0.01


async def test_a_scheduled_poll_opens_when_published(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    auth = await user_token(client)
    response = await schedule(
        client,
        auth,
        at(600),
        status="Tea or coffee?",
        **{"poll[options][]": ["Tea", "Coffee"], "poll[expires_in]": "3600"},
    )
    assert response.status_code == 200, response.text
    poll = response.json()["params"]["poll"]
    assert poll["options"] == ["Tea", "Coffee"] and poll["expires_in"] == "3600"
    later = time.time() + 7200  # published late: the poll is open for its hour from then
    await scheduled.step(fed(app), now=later)
    [status] = (await client.get("/api/v1/timelines/home", headers=auth)).json()
    assert [o["title"] for o in status["poll"]["options"]] == ["Tea", "Coffee"]
    assert status["poll"]["expired"] is False


async def test_move_cancel_and_page(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    made = [(await schedule(client, auth, at(3600 + i))).json()["id"] for i in range(3)]
    first = await client.get("/api/v1/scheduled_statuses?limit=2", headers=auth)
    assert [s["id"] for s in first.json()] == made[::-1][:2]
    rest = await client.get(first.links["next"]["url"], headers=auth)
    assert [s["id"] for s in rest.json()] == made[:1]

    later = at(86400)
    moved = await client.put(
        f"/api/v1/scheduled_statuses/{made[0]}", data={"scheduled_at": later}, headers=auth
    )
    assert moved.status_code == 200
    assert moved.json()["scheduled_at"][:16] == later[:16]
    too_soon = await client.put(
        f"/api/v1/scheduled_statuses/{made[0]}", data={"scheduled_at": at(60)}, headers=auth
    )
    assert too_soon.status_code == 422
    missing = await client.put(f"/api/v1/scheduled_statuses/{made[0]}", data={}, headers=auth)
    assert missing.status_code == 422

    cancelled = await client.delete(f"/api/v1/scheduled_statuses/{made[1]}", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json() == {}
    for method in ("GET", "PUT", "DELETE"):
        again = await client.request(method, f"/api/v1/scheduled_statuses/{made[1]}", headers=auth)
        assert again.status_code == 404, method
    assert (await client.get("/api/v1/scheduled_statuses/x", headers=auth)).status_code == 404
    assert (await client.get("/api/v1/scheduled_statuses")).status_code == 401
    # A cancelled post is never published.
    await scheduled.step(fed(app), now=time.time() + 2 * 86400)
    home = (await client.get("/api/v1/timelines/home", headers=auth)).json()
    assert len(home) == 2


async def test_mastodons_refusals(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    for when, message in (
        (at(-3600), "Validation failed: Scheduled at must be at least 5 minutes in the future."),
        (at(120), "Validation failed: Scheduled at must be at least 5 minutes in the future."),
        (at(3 * 365 * 86400), "Validation failed: Scheduled at must be less than a year ahead."),
        ("20250-01-01T00:00:00Z", "Validation failed: scheduled_at is not a date and time"),
        ("tomorrow", "Validation failed: scheduled_at is not a date and time"),
        ("2025-13-01T00:00:00Z", "Validation failed: scheduled_at is not a date and time"),
    ):
        response = await schedule(client, auth, when)
        assert response.status_code == 422, when
        assert response.json()["error"].startswith(message), (when, response.json())
    # What a post would be refused for is refused when it is scheduled.
    empty = await schedule(client, auth, at(3600), status="  ")
    assert empty.status_code == 422
    both = await schedule(
        client, auth, at(3600), **{"poll[options][]": ["a", "b"], "media_ids[]": "1"}
    )
    assert both.status_code == 422
    assert (await client.get("/api/v1/scheduled_statuses", headers=auth)).json() == []

    # 25 on one day, 300 in all.
    day = datetime.fromtimestamp(time.time() + 2 * 86400, UTC).replace(hour=12, minute=0)
    for i in range(scheduled.MAX_PER_DAY):
        ok = await schedule(client, auth, day.replace(minute=i).isoformat())
        assert ok.status_code == 200, ok.text
    over = await schedule(client, auth, day.replace(minute=59).isoformat())
    assert over.status_code == 422
    assert "limit of 25 scheduled posts for that day" in over.json()["error"]
    next_day = await schedule(client, auth, (day + timedelta(days=1)).isoformat())
    assert next_day.status_code == 200
    federation = fed(app)
    async with federation.db.transaction() as conn:
        for i in range(scheduled.MAX_WAITING - scheduled.MAX_PER_DAY - 1):
            await scheduled_store.insert(
                conn, time.time() + 10 * 86400 + i * 3600, {"text": "x"}, (), time.time()
            )
    full = await schedule(client, auth, at(200 * 86400))
    assert full.status_code == 422
    assert "limit of 300 scheduled posts" in full.json()["error"]


async def test_published_after_a_restart_that_spanned_its_time(
    settings: Settings, template_root: Path
) -> None:
    await initialise_fast(settings, template_root)
    first = create_app(settings)
    async with (
        first.router.lifespan_context(first),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url=settings.base_url
        ) as client,
    ):
        auth = await user_token(client)
        made = (await schedule(client, auth, at(600), status="While you were away")).json()
    # The server was down while its time came: the clock moved past it meanwhile.
    with closing(sqlite3.connect(settings.db_path)) as conn, conn:
        conn.execute("UPDATE scheduled_statuses SET scheduled_at = ?", (time.time() - 60,))
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        federation = fed(second)

        async def published() -> bool:
            return bool(
                await federation.db.fetchval(
                    "SELECT COUNT(*) FROM statuses WHERE content_html LIKE '%While you were%'"
                )
            )

        await eventually(published, what="the scheduled post to be published at start")
        row = await federation.db.fetchone(
            "SELECT status_id, published_at FROM scheduled_statuses WHERE id = ?",
            (int(made["id"]),),
        )
        assert row is not None and row[0] is not None and row[1] is not None
