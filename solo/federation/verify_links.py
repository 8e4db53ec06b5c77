"""rel="me" verification of the links in our profile fields, as Mastodon does it.

After a profile save, each field whose value is a link is checked in the background: the page
is fetched through the guarded fetcher (`get_html`: its first 256 KB) and counts as verified
when one of its `<a>` or `<link>` elements with `rel` containing "me" points back at our
profile or actor URL. The time is kept on the field (`verified_at` in fields_json) and shown
only here: peers verify links themselves.
A field whose value changes loses its mark (the save stores it without one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from html.parser import HTMLParser
from typing import Final

from solo import urls
from solo.federation.context import Federation
from solo.federation.per_federation import PerFederation, cancel_all
from solo.net.fetch import FetchError
from solo.store import account as account_store
from solo.store.account import ProfileField

log = logging.getLogger(__name__)

# Beyond the fetcher's own deadline: the database work after it.
TASK_SECONDS: Final = 60.0


class _RelMeLinks(HTMLParser):
    """Collects the `href` of every `<a>` and `<link>` whose `rel` contains "me"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        values = dict(attrs)
        rel, href = values.get("rel") or "", values.get("href")
        if href and "me" in rel.lower().split():
            self.hrefs.append(href.strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def rel_me_links(page: str) -> list[str]:
    parser = _RelMeLinks()
    parser.feed(page)
    parser.close()
    return parser.hrefs


def _normal(url: str) -> str:
    return url.rstrip("/")


def links_back(page: str, ours: set[str]) -> bool:
    """Whether the page has a rel="me" link to one of our URLs (trailing slashes aside)."""
    wanted = {_normal(url) for url in ours}
    return any(_normal(href) in wanted for href in rel_me_links(page))


async def _links_back(federation: Federation, link: str) -> bool:
    settings = federation.settings
    try:
        page, _ = await federation.fetcher.get_html(link)
    except FetchError as error:
        log.info("rel=me check of %s: %s", link, error)
        return False
    return links_back(page, {urls.profile(settings), urls.actor(settings)})


async def verify(federation: Federation, fields: tuple[ProfileField, ...]) -> None:
    """Check each link of `fields` once and mark those that link back, if still unchanged."""
    verified = {
        link
        for link in {field.link for field in fields if field.link is not None}
        if await _links_back(federation, link)
    }
    if not verified:
        return
    now = time.time()
    async with federation.db.transaction() as conn:
        # The user may have saved again meanwhile: only fields still holding that link are marked.
        current = (await account_store.read_account(conn)).fields
        marked = tuple(
            ProfileField(field.name, field.value, now) if field.link in verified else field
            for field in current
        )
        if marked != current:
            await account_store.set_fields(conn, marked)


# Running in the background: one set of tasks per instance (several may share a process, so by
# identity, forgotten with its Federation), which also keeps the tasks alive until they end.
_tasks_of: PerFederation[set[asyncio.Task[None]]] = PerFederation(set)


def start(federation: Federation, fields: tuple[ProfileField, ...]) -> None:
    """Verify in the background; the save that asked for it does not wait."""
    if not any(field.link is not None for field in fields):
        return
    tasks = _tasks_of(federation)
    task = asyncio.create_task(_logged(federation, fields), name="solo-rel-me")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def shutdown(federation: Federation) -> None:
    """Cancel the checks still running (the lifespan ends)."""
    await cancel_all(_tasks_of(federation))


async def settled(federation: Federation) -> None:
    """Wait for the verifications running (tests; a shutdown would cancel them instead)."""
    tasks = list(_tasks_of(federation))
    await asyncio.gather(*tasks, return_exceptions=True)


async def _logged(federation: Federation, fields: tuple[ProfileField, ...]) -> None:
    try:
        async with asyncio.timeout(federation.fetcher.limits.deadline + TASK_SECONDS):
            await verify(federation, fields)
    except TimeoutError:
        log.info("rel=me verification ran out of time")
    except Exception:
        # Nobody awaits the task: an error must be seen in the log, never reach a page.
        log.exception("rel=me verification failed")
