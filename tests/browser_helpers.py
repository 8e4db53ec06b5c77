"""What the browser tests share: their marks, headless Chromium as a fixture, the phone and
desktop sizes, logging in, finding and screenshotting cards, real `solo serve` processes, and
alice and bob with alice logged in in a browser page. Screenshots land in
`test-artifacts/screenshots/`.

A browser test module starts with `pytestmark = browser_marks()` and imports the `browser`
fixture by name (listing it in `__all__`, as it is used only as a parameter)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.conftest import PASSWORD
from tests.fleet import eventually
from tests.processes import SoloProcess, submit

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The instances are `name.test:port` on 127.0.0.1, as in tests/processes.py.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]
# The two sizes every page is looked at: a phone, and a desktop browser's window.
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WAIT_MS = 20_000


def browser_marks(timeout: int = 240) -> list[pytest.MarkDecorator]:
    """A browser test module's marks: selected by `-m browser`, and given more time than
    the default timeout (a real Chromium against real processes)."""
    return [pytest.mark.browser, pytest.mark.timeout(timeout)]


def _need_chromium() -> None:
    """Skip on a developer machine without Chromium; in CI (CI=true) a missing one fails."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"headless Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def log_in(context: BrowserContext, node: SoloProcess) -> Page:
    page = await context.new_page()
    await page.goto(f"{node.base_url}/login")
    await page.fill("#username", node.name)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{node.base_url}/")
    await expect(page.locator("#timeline")).to_be_attached()
    return page


def card(page: Page, text: str) -> Locator:
    return page.locator("#timeline article.status", has_text=text)


async def status_id_at(node: SoloProcess, client: httpx.AsyncClient, address: str) -> str:
    """The id `node` gives the post at `address`, found through its search page."""
    response = await client.get("/search", params={"q": address})
    match = re.search(r'data-status="(\d+)"', response.text)
    assert match, f"{node.name} cannot find {address}: {response.status_code}"
    return match.group(1)


async def screenshot(page: Page, name: str, scheme: str, size: ViewportSize) -> Path:
    await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    await page.set_viewport_size(size)
    path = SCREENSHOTS / f"{name}-{scheme}-{size['width']}.png"
    # Nothing may push the page wider than the screen (the header's nav scrolls on its own).
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow}px wider than a {size['width']}px screen"
    await page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2_000, path
    return path


async def screenshots(page: Page, name: str, scheme: str) -> None:
    """`screenshot` at both sizes, the phone's first."""
    for size in (PHONE, DESKTOP):
        await screenshot(page, name, scheme, size)


@asynccontextmanager
async def started(
    tmp_path: Path, template_root: Path, *names: str
) -> AsyncIterator[tuple[SoloProcess, ...]]:
    """A `solo serve` process for each name, initialised and started; stopped on leaving."""
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(SoloProcess(name, tmp_path)) for name in names]
        for node in nodes:
            await node.initialise(template_root)
            await node.start()
        yield tuple(nodes)


class AliceAndBob(NamedTuple):
    alice: SoloProcess
    bob: SoloProcess
    page: Page  # alice's, logged in


@asynccontextmanager
async def alice_and_bob(
    tmp_path: Path, template_root: Path, browser: Browser
) -> AsyncIterator[AliceAndBob]:
    """alice and bob as running `solo serve` processes, alice logged in on a desktop-sized page.
    Leaving the block without an error checks that the page raised no JavaScript errors."""
    async with started(tmp_path, template_root, "alice", "bob") as (alice, bob):
        context = await browser.new_context(viewport=DESKTOP)
        try:
            errors: list[str] = []
            page = await log_in(context, alice)
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield AliceAndBob(alice, bob, page)
            assert errors == [], errors
        finally:
            await context.close()


async def follow_bob_after_he_posts(run: AliceAndBob, text: str) -> None:
    """bob posts `text`; alice follows him from his profile and waits for the post on her
    home page."""
    alice, bob, page = run
    async with bob.logged_in() as http:
        response = await submit(http, "/", "/statuses", text=text)
        assert response.status_code == 303, response.text
    await page.goto(f"{alice.base_url}/@bob@{bob.domain}")
    await page.click(".relationship form[action='/follow'] button")
    await expect(page.locator(".relationship form[action='/unfollow'] button")).to_be_visible(
        timeout=WAIT_MS
    )

    async def on_home() -> bool:
        await page.goto(f"{alice.base_url}/")
        return await card(page, text).count() == 1

    await eventually(on_home, within=20, what="bob's post on alice's home")
