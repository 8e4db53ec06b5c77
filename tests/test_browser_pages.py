"""Every page of the web interface in Chromium, for the user and for a visitor: axe-core finds
no accessibility violation (on a phone in light and on a desktop in dark), nothing is wider
than the screen, and each page is screenshotted at 390×844 and 1280×800, light and dark; then
every page again in German, French, Spanish and Japanese (a phone in light, a desktop in dark),
where longer words and other scripts must fit the screen as well.

The pages are the app's own GET routes that answer HTML (the walk of tests/test_headings.py),
over a real `solo serve` with a post, a reply, a direct message, a list and a filter in it.
They are looked at a few at a time, in browser pages of their own, to keep the suite short."""

from __future__ import annotations

import asyncio
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


# How many pages of one browser context are looked at at the same time. Chromium renders each
# in processes of its own, so they overlap with each other and with the server even on two cores.
TABS = 3
# The four looks at every page, each with whether axe runs there too (on a phone in light and on
# a desktop in dark). In this order, or the reverse, the window is resized once per page.
LOOKS = (
    (PHONE, "light", True),
    (PHONE, "dark", False),
    (DESKTOP, "dark", True),
    (DESKTOP, "light", False),
)


async def check(page: Page, url: str, name: str, problems: list[str]) -> None:
    response = await page.goto(url)
    assert response is not None
    if "text/html" not in (response.headers.get("content-type") or ""):
        return
    looks = list(LOOKS)
    if page.viewport_size != PHONE:  # start with the size the window has
        looks.reverse()
    for size, scheme, with_axe in looks:
        await screenshot(page, f"page-{name}", scheme, size)
        if not with_axe:
            continue
        violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
        for violation in violations:
            problems.append(
                f"{url} ({scheme}, {size['width']}px): {violation['id']} [{violation['impact']}]"
                f" {violation['help']} at {violation['where']}"
            )


async def check_all(first: Page, pages: list[tuple[str, str]], problems: list[str]) -> None:
    """`check` each (url, name) of `pages`, TABS at a time: on `first` and on more pages of its
    browser context, each taking the next url left when it is done with one."""
    left = iter(pages)  # shared by the tabs, so each url is checked once

    async def take_turns(page: Page) -> None:
        for url, name in left:
            await check(page, url, name, problems)

    tabs = [first] + [await first.context.new_page() for _ in range(TABS - 1)]
    async with asyncio.TaskGroup() as group:
        for tab in tabs:
            group.create_task(take_turns(tab))


async def test_every_page_passes_axe_and_fits_the_screen(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        params = await populate(alice.settings)
        await alice.start()
        problems: list[str] = []
        # axe is added to every document as it starts, by the browser context (the pages' own
        # CSP would refuse it as a script of the page).
        context = await browser.new_context(bypass_csp=True)
        await context.add_init_script(path=AXE)
        page = await log_in(context, alice)
        paths = page_paths(alice.settings, params)
        assert "/settings" in paths and "/@alice/with_replies" in paths
        await check_all(page, [(alice.base_url + path, slug(path)) for path in paths], problems)
        await context.close()

        context = await browser.new_context(bypass_csp=True)
        await context.add_init_script(path=AXE)
        first = params["status_id:int"]
        visited = ("/@alice", f"/@alice/{first}", "/@alice/media", "/login", "/nowhere")
        await check_all(
            await context.new_page(),
            [(alice.base_url + path, "visitor-" + slug(path)) for path in visited]
            + [(f"{alice.base_url}/interact?uri={alice.actor}", "visitor-interact")],
            problems,
        )
        await context.close()
        assert not problems, "\n".join(sorted(problems))


async def test_every_page_in_every_language_fits_the_screen(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        params = await populate(alice.settings)
        await alice.start()
        paths = page_paths(alice.settings, params)

        async def in_language(lang: str) -> None:
            """Every page in `lang`, in a browser context of its own."""
            context = await browser.new_context(locale=lang)
            try:
                page = await log_in(context, alice)
                for path in paths:
                    response = await page.goto(alice.base_url + path)
                    assert response is not None
                    if "text/html" not in (response.headers.get("content-type") or ""):
                        continue
                    assert await page.get_attribute("html", "lang") == lang, path
                    looks = [(PHONE, "light"), (DESKTOP, "dark")]
                    if page.viewport_size != PHONE:  # start with the size the window has
                        looks.reverse()
                    for size, scheme in looks:
                        await screenshot(page, f"{lang}-{slug(path)}", scheme, size)
            finally:
                await context.close()

        # The languages at the same time, each on a page of its own.
        async with asyncio.TaskGroup() as group:
            for lang in sorted(set(LANGUAGES) - {DEFAULT}):
                group.create_task(in_language(lang))
