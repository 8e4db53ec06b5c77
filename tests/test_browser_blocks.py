"""Blocking, muting and notes in a real headless Chromium, against real `solo serve` processes:
alice mutes bob from a post's menu, blocks him from his profile, undoes both from the settings
lists, and keeps a note on him. Screenshots land in `test-artifacts/screenshots/`."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    WAIT_MS,
    alice_and_bob,
    browser,
    browser_marks,
    card,
    follow_bob_after_he_posts,
    screenshot,
    screenshots,
)

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()


async def test_alice_mutes_blocks_and_notes_bob_in_her_browser(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, bob, page = run
        await follow_bob_after_he_posts(run, "Bob says hello")

        # Mute from the post's menu: the page asks how, and the post leaves home.
        post = card(page, "Bob says hello")
        await post.locator("details.more summary").click()
        await screenshot(page, "post-menu", "light", DESKTOP)
        await post.locator("details.more a", has_text="Mute @bob…").click()
        await page.wait_for_url(re.compile(r"/mute\?"))
        await screenshots(page, "mute", "light")
        await page.select_option("#mute-duration", "86400")
        await page.click("form[action='/mute'] button[type=submit]")
        await page.wait_for_url(re.compile(r"/(#s-\d+)?$"))  # back to the card it came from
        await expect(page.locator("main .notice")).to_contain_text("for 1 day")
        await expect(card(page, "Bob says hello")).to_have_count(0)

        await page.goto(f"{alice.base_url}/settings/mutes")
        await expect(page.locator("li.account")).to_have_count(1)
        await screenshots(page, "settings-mutes", "dark")
        await page.click("form[action='/unmute'] button")
        await expect(page.locator("p.empty")).to_contain_text("You have not muted anyone.")

        # A note and a block, from the profile.
        await page.goto(f"{alice.base_url}/@bob@{bob.domain}")
        await page.fill("textarea[name=comment]", "Met at the meetup; talks about bikes.")
        await page.click("form.note-form button")
        await expect(page.locator("main .notice")).to_contain_text("Note saved.")
        await screenshots(page, "profile-moderation", "light")
        await page.locator(".moderation a", has_text="Block").click()
        await page.wait_for_url(re.compile(r"/block\?"))
        await screenshots(page, "block", "light")
        await page.click("form[action='/block'] button[type=submit]")
        await expect(page.locator(".moderation .blocked")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#timeline")).to_have_count(0)
        await screenshots(page, "profile-blocked", "dark")

        await page.goto(f"{alice.base_url}/settings/blocks")
        await expect(page.locator("li.account")).to_have_count(1)
        await screenshot(page, "settings-blocks", "light", PHONE)
        await page.click("form[action='/unblock'] button")
        await expect(page.locator("p.empty")).to_contain_text("You have not blocked anyone.")
