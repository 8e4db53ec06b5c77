"""The two pages of interacting across servers in a browser: the visitor's handle form (without
JavaScript) and the owner's /authorize_interaction, with their error messages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    browser,
    browser_marks,
    log_in,
    screenshot,
    screenshots,
    started,
)
from tests.conftest import PASSWORD

__all__ = ["browser"]  # the fixture, used by name

pytestmark = browser_marks()


async def test_a_visitor_follows_from_their_own_server(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with started(tmp_path, template_root, "alice", "bob") as (alice, bob):
        context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
        page = await context.new_page()
        await page.goto(f"{alice.base_url}/@alice")
        await page.click(".visitor-actions a")
        await expect(page.locator("h1")).to_have_text("Follow alice")
        await screenshots(page, "interact", "light")
        await screenshot(page, "interact", "dark", PHONE)

        await page.fill("#interact-handle", "nobody")
        await page.click("form[action='/interact'] button[type=submit]")
        await expect(page.locator("p.error")).to_contain_text("is not a handle")
        await screenshot(page, "interact-error", "light", PHONE)

        bob_page = await log_in(await browser.new_context(viewport=DESKTOP), bob)
        await bob_page.goto(f"{bob.base_url}/authorize_interaction")
        await screenshots(bob_page, "authorize-interaction", "light")
        await bob_page.fill("#authorize-uri", "not a url")
        await bob_page.click("form[action='/authorize_interaction'] button[type=submit]")
        await expect(bob_page.locator("p.error")).to_contain_text("is not the address")
        await screenshot(bob_page, "authorize-interaction-error", "light", PHONE)
        await context.close()


async def test_a_visitor_signs_in_at_home_and_follows_in_one_journey(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    """The whole trip in one browser, over two real servers: bob, reading alice's profile, gives his
    handle there, lands on his own server's login, signs in, and is taken to alice's profile on his
    server, where Follow follows her."""
    async with started(tmp_path, template_root, "alice", "bob") as (alice, bob):
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await page.goto(f"{alice.base_url}/@alice")
        await page.click(".visitor-actions a")
        await page.fill("#interact-handle", f"bob@{bob.domain}")
        await page.click("form[action='/interact'] button[type=submit]")
        await page.wait_for_url(f"{bob.base_url}/login**")
        await page.fill("#username", "bob")
        await page.fill("#password", PASSWORD)
        await page.click("form[action='/login'] button[type=submit]")
        await page.wait_for_url(f"{bob.base_url}/@alice@{alice.domain}")
        await page.click("form[action='/follow'] button[type=submit]")
        async with alice.client() as client:
            for _ in range(100):
                followers = await client.get(
                    "/users/alice/followers", headers={"Accept": "application/activity+json"}
                )
                if followers.json().get("totalItems") == 1:
                    break
                await asyncio.sleep(0.1)
            assert followers.json().get("totalItems") == 1
        await context.close()
