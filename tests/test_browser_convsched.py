"""Conversations and scheduled posts in a real headless Chromium against real `solo serve`
processes: bob writes to alice directly, alice reads and answers in her browser; alice
schedules a post in her browser's local time zone (set to Tokyo here, so that the script's
offset is what makes the time right) and moves it on the scheduled page."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    WAIT_MS,
    browser,
    browser_marks,
    log_in,
    screenshot,
    started,
)
from tests.processes import SoloProcess, submit

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()
TOKYO = ZoneInfo("Asia/Tokyo")


def scheduled_times(node: SoloProcess) -> list[float]:
    with closing(sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True)) as conn:
        return [
            float(row[0])
            for row in conn.execute(
                "SELECT scheduled_at FROM scheduled_statuses WHERE published_at IS NULL"
            )
        ]


async def test_conversations_and_scheduled_posts_in_a_browser(
    tmp_path: Path,
    template_root: Path,
    browser: Browser,
) -> None:
    async with started(tmp_path, template_root, "alice", "bob") as (alice, bob):
        context = await browser.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")
        errors: list[str] = []
        page = await log_in(context, alice)
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Direct messages from strangers wait as requests by default: alice lets them through.
        async with alice.logged_in() as http:
            response = await submit(
                http,
                "/settings/notifications",
                "/settings/notifications",
                for_not_following="accept",
                for_not_followers="accept",
                for_new_accounts="accept",
                for_private_mentions="accept",
                for_limited_accounts="accept",
            )
            assert response.status_code == 303, response.text
        async with bob.logged_in() as http:
            for text in ("are we still on for Friday?", "I can bring the projector."):
                response = await submit(
                    http,
                    "/",
                    "/statuses",
                    text=f"@alice@{alice.domain} {text}",
                    visibility="direct",
                )
                assert response.status_code == 303, response.text

        await page.goto(f"{alice.base_url}/conversations")
        rows = page.locator("ol.conversations li.conversation")
        for _ in range(50):
            if await rows.count() >= 2:
                break
            await page.wait_for_timeout(200)
            await page.reload()
        await expect(rows).to_have_count(2)
        await expect(rows.first.locator(".badge.new")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await screenshot(page, "conversations", "light", PHONE)
        await screenshot(page, "conversations", "dark", DESKTOP)

        await rows.first.locator("a.conversation-link").click()
        await page.wait_for_url(re.compile(r"/conversations/\d+$"))
        await expect(page.locator("#messages article.status")).to_have_count(1)
        await expect(page.locator("#compose-visibility")).to_have_value("direct")
        await page.fill("#compose-text", f"@bob@{bob.domain} Yes, bring it!")
        await page.click("form.compose button[type=submit]")
        await expect(page.locator("#messages article.status")).to_have_count(2, timeout=WAIT_MS)
        await screenshot(page, "conversation", "light", DESKTOP)
        await screenshot(page, "conversation", "light", PHONE)

        # A post for tomorrow at 09:30 in the browser's time (Tokyo, UTC+9).
        await page.goto(f"{alice.base_url}/compose")
        await expect(page.locator(".schedule-field .tz-label")).to_have_text("(your local time)")
        await page.fill("#compose-text", "Good morning, Tokyo")
        await page.click(".schedule-field summary")
        tomorrow = (datetime.now(TOKYO) + timedelta(days=1)).replace(
            hour=9, minute=30, second=0, microsecond=0
        )
        await page.fill("#compose-scheduled-at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
        await screenshot(page, "compose-schedule", "light", PHONE)
        await page.click("form.compose button[type=submit]")
        await page.wait_for_url(f"{alice.base_url}/scheduled")
        assert scheduled_times(alice) == [tomorrow.timestamp()]
        item = page.locator("li.scheduled-post")
        await expect(item).to_contain_text("Good morning, Tokyo")
        field = item.locator("input[type=datetime-local]")
        await expect(field).to_have_value(tomorrow.strftime("%Y-%m-%dT%H:%M"))
        await screenshot(page, "scheduled", "light", DESKTOP)
        await screenshot(page, "scheduled", "dark", PHONE)

        later = tomorrow + timedelta(hours=2)
        await field.fill(later.strftime("%Y-%m-%dT%H:%M"))
        await item.locator("form.reschedule button").click()
        await expect(page.locator(".notice")).to_contain_text("new time", timeout=WAIT_MS)
        assert scheduled_times(alice) == [later.astimezone(UTC).timestamp()]
        assert errors == [], errors
        await context.close()
