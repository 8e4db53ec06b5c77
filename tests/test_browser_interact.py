"""The two pages of interacting across servers in a browser: the visitor's handle form (without
JavaScript) and the owner's /authorize_interaction, with their error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser_helpers import DESKTOP, browser, log_in, screenshot
from tests.processes import SoloProcess

__all__ = ["browser"]  # the fixture, used by name

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
PHONE = {"width": 390, "height": 844}
DESKTOP_SHOT = {"width": 1280, "height": 800}


async def test_a_visitor_follows_from_their_own_server(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice, SoloProcess("bob", tmp_path) as bob:
        for node in (alice, bob):
            await node.initialise(template_root)
            await node.start()
        context = await browser.new_context(viewport=DESKTOP, java_script_enabled=False)
        page = await context.new_page()
        await page.goto(f"{alice.base_url}/@alice")
        await page.click(".visitor-actions a")
        await expect(page.locator("h1")).to_have_text("Follow alice")
        for size in (PHONE, DESKTOP_SHOT):
            await screenshot(page, "interact", "light", size)
        await screenshot(page, "interact", "dark", PHONE)

        await page.fill("#interact-handle", "nobody")
        await page.click("form[action='/interact'] button[type=submit]")
        await expect(page.locator("p.error")).to_contain_text("is not a handle")
        await screenshot(page, "interact-error", "light", PHONE)

        bob_page = await log_in(await browser.new_context(viewport=DESKTOP), bob)
        await bob_page.goto(f"{bob.base_url}/authorize_interaction")
        for size in (PHONE, DESKTOP_SHOT):
            await screenshot(bob_page, "authorize-interaction", "light", size)
        await bob_page.fill("#authorize-uri", "not a url")
        await bob_page.click("form[action='/authorize_interaction'] button[type=submit]")
        await expect(bob_page.locator("p.error")).to_contain_text("is not the address")
        await screenshot(bob_page, "authorize-interaction-error", "light", PHONE)
        await context.close()
