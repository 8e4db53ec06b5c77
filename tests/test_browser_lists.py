"""Lists and hashtags in a real headless Chromium, against real `solo serve` processes: alice
follows bob, makes a list on the Lists page, adds bob from his profile's "Add to list" menu,
reads the list, and follows a hashtag from its page. Screenshots land in
`test-artifacts/screenshots/`."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    alice_and_bob,
    browser,
    browser_marks,
    card,
    follow_bob_after_he_posts,
    screenshots,
)

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()


async def test_alice_makes_a_list_and_follows_a_hashtag_in_her_browser(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, bob, page = run
        await follow_bob_after_he_posts(run, "Bob writes about #Bikes")

        await page.click("header.site nav a[href='/lists']")
        await page.fill("#list-title", "Cyclists")
        await page.check("input[name=exclusive]")
        await page.click("form[action='/lists'] button[type=submit]")
        await page.wait_for_url(re.compile(r"/lists/\d+/edit$"))
        await expect(page.locator("main .notice")).to_contain_text("Cyclists")
        list_path = page.url.removesuffix("/edit")

        await page.goto(f"{alice.base_url}/@bob@{bob.domain}")
        await page.select_option("form.add-to-list select", label="Cyclists")
        await page.click("form.add-to-list button")
        await expect(page.locator("main .notice")).to_contain_text("added to “Cyclists”")
        await expect(page.locator("ul.on-lists a", has_text="Cyclists")).to_be_visible()
        await screenshots(page, "profile-lists", "light")

        await page.goto(list_path)
        await expect(card(page, "Bob writes about")).to_have_count(1)
        await screenshots(page, "list-timeline", "light")
        await page.goto(f"{alice.base_url}/")
        await expect(card(page, "Bob writes about")).to_have_count(0)  # an exclusive list
        await page.goto(f"{list_path}/edit")
        await expect(page.locator("li.account")).to_have_count(1)
        await screenshots(page, "list-edit", "dark")

        await page.goto(f"{alice.base_url}/tags/bikes")
        await page.locator(".tag-actions button", has_text="Follow #bikes").click()
        await expect(page.locator("main .notice")).to_contain_text("You follow #bikes")
        await screenshots(page, "tag-followed", "light")
        await page.goto(f"{alice.base_url}/lists")
        await expect(page.locator("#tags a.hashtag")).to_have_text("#bikes")
        await screenshots(page, "lists", "light")
