"""The app shell in a real Chromium: the navigation column and the composer beside the timeline
on a desktop; on a phone a slim header, the first post high on the screen and a tab bar at the
bottom; `aria-current` on the page shown; 44px tap targets on touch screens; icons from one
sprite; no request leaves the instance. Every main page is screenshotted at phone and desktop
size, light and dark, into `test-artifacts/screenshots/shell-*`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    WAIT_MS,
    browser,
    browser_marks,
    log_in,
    screenshot,
    started,
)
from tests.processes import SoloProcess, submit

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks(300)

TAP = 44  # px: the smallest a finger hits reliably (WCAG 2.5.5, Apple's and Google's guides)
PAGES = ("home", "notifications", "profile", "thread", "settings", "search")


async def _posts(alice: SoloProcess, count: int) -> None:
    async with alice.logged_in() as http:
        for n in range(1, count + 1):
            text = f"Post number {n} of a quiet morning, long enough to wrap on a phone screen."
            response = await submit(http, "/", "/statuses", text=text)
            assert response.status_code == 303, response.text


def _strangers(page: Page, base_url: str) -> list[str]:
    """Collects every URL the page asks for outside the instance."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url) if not request.url.startswith((base_url, "data:")) else None
        ),
    )
    return seen


async def _size(page: Page, selector: str) -> list[tuple[str, float, float]]:
    """The label, width and height of every visible element matching `selector`."""
    boxes: list[tuple[str, float, float]] = await page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.offsetParent !== null).map(e => {
            const r = e.getBoundingClientRect();
            const name = (e.querySelector(".label") || e).textContent || "";
            return [name.trim().slice(0, 30), r.width, r.height];
        })""",
    )
    return boxes


async def _current(page: Page, nav: str) -> list[str]:
    """The names of the entries of `nav` marked as the current page."""
    names: list[str] = await page.eval_on_selector_all(
        f"{nav} [aria-current='page']",
        "els => els.map(e => ((e.querySelector('.label') || e).textContent || '').trim())",
    )
    return names


async def _page_urls(page: Page, alice: SoloProcess) -> dict[str, str]:
    await page.goto(f"{alice.base_url}/")
    status = await page.locator("#timeline article.status").first.get_attribute("data-status")
    return {
        "home": "/",
        "notifications": "/notifications",
        "profile": "/@alice",
        "thread": f"/@alice/{status}",
        "settings": "/settings",
        "search": "/search?q=morning",
    }


async def test_the_shell_on_a_phone(tmp_path: Path, template_root: Path, browser: Browser) -> None:
    async with started(tmp_path, template_root, "alice") as (alice,):
        await _posts(alice, 6)
        context: BrowserContext = await browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True
        )
        page = await log_in(context, alice)
        strangers = _strangers(page, alice.base_url)
        assert await page.evaluate("matchMedia('(pointer: coarse)').matches")

        # The timeline starts right under a slim header: no navigation rows, no composer first.
        first = page.locator("#timeline article.status").first
        box = await first.bounding_box()
        assert box is not None and box["y"] <= 120, box
        await expect(page.locator("header.site .side-nav")).to_be_hidden()
        await expect(page.locator("#compose-text")).to_be_hidden()
        header = await page.locator("header.site").bounding_box()
        assert header is not None and header["height"] <= 60, header

        # The tab bar: five places, each at least 44px, Home marked as the current page.
        tabs = page.locator("nav.tab-bar")
        await expect(tabs).to_be_visible()
        bar = await tabs.bounding_box()
        assert bar is not None and bar["y"] + bar["height"] == pytest.approx(844, abs=1)
        places = await _size(page, "nav.tab-bar > a, nav.tab-bar > details > summary")
        assert [label for label, _, _ in places] == [
            "Home",
            "Notifications",
            "Search",
            "Compose",
            "More",
        ]
        assert all(w >= TAP and h >= TAP for _, w, h in places), places
        assert await _current(page, "nav.tab-bar") == ["Home"]

        # The status actions are 44px targets too.
        actions = await _size(
            page,
            "#timeline .actions > a.action, #timeline .actions > form button, "
            "#timeline .actions details.more > summary",
        )
        assert len(actions) >= 5 * 6, actions
        assert all(w >= TAP and h >= TAP for _, w, h in actions), [
            a for a in actions if a[1] < TAP or a[2] < TAP
        ]

        # The icons come from the one sprite, and are drawn.
        width = await page.evaluate(
            "document.querySelector('nav.tab-bar a[href=\"/\"] use').getBBox().width"
        )
        assert width > 0

        # "New post" in the header opens the composer; posting comes back home.
        await page.click("header.site a.new-post")
        await page.wait_for_url(f"{alice.base_url}/compose")
        await expect(page.locator("#compose-text")).to_be_visible()
        assert await _current(page, "nav.tab-bar") == ["Compose"]
        await page.fill("#compose-text", "Written on a phone")
        await page.click("form.compose button[type=submit]")
        await page.wait_for_url(f"{alice.base_url}/")
        await expect(page.locator("#timeline article.status").first).to_contain_text(
            "Written on a phone", timeout=WAIT_MS
        )

        # "More" opens the rest of the places without a page load; Settings is marked there.
        await page.click("nav.tab-bar details.tab-more > summary")
        menu = page.locator("nav.tab-bar .tab-more .menu")
        await expect(menu).to_be_visible()
        entries = await _size(page, "nav.tab-bar .tab-more .menu a, nav.tab-bar .tab-more button")
        assert [label for label, _, _ in entries] == [
            "Local",
            "Federated",
            "Conversations",
            "Bookmarks",
            "Lists and hashtags",
            "Profile",
            "Settings",
            "Server",
            "Log out",
        ]
        assert all(h >= TAP for _, _, h in entries), entries
        await screenshot(page, "shell-more-menu", "dark", PHONE)
        await menu.locator("a[href='/settings']").click()
        await page.wait_for_url(f"{alice.base_url}/settings")
        assert await _current(page, "nav.tab-bar") == ["Settings"]
        await expect(page.locator("nav.tab-bar details.tab-more > summary")).to_have_class(
            "current"
        )

        for name, path in (await _page_urls(page, alice)).items():
            await page.goto(f"{alice.base_url}{path}")
            for scheme in ("light", "dark"):
                await screenshot(page, f"shell-{name}", scheme, PHONE)
        assert strangers == []
        await context.close()


async def test_the_shell_on_a_desktop(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with started(tmp_path, template_root, "alice") as (alice,):
        await _posts(alice, 4)
        context = await browser.new_context(viewport=DESKTOP)
        page = await log_in(context, alice)
        strangers = _strangers(page, alice.base_url)
        assert not await page.evaluate("matchMedia('(pointer: coarse)').matches")

        # The navigation with icons and labels on the left, the timeline, the composer right.
        nav = page.locator("header.site nav.side-nav")
        await expect(nav).to_be_visible()
        await expect(page.locator("nav.tab-bar")).to_be_hidden()
        labels = [(await label.inner_text()).strip() for label in await nav.locator(".label").all()]
        assert labels == [
            "Home",
            "Notifications",
            "Search",
            "Local",
            "Federated",
            "Conversations",
            "Bookmarks",
            "Lists and hashtags",
            "Profile",
            "Settings",
            "Server",
            "Log out",
        ]
        assert await _current(page, "header.site nav.side-nav") == ["Home"]
        left = await nav.bounding_box()
        timeline = await page.locator("#timeline").bounding_box()
        composer = await page.locator("aside.side #compose-text").bounding_box()
        assert left and timeline and composer
        assert left["x"] + left["width"] <= timeline["x"]
        assert timeline["x"] + timeline["width"] <= composer["x"]
        assert composer["y"] < 200  # in sight without scrolling
        await expect(page.locator("header.site a.new-post")).to_be_hidden()

        # Posting from the side column puts the post on the timeline in place.
        await page.fill("#compose-text", "Posted from the side column")
        await page.click("aside.side form.compose button[type=submit]")
        await expect(page.locator("#timeline article.status").first).to_contain_text(
            "Posted from the side column", timeout=WAIT_MS
        )
        assert page.url == f"{alice.base_url}/"

        # Each page marks its own entry, and only that one.
        for path, label in (
            ("/local", "Local"),
            ("/federated", "Federated"),
            ("/bookmarks", "Bookmarks"),
            ("/lists", "Lists and hashtags"),
            ("/settings/filters", "Settings"),
            ("/@alice", "Profile"),
            ("/notifications", "Notifications"),
        ):
            await page.goto(f"{alice.base_url}{path}")
            assert await _current(page, "header.site nav.side-nav") == [label], path
            # Pages without a composer keep the timeline where it was, and offer "New post".
            await expect(page.locator("header.site a.new-post")).to_be_visible()
        await page.goto(f"{alice.base_url}/compose")
        assert await _current(page, "header.site nav.side-nav") == []

        # The icons are drawn from the sprite, which is served as SVG.
        status, kind, sprite = await page.evaluate(
            """fetch('/static/icons.svg').then(
                async r => [r.status, r.headers.get('content-type'), await r.text()])"""
        )
        assert status == 200 and kind.startswith("image/svg+xml")
        assert re.search(r'<symbol id="home"', sprite)
        width = await page.evaluate(
            "document.querySelector('.side-nav a[href=\"/\"] use').getBBox().width"
        )
        assert width > 0

        # A tablet gets a rail of icons, their names kept for screen readers.
        await page.set_viewport_size({"width": 820, "height": 1000})
        await page.goto(f"{alice.base_url}/")
        rail = await nav.bounding_box()
        assert rail is not None and rail["width"] <= 80, rail
        await expect(nav.locator("a[href='/']")).to_have_accessible_name("Home")
        await screenshot(page, "shell-home", "light", {"width": 820, "height": 1000})

        for name, path in (await _page_urls(page, alice)).items():
            await page.goto(f"{alice.base_url}{path}")
            for scheme in ("light", "dark"):
                await screenshot(page, f"shell-{name}", scheme, DESKTOP)
        assert strangers == []
        await context.close()
