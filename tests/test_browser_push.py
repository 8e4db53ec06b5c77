"""Installable and notifying, in Chromium: the manifest and every icon it names load under the
page's CSP, the settings page's push toggle registers the service worker, and a page without
push (an insecure origin) says why. Screenshots of /settings/push at phone and desktop size."""

from __future__ import annotations

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
from tests.processes import SoloProcess

__all__ = ["browser"]  # the fixture, used by name

pytestmark = browser_marks()

# Fetches the page's manifest and decodes every icon it names, in the page (so under its CSP).
CHECK_MANIFEST = """async () => {
  const link = document.querySelector("link[rel=manifest]");
  const response = await fetch(link.href);
  const manifest = await response.json();
  const icons = [];
  for (const icon of manifest.icons) {
    const image = new Image();
    image.src = new URL(icon.src, link.href).href;
    await image.decode();
    icons.push([icon.src, image.naturalWidth, icon.sizes, icon.purpose || "any"]);
  }
  return {type: response.headers.get("content-type"), manifest, icons};
}"""


async def test_manifest_icons_and_the_push_toggle(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        # 127.0.0.1 is a secure context, where browsers offer service workers and push.
        alice.domain = f"127.0.0.1:{alice.port}"
        alice.base_url = f"http://{alice.domain}"
        alice.environment["SOLO_DOMAIN"] = alice.domain
        await alice.initialise(template_root)
        await alice.start()
        context = await browser.new_context(viewport=DESKTOP)
        await context.grant_permissions(["notifications"], origin=alice.base_url)
        errors: list[str] = []
        page = await log_in(context, alice)
        page.on("pageerror", lambda error: errors.append(str(error)))

        found = await page.evaluate(CHECK_MANIFEST)
        assert found["type"] == "application/manifest+json"
        assert found["manifest"]["display"] == "standalone"
        for src, width, sizes, _purpose in found["icons"]:
            assert sizes == "any" or sizes == f"{width}x{width}", src
        assert {(192, "any"), (512, "any"), (512, "maskable")} <= {
            (width, purpose) for _src, width, _sizes, purpose in found["icons"]
        }

        await page.goto(f"{alice.base_url}/settings")
        await page.click("a[href='/settings/push']")
        await expect(page.locator("h1")).to_have_text("Push notifications")
        toggle = page.locator("#push-toggle")
        await expect(toggle).to_be_visible()
        await expect(toggle).to_have_text("Turn on notifications")
        await expect(page.locator("#push-status")).to_have_text(
            "Off: this device gets no notifications."
        )
        for scheme in ("light", "dark"):
            await screenshots(page, "settings-push", scheme)

        # Headless Chromium has no push service to subscribe with: the service worker is
        # registered all the same, and the page says what went wrong, or that it is on.
        await toggle.click()
        await expect(toggle).to_be_enabled(timeout=15_000)
        script = await page.evaluate(
            "navigator.serviceWorker.getRegistration('/')"
            ".then((r) => r && (r.active || r.waiting || r.installing).scriptURL)"
        )
        assert script == f"{alice.base_url}/sw.js"
        outcome = page.locator("#push-error:not(.hidden), #push-status:has-text('On:')")
        await expect(outcome.first).to_be_visible()
        assert errors == [], errors
        await context.close()


async def test_a_browser_without_push_is_told_why(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    # bob.test over http is no secure context: no service worker, no push.
    async with started(tmp_path, template_root, "bob") as (bob,):
        context = await browser.new_context(viewport=DESKTOP)
        page = await log_in(context, bob)
        await page.goto(f"{bob.base_url}/settings/push")
        await expect(page.locator("#push-status")).to_contain_text("secure (https) address")
        await expect(page.locator("#push-toggle")).to_be_hidden()
        await screenshot(page, "settings-push-unsupported", "light", PHONE)
        await context.close()
