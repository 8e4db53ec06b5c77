"""Reading in a real headless Chromium: the keyboard-only journey (write a post, favourite with
f, open a thread with Enter, go back), focus and the live region after an action in place,
Escape on menus, the shortcuts list, the "N new posts" pill, and the profile's tabs."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    WAIT_MS,
    alice_and_bob,
    browser,
    browser_marks,
    card,
    follow_bob_after_he_posts,
    screenshots,
)
from tests.processes import submit

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()


async def focused(page: Page) -> str:
    """What has the focus, as `tag.class` with the action of its form when it has one."""
    return str(
        await page.evaluate(
            """() => {
              const e = document.activeElement;
              const form = e.closest("form");
              const card = e.closest("article.status");
              return [e.tagName.toLowerCase(), e.className, form ? form.className : "",
                      card ? card.dataset.id : ""].join("|");
            }"""
        )
    )


async def tab_to(page: Page, selector: str, most: int = 40) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user does."""
    for _ in range(most):
        if await page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus: {await focused(page)}")


async def test_keyboard_only_journey(tmp_path: Path, template_root: Path, browser: Browser) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, _, page = run
        await follow_bob_after_he_posts(run, "Bob writes for keyboards")
        await page.set_viewport_size(DESKTOP)

        # n goes to the composer; the post is written and sent with the keyboard alone.
        await page.locator("body").press("n")
        await expect(page.locator("#compose-text")).to_be_focused()
        await page.keyboard.type("Typed without a mouse")
        await tab_to(page, "form.compose button[type=submit]")
        await page.keyboard.press("Enter")
        await expect(card(page, "Typed without a mouse")).to_have_count(1, timeout=WAIT_MS)

        # j and k move between posts with a visible focus; keys typed in a field are text.
        await page.locator("#compose-text").press("j")
        await expect(page.locator("#compose-text")).to_have_value("j")
        await page.locator("#compose-text").fill("")
        await page.locator("#compose-text").blur()
        await page.keyboard.press("j")
        mine = card(page, "Typed without a mouse")
        await expect(mine).to_be_focused()
        outline = await mine.evaluate("e => getComputedStyle(e).outlineStyle")
        assert outline == "solid", outline
        await page.keyboard.press("j")
        bobs = card(page, "Bob writes for keyboards")
        await expect(bobs).to_be_focused()
        await page.keyboard.press("k")
        await expect(mine).to_be_focused()
        await page.keyboard.press("j")
        for scheme, size in (("light", PHONE), ("dark", DESKTOP)):
            await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            await page.set_viewport_size(size)
            await bobs.scroll_into_view_if_needed()
            shot = SCREENSHOTS / f"keyboard-focus-{scheme}-{size['width']}.png"
            await page.screenshot(path=str(shot))
        await page.set_viewport_size(DESKTOP)

        # f favourites: focus stays on the (now pressed) button, the live region says so.
        await page.keyboard.press("f")
        unfavourite = bobs.locator("form.unfavourite button")
        await expect(unfavourite).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await expect(unfavourite).to_be_focused()
        await expect(page.locator("#announcer")).to_have_text("Favourited")
        await expect(page.locator("#announcer")).to_have_attribute("aria-live", "polite")
        # Enter on the focused button undoes it, focus still there.
        await page.keyboard.press("Enter")
        favourite = bobs.locator("form.favourite button")
        await expect(favourite).to_be_focused(timeout=WAIT_MS)
        await expect(page.locator("#announcer")).to_have_text("Favourite undone")
        await page.keyboard.press("f")
        await expect(unfavourite).to_be_focused(timeout=WAIT_MS)

        # Escape closes a post's menu and gives the focus back to its summary.
        more = bobs.locator("details.more")
        await more.locator("summary").focus()
        await page.keyboard.press("Enter")
        await expect(more).to_have_attribute("open", "")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Escape")
        await expect(more).not_to_have_attribute("open", "")
        await expect(more.locator("summary")).to_be_focused()

        # ? lists the shortcuts in a dialog, Escape closes it.
        await page.keyboard.press("?")
        dialog = page.locator("dialog#shortcuts")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("Favourite")
        for scheme, size in (("light", DESKTOP), ("dark", PHONE)):
            await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            await page.set_viewport_size(size)
            await page.screenshot(path=str(SCREENSHOTS / f"shortcuts-{scheme}-{size['width']}.png"))
        await page.set_viewport_size(DESKTOP)
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

        # b boosts the post that has the focus; the focus and the live region follow.
        await page.keyboard.press("b")
        unboost = bobs.locator("form.unboost button")
        await expect(unboost).to_be_focused(timeout=WAIT_MS)
        await expect(page.locator("#announcer")).to_have_text("Boosted")

        # Enter on a focused post opens its thread; back returns to the timeline as it was.
        await page.keyboard.press("k")
        await page.keyboard.press("j")
        await expect(bobs).to_be_focused()
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/@bob@[^/]+/\d+$"))
        assert await page.locator("h1").count() == 1
        await expect(page.locator("article.status.focused")).to_contain_text(
            "Bob writes for keyboards"
        )
        await page.go_back()
        await page.wait_for_url(f"{alice.base_url}/")
        await expect(
            card(page, "Bob writes for keyboards").locator("form.unfavourite")
        ).to_have_count(1)

        # r answers the post that has the focus; / goes to the search box.
        await page.keyboard.press("j")
        await expect(card(page, "Typed without a mouse")).to_be_focused()
        mine_id = await card(page, "Typed without a mouse").get_attribute("data-status")
        await page.keyboard.press("r")
        await page.wait_for_url(f"{alice.base_url}/compose?in_reply_to={mine_id}")
        await page.locator("body").press("/")
        await expect(page.locator("#search-q")).to_be_focused()


