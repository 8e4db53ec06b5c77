"""/server/doctor in a browser: the owner runs the check behind a proxy that rewrites Host and
sees the failure with its fix, at phone and desktop size, light and dark."""

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
)
from tests.processes import SoloProcess, free_port
from tests.test_doctor import proxy, serving

__all__ = ["browser"]  # the fixture, used by name

pytestmark = browser_marks()


async def test_the_owner_checks_the_server_and_sees_what_to_fix(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    public_port = free_port()
    alice = SoloProcess("alice", tmp_path)
    alice.environment["SOLO_DOMAIN"] = f"alice.test:{public_port}"
    alice.base_url = f"http://alice.test:{public_port}"
    async with alice, serving(proxy(alice.port, host=f"127.0.0.1:{alice.port}"), public_port):
        await alice.initialise(template_root)
        await alice.start()
        context = await browser.new_context(viewport=DESKTOP)
        errors: list[str] = []
        page = await log_in(context, alice)
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{alice.base_url}/server/doctor")
        await expect(page.locator("h1")).to_have_text("Server check")
        await expect(page.locator("#result-title")).to_have_text("Not checked yet")
        await screenshot(page, "doctor-empty", "light", PHONE)

        await page.click("form.doctor-run button[type=submit]")
        await expect(page.locator("#result-title")).to_have_text(
            "1 problem to fix", timeout=WAIT_MS
        )
        failed = page.locator("ul.findings li.finding-fail")
        await expect(failed).to_have_count(1)
        await expect(failed).to_contain_text("the proxy rewrites Host")
        await expect(failed.locator("code")).to_contain_text(["proxy_set_header Host $host;"])
        await expect(page.locator("ul.findings li.finding-ok")).to_have_count(8)
        for scheme in ("light", "dark"):
            await screenshots(page, "doctor", scheme)
        assert errors == [], errors
        await context.close()
