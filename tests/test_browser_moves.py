"""Moving an account in a real headless Chromium, against real `solo serve` processes: b names
a as an alias on the moving page, a moves to b with its password, a's profile says where it
went, and the undo. Screenshots land in `test-artifacts/screenshots/`."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    WAIT_MS,
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


async def test_an_account_moves_in_the_browser(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with started(tmp_path, template_root, "a", "b") as (a, b):
        errors: list[str] = []
        b_page = await log_in(await browser.new_context(viewport=DESKTOP), b)
        b_page.on("pageerror", lambda error: errors.append(str(error)))
        await b_page.goto(f"{b.base_url}/settings")
        await b_page.click("a[href='/settings/moving']")
        await expect(b_page.locator("h1")).to_have_text("Moving here from another account")
        await screenshots(b_page, "moving", "light")

        # An address that leads nowhere is refused on the page, as typed.
        await b_page.fill("#alias", "@nobody@nowhere.test")
        await b_page.click("form[action='/settings/aliases'] button[type=submit]")
        await expect(b_page.locator("#aliases .error")).to_contain_text("Could not find")
        await expect(b_page.locator("#alias")).to_have_value("@nobody@nowhere.test")
        await screenshot(b_page, "moving-alias-refused", "light", PHONE)

        await b_page.fill("#alias", f"@a@{a.domain}")
        await b_page.click("form[action='/settings/aliases'] button[type=submit]")
        await expect(b_page.locator("main .notice")).to_contain_text("is an alias of this account")
        aliases = b_page.locator("#aliases ul.domain-blocks li")
        await expect(aliases).to_contain_text(f"@a@{a.domain}")
        await screenshot(b_page, "moving-alias", "dark", PHONE)

        a_page = await log_in(await browser.new_context(viewport=DESKTOP), a)
        await a_page.goto(f"{a.base_url}/settings/moving")
        await a_page.fill("#target", f"@b@{b.domain}")
        await a_page.fill("#move-password", PASSWORD)
        await a_page.click("form[action='/settings/move'] button[type=submit]")
        await expect(a_page.locator("main .notice")).to_contain_text(
            "This account has moved to", timeout=WAIT_MS
        )
        await screenshots(a_page, "moved", "light")
        await a_page.goto(f"{a.base_url}/@a")
        await expect(a_page.locator(".moved")).to_contain_text(f"has moved to @b@{b.domain}")
        await screenshots(a_page, "moved-profile", "light")

        await a_page.goto(f"{a.base_url}/settings/moving")
        await a_page.click("form[action='/settings/move/undo'] button[type=submit]")
        await expect(a_page.locator("main .notice.card")).to_contain_text("The move is undone")
        await expect(a_page.locator("#move")).to_contain_text("another move is possible in 30")
        await screenshot(a_page, "move-undone", "light", PHONE)
        assert errors == []
