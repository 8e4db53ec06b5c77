"""Every page of the web interface in Chromium, for the user and for a visitor: axe-core finds
no accessibility violation (on a phone in light and on a desktop in dark), nothing is wider
than the screen, and each page is screenshotted at 390×844 and 1280×800, light and dark; then
every page again in German, French, Spanish and Japanese (a phone in light, a desktop in dark),
where longer words and other scripts must fit the screen as well.

The pages are the app's own GET routes that answer HTML (the walk of tests/test_headings.py),
over a real `solo serve` with a post, a reply, a direct message, a list and a filter in it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from solo.actions import filters, lists, statuses
from solo.app import create_app
from solo.catalogues import DEFAULT, LANGUAGES
from solo.config import Settings
from tests.browser_helpers import DESKTOP, PHONE, browser, browser_marks, log_in, screenshot
from tests.processes import SoloProcess
from tests.test_headings import NOT_PAGES, get_paths
from tests.test_web_pages import federation_of

__all__ = ["browser"]  # the fixture, used by name

pytestmark = browser_marks(900)
AXE = Path(__file__).parent / "fixtures" / "axe" / "axe.min.js"
# What axe says, kept short: the rule, its impact, and where (the first three places).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    where: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


async def populate(settings: Settings) -> dict[str, str]:
    """Something on every page; the values of the routes' path parameters."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        federation = federation_of(app)
        first = await statuses.post(federation, "A #solo post with a reply")
        await statuses.post(federation, "The reply", in_reply_to=first.id)
        await statuses.post(federation, "Just for me, @alice", visibility="direct")
        shown = await lists.create(federation, "Friends")
        rule = await filters.create_filter(
            federation, filters.FilterChange(title="Spoilers", contexts=["home"])
        )
        conversation = await federation.db.fetchval("SELECT id FROM conversations LIMIT 1")
    return {
        "username": settings.username,
        "status_id:int": str(first.id),
        "tag": "solo",
        "id": str(shown.id),
        "filter_id": str(rule.id),
        "import_id": "1",
        "conversation": str(conversation or 1),
    }


def page_paths(settings: Settings, params: dict[str, str]) -> list[str]:
    found = []
    for template in get_paths(list(create_app(settings).routes)):
        if NOT_PAGES.search(template):
            continue
        if template == "/conversations/{id}":
            found.append(f"/conversations/{params['conversation']}")
            continue
        found.append(re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], template))
    return sorted(set(found))


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


async def check(page: Page, url: str, name: str, problems: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None
    if "text/html" not in (response.headers.get("content-type") or ""):
        return
    for size, scheme in ((PHONE, "light"), (DESKTOP, "dark")):
        await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        await page.set_viewport_size(size)
        if not await page.evaluate("typeof axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
        for violation in violations:
            problems.append(
                f"{url} ({scheme}, {size['width']}px): {violation['id']} [{violation['impact']}]"
                f" {violation['help']} at {violation['where']}"
            )
    for size in (PHONE, DESKTOP):
        for scheme in ("light", "dark"):
            await screenshot(page, f"page-{name}", scheme, size)


async def test_every_page_passes_axe_and_fits_the_screen(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        params = await populate(alice.settings)
        await alice.start()
        problems: list[str] = []
        # axe is injected as a script: the pages' own CSP would refuse it.
        context = await browser.new_context(bypass_csp=True)
        page = await log_in(context, alice)
        paths = page_paths(alice.settings, params)
        assert "/settings" in paths and "/@alice/with_replies" in paths
        for path in paths:
            await check(page, alice.base_url + path, slug(path), problems)
        await context.close()

        visitor = await (await browser.new_context(bypass_csp=True)).new_page()
        first = params["status_id:int"]
        for path in ("/@alice", f"/@alice/{first}", "/@alice/media", "/login", "/nowhere"):
            await check(visitor, alice.base_url + path, "visitor-" + slug(path), problems)
        await check(
            visitor,
            f"{alice.base_url}/interact?uri={alice.actor}",
            "visitor-interact",
            problems,
        )
        assert not problems, "\n".join(problems)


async def test_every_page_in_every_language_fits_the_screen(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        params = await populate(alice.settings)
        await alice.start()
        paths = page_paths(alice.settings, params)
        for lang in sorted(set(LANGUAGES) - {DEFAULT}):
            context = await browser.new_context(locale=lang)
            page = await log_in(context, alice)
            for path in paths:
                response = await page.goto(alice.base_url + path)
                assert response is not None
                if "text/html" not in (response.headers.get("content-type") or ""):
                    continue
                assert await page.get_attribute("html", "lang") == lang, path
                name = f"{lang}-{slug(path)}"
                await screenshot(page, name, "light", PHONE)
                await screenshot(page, name, "dark", DESKTOP)
            await context.close()
