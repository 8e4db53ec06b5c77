"""The composer in a real headless Chromium (static/compose.js) against a real `solo serve`:
thumbnails before posting, alt text and focal points stored, images pasted and dropped (events
dispatched with a DataTransfer, as the browser makes them), a non-image dropped and a 100 MP
image pasted refused in the page with nothing uploaded, the counter red and Post disabled past
the limit, Ctrl+Enter, and the question before posting an image without alt text.
Screenshots at 390×844 and 1280×800 land in `test-artifacts/screenshots/`."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

from playwright.async_api import Browser, Page, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    WAIT_MS,
    browser,
    browser_marks,
    card,
    log_in,
    screenshot,
    started,
)
from tests.processes import SoloProcess
from tests.test_media_attachments import huge_png, png

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks()

FILLED = "form.compose .attachment-row.filled"
ALERT = "form.compose .error[role=alert]"

# Dispatches a paste of `files` (name, type, base64) on the composer's text, or a drop on the
# form, the way the browser does: the files in a DataTransfer.
SEND_FILES = """([kind, files]) => {
  const transfer = new DataTransfer();
  for (const [name, type, data] of files) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  const text = document.querySelector("#compose-text");
  const how = { bubbles: true, cancelable: true };
  if (kind === "paste") {
    text.focus();
    text.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, ...how }));
  } else {
    text.form.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, ...how }));
    text.form.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, ...how }));
  }
}"""


class Alice(NamedTuple):
    node: SoloProcess
    page: Page


@asynccontextmanager
async def alice_alone(
    tmp_path: Path, template_root: Path, browser: Browser
) -> AsyncIterator[Alice]:
    """alice as a running `solo serve`, logged in on a desktop-sized page; leaving the block
    without an error checks that the page raised no JavaScript errors."""
    async with started(tmp_path, template_root, "alice") as (alice,):
        context = await browser.new_context(viewport=DESKTOP)
        try:
            errors: list[str] = []
            page = await log_in(context, alice)
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield Alice(alice, page)
            assert errors == [], errors
        finally:
            await context.close()


def encoded(name: str, kind: str, data: bytes) -> list[str]:
    return [name, kind, base64.b64encode(data).decode()]


def media_rows(node: SoloProcess) -> list[tuple[str, float, float, int | None]]:
    with sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT description, focus_x, focus_y, status_id FROM media ORDER BY id"
        ).fetchall()


async def test_thumbnails_alt_text_focal_point_paste_drop_and_the_reminder(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_alone(tmp_path, template_root, browser) as (alice, page):
        picture = tmp_path / "red.png"
        picture.write_bytes(png(400, 200))

        # A file chosen: its thumbnail before posting, from an object URL.
        await page.click("details.media-field summary")
        await expect(page.locator(".dropzone")).to_be_visible()
        await page.set_input_files("#file-1", str(picture))
        thumbnail = page.locator(f"{FILLED} .focus-picker img")
        await expect(thumbnail).to_have_count(1, timeout=WAIT_MS)
        assert (await thumbnail.get_attribute("src") or "").startswith("blob:")
        assert await thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") == 400
        await page.fill("#file-alt-1", "A red rectangle")

        # The focal point: a click on the thumbnail, three quarters across and a quarter down.
        box = await thumbnail.bounding_box()
        assert box is not None
        await thumbnail.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.25})
        await expect(page.locator("#file-focus-1")).not_to_have_value("")
        x, y = map(float, (await page.locator("#file-focus-1").input_value()).split(","))
        # A pixel either way: a pixel is 2/width of the -1…1 range across, 2/height down.
        slack_x, slack_y = 2.5 / box["width"], 2.5 / box["height"]
        assert abs(x - 0.5) < slack_x and abs(y - 0.5) < slack_y, (x, y, box)

        # An image pasted into the text, and one dropped on the form.
        pasted = encoded("image.png", "image/png", png(30, 30))
        await page.evaluate(SEND_FILES, ["paste", [pasted]])
        await expect(page.locator(FILLED)).to_have_count(2, timeout=WAIT_MS)
        dropped = encoded("dropped.png", "image/png", png(50, 20))
        await page.evaluate(SEND_FILES, ["drop", [dropped]])
        await expect(page.locator(FILLED)).to_have_count(3, timeout=WAIT_MS)
        await expect(page.locator(ALERT)).to_be_hidden()

        # A file that is no image is refused in the page, and nothing is attached.
        notes = encoded("notes.txt", "text/plain", b"shopping list")
        await page.evaluate(SEND_FILES, ["drop", [notes]])
        await expect(page.locator(ALERT)).to_contain_text("notes.txt was not attached")
        await expect(page.locator(FILLED)).to_have_count(3)

        await page.fill("#compose-text", "Three pictures, one of them dropped")
        await screenshot(page, "composer-thumbnails", "light", DESKTOP)
        await screenshot(page, "composer-thumbnails", "dark", PHONE)
        await page.set_viewport_size(DESKTOP)

        # Removing one frees its slot; then Ctrl+Enter, with the pasted image undescribed.
        await page.locator(FILLED).nth(2).locator("button.remove-file").click()
        await expect(page.locator(FILLED)).to_have_count(2)
        await page.press("#compose-text", "Control+Enter")
        reminder = page.locator("form.compose .alt-reminder")
        await expect(reminder).to_contain_text("1 image has no description: post anyway?")
        assert media_rows(alice) == []  # asked before anything was sent
        await screenshot(page, "composer-alt-reminder", "light", PHONE)
        await screenshot(page, "composer-alt-reminder", "dark", DESKTOP)
        await page.set_viewport_size(DESKTOP)

        # "Add descriptions" goes to the field that needs one.
        await reminder.get_by_role("button", name="Add descriptions").click()
        await expect(reminder).to_have_count(0)
        pasted_alt = page.locator(FILLED).nth(1).locator(".alt-text")
        await expect(pasted_alt).to_be_focused()
        await pasted_alt.fill("A small green square")
        await pasted_alt.press("Control+Enter")
        mine = card(page, "Three pictures, one of them dropped")
        await expect(mine).to_have_count(1, timeout=WAIT_MS)
        await expect(mine.locator("img.media")).to_have_count(2)
        await expect(page.locator(FILLED)).to_have_count(0)  # the form empties
        await expect(page.locator("#compose-text")).to_have_value("")
        rows = media_rows(alice)
        assert [(d, fx, fy) for d, fx, fy, _ in rows] == [
            ("A red rectangle", x, y),
            ("A small green square", 0.0, 0.0),
        ]
        assert all(status is not None for *_, status in rows)

        # Editing it: the kept pictures get the same focal point picker.
        post_id = await mine.get_attribute("data-status")
        await page.goto(f"{alice.base_url}/compose?edit={post_id}")
        kept = page.locator("form.compose .attachment-row.kept .focus-picker img")
        await expect(kept).to_have_count(2)
        await screenshot(page, "composer-edit", "light", PHONE)
        await page.set_viewport_size(DESKTOP)
        box = await kept.nth(1).bounding_box()
        assert box is not None
        await kept.nth(1).click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.9})
        await page.click("form.compose .compose-bar button[type=submit]")
        await page.wait_for_url(f"{alice.base_url}/@alice/{post_id}")
        fx, fy = media_rows(alice)[1][1:3]
        assert abs(fx + 0.8) < 0.05 and abs(fy + 0.8) < 0.05, (fx, fy)  # near the bottom left
        await page.goto(f"{alice.base_url}/")

        # Post anyway: one image with no description, confirmed.
        await page.set_input_files("#file-1", str(picture))
        await expect(page.locator(FILLED)).to_have_count(1, timeout=WAIT_MS)
        await page.fill("#compose-text", "No words for this one")
        await page.click("form.compose .compose-bar button[type=submit]")
        await reminder.get_by_role("button", name="Post anyway").click()
        await expect(card(page, "No words for this one")).to_have_count(1, timeout=WAIT_MS)
        assert media_rows(alice)[-1][0] == ""


async def test_the_counter_the_limit_and_a_100_megapixel_paste(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with alice_alone(tmp_path, template_root, browser) as (alice, page):
        counter = page.locator("form.compose .counter")
        post = page.locator("form.compose .compose-bar button[type=submit]")
        await page.fill("#compose-text", "x" * 499)
        await expect(counter).to_have_text("1 character left")
        await expect(post).to_be_enabled()
        await page.fill("#compose-text", "x" * 480 + " é🙂" + "x" * 19)  # 502 code points
        await expect(counter).to_have_text("2 characters too many")
        await expect(post).to_be_disabled()
        red = await page.evaluate(
            "getComputedStyle(document.querySelector('form.compose .counter')).color"
        )
        error = await page.evaluate(
            "getComputedStyle(document.querySelector('.error') || document.body)"
            ".getPropertyValue('--error').trim()"
        )
        assert red == "rgb(179, 38, 30)", (red, error)  # the light theme's --error
        await screenshot(page, "composer-over-limit", "light", PHONE)
        await page.set_viewport_size(DESKTOP)
        await page.emulate_media(color_scheme="light")
        # Ctrl+Enter does not send it either.
        await page.press("#compose-text", "Control+Enter")
        await page.wait_for_timeout(300)
        assert await card(page, "x" * 20).count() == 0

        # A picture of 100 megapixels pasted: refused in the page, nothing uploaded.
        await page.fill("#compose-text", "Too big")
        await expect(post).to_be_enabled()
        await page.evaluate(SEND_FILES, ["paste", [encoded("image.png", "image/png", huge_png())]])
        await expect(page.locator(ALERT)).to_contain_text(
            "image.png is 10000×10000 pixels; the limit is 33 megapixels", timeout=WAIT_MS
        )
        await expect(page.locator(FILLED)).to_have_count(0)
        await screenshot(page, "composer-too-big", "dark", DESKTOP)
        await page.press("#compose-text", "Control+Enter")
        await expect(card(page, "Too big")).to_have_count(1, timeout=WAIT_MS)
        await expect(card(page, "Too big").locator("img.media")).to_have_count(0)
        assert media_rows(alice) == []


async def test_without_javascript_the_reminder_comes_back_from_the_server(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with started(tmp_path, template_root, "alice") as (alice,):
        context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
        try:
            page = await log_in(context, alice)
            await page.goto(f"{alice.base_url}/compose")  # on a phone, a page away
            picture = tmp_path / "red.png"
            picture.write_bytes(png(400, 300))
            await page.fill("#compose-text", "Posted without a script")
            await page.click("details.media-field summary")
            await page.set_input_files("#file-1", str(picture))
            await page.fill("#file-focus-1", "-0.5,0.5")
            await page.click("form.compose .compose-bar button[type=submit]")
            reminder = page.locator("form.compose .alt-reminder")
            await expect(reminder).to_contain_text("1 image has no description: post anyway?")
            kept = page.locator("form.compose .attachment-row.kept img")
            await expect(kept).to_have_count(1)  # the upload, kept and shown
            await expect(page.locator("#compose-text")).to_have_value("Posted without a script")
            [(description, x, y, status)] = media_rows(alice)
            assert (description, x, y, status) == ("", -0.5, 0.5, None)
            await screenshot(page, "composer-alt-reminder-nojs", "light", PHONE)
            await screenshot(page, "composer-alt-reminder-nojs", "dark", DESKTOP)
            await reminder.get_by_role("button", name="Post anyway").click()
            await page.wait_for_url(f"{alice.base_url}/")
            await expect(card(page, "Posted without a script")).to_have_count(1)
            [(_, _, _, status)] = media_rows(alice)
            assert status is not None
        finally:
            await context.close()
