"""The web interface in a real headless Chromium, against real `solo serve` processes.

alice is driven through her browser; bob, the other server, through HTTP forms. The browser
reaches `*.test` through Chromium's own host rules, so no DNS or /etc/hosts is involved.
Screenshots of alice's pages land in `test-artifacts/screenshots/` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    WAIT_MS,
    alice_and_bob,
    browser,
    browser_marks,
    card,
    log_in,
    screenshot,
    screenshots,
    status_id_at,
)
from tests.fleet import eventually
from tests.processes import submit

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()


async def test_alice_posts_follows_boosts_and_sees_a_reply_live(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as (alice, bob, page):
        # Posting from the home page's form puts the post on the timeline in place.
        await page.fill("#compose-text", "Hello from alice's browser")
        await page.click("form.compose button[type=submit]")
        mine = card(page, "Hello from alice's browser")
        await expect(mine).to_have_count(1, timeout=WAIT_MS)
        await expect(page.locator("#compose-text")).to_have_value("")
        alice_status = await mine.get_attribute("data-status")

        # bob writes before alice knows him.
        bob_notes = [f"Bob's note number {n}" for n in range(1, 4)]
        async with bob.logged_in() as http:
            for text in bob_notes:
                response = await submit(http, "/", "/statuses", text=text)
                assert response.status_code == 303, response.text

        # Search, open the profile, follow.
        await page.fill("#search-q", f"@bob@{bob.domain}")
        await page.press("#search-q", "Enter")
        account_link = page.locator(".accounts a.author", has_text=f"@bob@{bob.domain}")
        await expect(account_link).to_be_visible(timeout=WAIT_MS)
        await account_link.click()
        await page.wait_for_url(re.compile(r"/@bob@"))
        await page.click(".relationship form[action='/follow'] button")
        await expect(page.locator(".relationship form[action='/unfollow'] button")).to_be_visible(
            timeout=WAIT_MS
        )

        # Following fills the home timeline with bob's earlier posts.
        await page.goto(f"{alice.base_url}/")

        async def backfilled() -> bool:
            for text in bob_notes:
                if await card(page, text).count() == 0:
                    await page.reload()
                    return False
            return True

        await eventually(backfilled, within=20, what="bob's posts on alice's home")

        # Boosting acts in place: the button turns into a pressed Unboost, no page load.
        await page.evaluate("window.soloMarker = 'same page'")
        target = card(page, bob_notes[1]).first
        entry = await target.get_attribute("data-id")
        boosted_card = page.locator(f'#timeline article.status[data-id="{entry}"]')
        await boosted_card.locator("form.boost button").click()
        unboost = boosted_card.locator("form.unboost button")
        await expect(unboost).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await expect(boosted_card.locator("form.boost")).to_have_count(0)

        # bob follows alice and replies to her post, mentioning her: with her home page open,
        # the follow notification, the reply and its notification arrive without a reload.
        badge = page.locator("header.site .notification-count")
        async with bob.logged_in() as http:
            response = await submit(http, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code in (200, 303), response.text
            await expect(badge).to_have_text("1", timeout=WAIT_MS)
            await expect(badge).to_be_visible()
            address = f"{alice.actor}/statuses/{alice_status}"
            bob_copy = await status_id_at(bob, http, address)
            reply_text = "Welcome to the fediverse, alice!"
            response = await submit(
                http,
                "/",
                "/statuses",
                text=f"@alice@{alice.domain} {reply_text}",
                in_reply_to=bob_copy,
            )
            assert response.status_code == 303, response.text
        reply = card(page, reply_text)
        await expect(reply).to_have_count(1, timeout=WAIT_MS)
        await expect(reply.locator(".reply-to")).to_contain_text("@alice@")
        await expect(badge).to_have_text("2", timeout=WAIT_MS)
        assert await page.evaluate("window.soloMarker") == "same page"

        # Screenshots for a person to look at, checked here only for being real PNGs.
        if SCREENSHOTS.exists():
            shutil.rmtree(SCREENSHOTS)
        SCREENSHOTS.mkdir(parents=True)
        for scheme in ("light", "dark"):
            await screenshots(page, "home", scheme)
        await page.goto(f"{alice.base_url}/@bob@{bob.domain}")
        await screenshot(page, "profile", "light", DESKTOP)
        await screenshot(page, "profile", "dark", PHONE)
        await page.goto(f"{alice.base_url}/notifications")
        await expect(page.locator("#notifications li.notification")).to_have_count(2)
        await screenshot(page, "notifications", "light", DESKTOP)
        await screenshot(page, "notifications", "dark", PHONE)

        visitor = await browser.new_context()
        login = await visitor.new_page()
        await login.goto(f"{alice.base_url}/login")
        await screenshot(login, "login", "light", PHONE)
        await visitor.close()


async def test_alice_posts_an_image_and_a_poll_that_bob_sees_and_answers(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as (alice, bob, page):
        async with bob.logged_in() as http:
            response = await submit(http, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code in (200, 303), response.text
        picture = tmp_path / "sunset.png"
        image = Image.new("RGB", (800, 600), (250, 120, 30))
        image.save(picture, "PNG")

        await page.fill("#compose-text", "A picture for you")
        await page.click("details.media-field summary")
        await page.set_input_files("#file-1", str(picture))
        await page.fill("#file-alt-1", "An orange sunset")
        await page.click("form.compose button[type=submit]")
        mine = card(page, "A picture for you")
        await expect(mine).to_have_count(1, timeout=WAIT_MS)
        shown = mine.locator("img.media")
        await expect(shown).to_have_attribute("alt", "An orange sunset", timeout=WAIT_MS)
        # The picture really loads (served by us, under our CSP).
        loaded = await shown.evaluate("img => img.decode().then(() => img.naturalWidth)")
        assert loaded > 0
        await screenshot(page, "attachment", "light", DESKTOP)

        # bob's server got it and shows it through its media cache.
        bob_page = await log_in(await browser.new_context(viewport=PHONE), bob)

        async def arrived() -> bool:
            await bob_page.goto(f"{bob.base_url}/")
            return await card(bob_page, "A picture for you").count() == 1

        await eventually(arrived, within=20, what="alice's post at bob's")
        remote = card(bob_page, "A picture for you").locator("img.media")
        await expect(remote).to_have_attribute("alt", "An orange sunset")
        assert (await remote.get_attribute("src") or "").startswith("/proxy/")
        width = await remote.evaluate("img => img.decode().then(() => img.naturalWidth)")
        assert width > 0
        await screenshot(bob_page, "attachment", "dark", PHONE)

        # A poll from alice's browser; bob votes at his server; alice sees the count change.
        await page.fill("#compose-text", "Tea or coffee?")
        await page.click("details.poll-field summary")
        await page.fill("#poll-option-1", "Tea")
        await page.fill("#poll-option-2", "Coffee")
        await page.click("form.compose button[type=submit]")
        poll = card(page, "Tea or coffee?")
        await expect(poll.locator(".poll-option")).to_have_count(2, timeout=WAIT_MS)
        await expect(poll.locator(".poll-meta")).to_contain_text("0 people")
        poll_id = await poll.get_attribute("data-status")
        async with bob.logged_in() as http:
            address = f"{alice.actor}/statuses/{poll_id}"

            async def at_bob() -> bool:
                response = await http.get("/search", params={"q": address})
                return "Tea or coffee?" in response.text

            await eventually(at_bob, within=20, what="the poll at bob's")
            bob_copy = await status_id_at(bob, http, address)
            response = await submit(http, "/", f"/statuses/{bob_copy}/vote", choice="1")
            assert response.status_code in (200, 303), response.text

        async def counted() -> bool:
            await page.reload()
            text = await card(page, "Tea or coffee?").locator(".poll-meta").inner_text()
            return "1 person" in text

        await eventually(counted, within=20, what="bob's vote counted at alice's")
        await expect(card(page, "Tea or coffee?").locator(".poll-percent").nth(1)).to_have_text(
            "100%"
        )
        await screenshot(page, "poll", "light", PHONE)
