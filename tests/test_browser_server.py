"""The Server page in a real headless Chromium against a real `solo serve`: two days of samples
and two failing servers seeded in alice's database, a real delivery to bob timed, the charts
named for screen readers, "Give up" used with the keyboard, and screenshots at phone and desktop
size in light and dark."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from playwright.async_api import Browser, expect

from solo.actions.server_stats import database_bytes
from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    WAIT_MS,
    alice_and_bob,
    browser,
    browser_marks,
    follow_bob_after_he_posts,
    screenshot,
)
from tests.processes import SoloProcess

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()
MB = 1024 * 1024


def seed(node: SoloProcess, now: float) -> None:
    """Two days of minute samples with a daily rhythm, hourly storage growing, and deliveries
    to two servers waiting for a retry."""
    minute = int(now // 60 * 60)
    database = database_bytes(node.settings.db_path)  # grows to what the page reads now
    rows = []
    for back in range(1, 48 * 60):
        at = minute - back * 60
        day = 1 + math.sin(at / 86400 * 2 * math.pi)  # 0..2 over a day
        storage = back % 60 == 0
        rows.append(
            (
                at,
                int(6 * day + (back % 7)),
                int(back % 23 == 0) * 3,
                int(back % 97 == 0),
                int(12 + 10 * day + 3 * math.sin(back / 9)),
                int(3 * day) if back < 90 else 0,
                1 if back < 30 else 0,
                int(2 * day) % 3,
                90 * MB,
                database * (1 - back / 9000) if storage else None,
                0 if storage else None,
                0 if storage else None,
            )
        )
    jobs = [
        ("mastodon.example", 5, "HTTP 502 from https://mastodon.example/inbox", 4),
        ("gone.example", 2, "connection refused: gone.example:443", 9),
    ]
    with closing(sqlite3.connect(node.settings.db_path, timeout=10)) as conn, conn:
        conn.execute("DELETE FROM server_samples")
        conn.executemany(
            "INSERT OR REPLACE INTO server_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [tuple(None if v is None else int(v) for v in row) for row in rows],
        )
        for host, count, error, attempts in jobs:
            conn.executemany(
                "INSERT INTO jobs (queue, state, payload, host, attempts, next_attempt_at,"
                " last_error, created_at, updated_at) VALUES ('push', 'retrying', ?, ?, ?, ?, ?,"
                " ?, ?)",
                [
                    (
                        json.dumps({"inbox": f"https://{host}/inbox"}),
                        host,
                        attempts,
                        now + 3 * 3600,
                        error,
                        now - 6 * 3600,
                        now - 600,
                    )
                ]
                * count,
            )


async def test_the_server_page_in_a_browser(
    tmp_path: Path,
    template_root: Path,
    browser: Browser,
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, page = run.alice, run.page
        await follow_bob_after_he_posts(run, "the first post on bob's server")
        seed(alice, time.time())

        await page.goto(f"{alice.base_url}/server")
        await expect(page.locator("h1")).to_have_text("Server")
        # Every chart is an image with a name and a description.
        for chart in ("deliveries-chart", "queues-chart", "ingress-chart", "storage-chart"):
            svg = page.locator(f"svg[aria-labelledby='{chart}-title {chart}-desc']")
            await expect(svg).to_have_attribute("role", "img")
            assert (await page.locator(f"#{chart}-title").text_content() or "").strip()
        assert await page.locator("#deliveries g.bar").count() == 48
        hosts = page.locator("ul.hosts > li")
        await expect(hosts).to_have_count(2)
        await expect(hosts.first).to_have_attribute("data-host", "mastodon.example")
        await expect(page.locator("#slowest-table")).to_contain_text("bob.test")
        await expect(page.locator("a[href='/server/doctor']")).to_be_visible()

        for size in (PHONE, DESKTOP):
            for scheme in ("light", "dark"):
                await screenshot(page, "server", scheme, size)

        # Give up on gone.example, from the keyboard.
        await page.emulate_media(color_scheme="light")
        give_up = page.locator("li[data-host='gone.example'] form[action='/server/hosts/give-up']")
        await give_up.locator("button").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("p.notice")).to_have_text(
            "Gave up 2 deliveries to gone.example.", timeout=WAIT_MS
        )
        await expect(hosts).to_have_count(1)
        with closing(sqlite3.connect(alice.settings.db_path)) as conn:
            states = conn.execute(
                "SELECT state, COUNT(*) FROM jobs WHERE host = 'gone.example' GROUP BY state"
            ).fetchall()
        assert states == [("dead", 2)]
