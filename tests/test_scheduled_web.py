"""Scheduled posts on the web: the composer's "Publish later" field (UTC without the script,
the browser's offset with it), refusals that keep what was typed, and the list page's change of
time and cancel."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from solo.actions import scheduled
from solo.federation.context import Federation
from tests.test_web_pages import login, send


@pytest.fixture
async def web(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


def fed(app: Starlette) -> Federation:
    federation: Federation = app.state.federation
    return federation


def field(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


async def times(app: Starlette) -> list[float]:
    rows = await fed(app).db.fetchall(
        "SELECT scheduled_at FROM scheduled_statuses WHERE published_at IS NULL ORDER BY id"
    )
    return [float(row[0]) for row in rows]


async def test_publish_later_from_the_composer(app: Starlette, web: httpx.AsyncClient) -> None:
    compose = await web.get("/compose")
    assert 'type="datetime-local"' in compose.text and 'name="tz_offset"' in compose.text
    assert "(UTC)" in compose.text  # what the field means without the script

    utc = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    made = await send(web, "/statuses", text="Morning news", scheduled_at=field(utc), back="/")
    assert made.status_code == 303 and made.headers["location"] == "/scheduled"
    # The browser two hours east of UTC: its 14:00 is 12:00 UTC (getTimezoneOffset is -120).
    local = utc + timedelta(hours=1)
    await send(web, "/statuses", text="Evening news", scheduled_at=field(local), tz_offset="-120")
    assert await times(app) == [utc.timestamp(), (local - timedelta(hours=2)).timestamp()]

    listed = await web.get("/scheduled")
    assert "Scheduled: it will be published" in listed.text
    assert "Morning news" in listed.text and "Evening news" in listed.text
    assert listed.text.index("Evening news") < listed.text.index("Morning news")  # soonest first
    assert f'value="{field(utc)}" data-utc="{field(utc)}"' in listed.text
    home = await web.get("/")
    assert "Morning news" not in home.text

    await scheduled.step(fed(app), now=time.time() + 4 * 3600)
    home = await web.get("/")
    assert "Morning news" in home.text and "Evening news" in home.text
    assert "Nothing is scheduled." in (await web.get("/scheduled")).text


async def test_refusals_keep_what_was_typed(app: Starlette, web: httpx.AsyncClient) -> None:
    soon = field(datetime.now(UTC) + timedelta(minutes=1))
    refused = await send(web, "/statuses", text="Too soon, this", scheduled_at=soon)
    assert refused.status_code == 400
    assert "at least 5 minutes in the future" in refused.text
    assert "Too soon, this</textarea>" in refused.text and f'value="{soon}"' in refused.text
    for bad, why in (
        ("next tuesday", "Choose a date and time"),
        ("20250-01-01T00:00", "Choose a date and time"),
    ):
        response = await send(web, "/statuses", text="x", scheduled_at=bad)
        assert response.status_code == 400 and why in response.text, bad
    far = field(datetime.now(UTC) + timedelta(days=3 * 365))
    response = await send(web, "/statuses", text="x", scheduled_at=far)
    assert response.status_code == 400 and "less than a year ahead" in response.text
    odd = await send(
        web, "/statuses", text="x", scheduled_at=field(datetime.now(UTC)), tz_offset="99999"
    )
    assert odd.status_code == 400 and "time zone offset" in odd.text
    assert await times(app) == []


async def test_change_the_time_and_cancel(app: Starlette, web: httpx.AsyncClient) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    await send(web, "/statuses", text="To move", scheduled_at=field(when))
    await send(web, "/statuses", text="To cancel", scheduled_at=field(when))
    rows = await fed(app).db.fetchall("SELECT id FROM scheduled_statuses ORDER BY id")
    moving, cancelling = (int(row[0]) for row in rows)

    later = when + timedelta(days=2)
    moved = await send(web, f"/scheduled/{moving}/time", scheduled_at=field(later))
    assert moved.status_code == 303
    assert (await times(app))[0] == later.timestamp()
    too_soon = await send(
        web, f"/scheduled/{moving}/time", scheduled_at=field(when - timedelta(hours=2))
    )
    assert too_soon.status_code == 400 and "5 minutes" in too_soon.text
    empty = await send(web, f"/scheduled/{moving}/time", scheduled_at="")
    assert empty.status_code == 400

    cancelled = await send(web, f"/scheduled/{cancelling}/cancel")
    assert cancelled.status_code == 303
    page = await web.get("/scheduled")
    assert "Cancelled: that post will not be published." in page.text
    assert "To cancel" not in page.text and "To move" in page.text
    again = await send(web, f"/scheduled/{cancelling}/cancel")
    assert again.status_code == 404 and "not waiting any more" in again.text
    assert (await send(web, "/scheduled/abc/cancel")).status_code == 400