async def test_new_posts_wait_in_a_pill_while_reading_further_down(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, bob, page = run
        await follow_bob_after_he_posts(run, "Bob's first")
        async with alice.logged_in() as http:
            for n in range(12):
                response = await submit(http, "/", "/statuses", text=f"Alice's filler {n}")
                assert response.status_code == 303, response.text
        await page.set_viewport_size(PHONE)
        await page.goto(f"{alice.base_url}/")
        # At the top a live post goes straight in.
        async with bob.logged_in() as http:
            response = await submit(http, "/", "/statuses", text="Bob while you are on top")
            assert response.status_code == 303, response.text
        await expect(card(page, "Bob while you are on top")).to_have_count(1, timeout=WAIT_MS)

        # Further down, the page does not move: the posts wait behind a pill.
        reading = card(page, "Alice's filler 3")
        await reading.scroll_into_view_if_needed()
        await page.evaluate("window.scrollBy(0, 200)")
        before = await reading.evaluate("e => e.getBoundingClientRect().top")
        pill = page.locator("button.new-posts")
        await expect(pill).to_be_hidden()
        async with bob.logged_in() as http:
            for text in ("Bob's live one", "Bob's live two"):
                response = await submit(http, "/", "/statuses", text=text)
                assert response.status_code == 303, response.text
        await expect(pill).to_have_text("2 new posts", timeout=WAIT_MS)
        await expect(pill).to_be_visible()
        # In sight: below the phone's sticky header, not behind it.
        header = await page.locator("header.site").bounding_box()
        shown = await pill.bounding_box()
        assert header is not None and shown is not None
        assert shown["y"] >= header["y"] + header["height"], (header, shown)
        await expect(card(page, "Bob's live one")).to_have_count(0)
        after = await reading.evaluate("e => e.getBoundingClientRect().top")
        assert after == before, (before, after)
        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            await page.screenshot(path=str(SCREENSHOTS / f"new-posts-{scheme}-390.png"))

        # Clicking shows them, newest first, at the top, the newest focused.
        await pill.click()
        await expect(pill).to_be_hidden()
        cards = page.locator("#timeline article.status")
        await expect(cards.nth(0)).to_contain_text("Bob's live two")
        await expect(cards.nth(1)).to_contain_text("Bob's live one")
        await expect(cards.nth(0)).to_be_focused()


async def test_profile_tabs_in_the_browser(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_and_bob(tmp_path, template_root, browser) as run:
        alice, bob, page = run
        await follow_bob_after_he_posts(run, "Bob's post for tabs")
        async with alice.logged_in() as http:
            response = await submit(http, "/", "/statuses", text="Alice's own post")
            assert response.status_code == 303, response.text
        await page.goto(f"{alice.base_url}/@bob@{bob.domain}")
        # Unfollow and follow again in place: the focus moves to the button that took the
        # pressed one's place, and the live region says what the server answered.
        await page.click(".relationship form[action='/unfollow'] button")
        follow = page.locator(".relationship form[action='/follow'] button")
        await expect(follow).to_be_focused(timeout=WAIT_MS)
        announcer = page.locator("#announcer")
        await expect(announcer).to_have_text(f"You no longer follow @bob@{bob.domain}.")
        await page.keyboard.press("Enter")
        unfollow = page.locator(".relationship form[action='/unfollow'] button")
        await expect(unfollow).to_be_focused(timeout=WAIT_MS)
        await expect(announcer).to_contain_text(f"@bob@{bob.domain}")
        tabs = page.locator("nav.profile-tabs a")
        await expect(tabs).to_have_text(["Posts", "Posts and replies", "Media"])
        await expect(tabs.nth(0)).to_have_attribute("aria-current", "page")
        await tabs.nth(2).click()
        await page.wait_for_url(re.compile(r"/@bob@[^/]+/media$"))
        await expect(tabs.nth(2)).to_have_attribute("aria-current", "page")
        await expect(page.locator("p.empty")).to_have_text("No posts with media yet.")
        await page.goto(f"{alice.base_url}/@alice/with_replies")
        await expect(card(page, "Alice's own post")).to_have_count(1)
        for scheme in ("light", "dark"):
            await screenshots(page, "profile-tabs", scheme)
