"""Link preview cards: the first link of a post, read through the guarded fetcher in the
background after the post is stored, and cached by URL.

The link is the first http(s) `<a href>` of the stored HTML that is not a mention, a hashtag or
the quoted post. Its page's OpenGraph, Twitter, `<title>` and description tags become a `Card` of
plain text (escaped where shown; images wait for the media cache). A card is reused for
`FRESH_SECONDS`, a failure for `RETRY_SECONDS`. Nothing here ever reaches a request: errors are
logged, and at most `CONCURRENCY` pages are read at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urlsplit

from solo.federation.context import Federation
from solo.federation.per_federation import PerFederation, cancel_all
from solo.net.fetch import FetchError
from solo.store import cards as card_store
from solo.store import statuses as status_store
from solo.store.cards import Card

log = logging.getLogger(__name__)

CONCURRENCY: Final = 4
FRESH_SECONDS: Final = 24 * 3600
RETRY_SECONDS: Final = 3600
MAX_TITLE: Final = 200
MAX_DESCRIPTION: Final = 500
MAX_SHORT: Final = 100  # site name and type
_SKIPPED_CLASSES: Final = frozenset({"mention", "hashtag"})


class _FirstLink(HTMLParser):
    """The first http(s) link of a post's HTML that is not a mention or a hashtag."""

    def __init__(self, skip: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = skip
        self.found: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.found is not None or tag != "a":
            return
        values = dict(attrs)
        href = (values.get("href") or "").strip()
        classes = set((values.get("class") or "").split())
        if classes & _SKIPPED_CLASSES or not href or href == self.skip:
            return
        if urlsplit(href).scheme in ("http", "https"):
            self.found = href


def first_link(content_html: str, quote_url: str | None = None) -> str | None:
    parser = _FirstLink(quote_url)
    parser.feed(content_html)
    parser.close()
    return parser.found


class _PageHead(HTMLParser):
    """The `<meta>` tags and `<title>` of a page, up to its `<body>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            key = (values.get("property") or values.get("name") or "").strip().lower()
            content = values.get("content")
            if key and content is not None:
                self.meta.setdefault(key, content)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.done:
            self.title += data


def _clean(text: str, limit: int) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def parse_card(url: str, html: str, served_from: str) -> Card | None:
    """The card a page describes itself with; None when it has no title at all."""
    head = _PageHead()
    head.feed(html)
    meta = head.meta

    def first(*keys: str) -> str:
        return next((meta[key] for key in keys if meta.get(key, "").strip()), "")

    title = _clean(first("og:title", "twitter:title") or head.title, MAX_TITLE)
    if not title:
        return None
    served = urlsplit(served_from)
    canonical = first("og:url").strip()
    parts = urlsplit(canonical)
    same_host = parts.scheme in ("http", "https") and parts.hostname == served.hostname
    return Card(
        url=url,
        card_url=canonical if same_host else served_from,
        title=title,
        description=_clean(
            first("og:description", "twitter:description", "description"), MAX_DESCRIPTION
        ),
        site_name=_clean(first("og:site_name"), MAX_SHORT),
        type=_clean(first("og:type"), MAX_SHORT),
    )


@dataclass
class _Running:
    """The card tasks of one Federation: kept so none is collected mid-flight."""

    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    fetching: dict[str, asyncio.Task[None]] = field(default_factory=dict)


_running_of = PerFederation(_Running)


def start(federation: Federation, status_id: int) -> None:
    """Find, in the background, the card of a status just stored or edited (an edit drops the
    old card: `statuses.update_content`); never waits, never raises."""
    running = _running_of(federation)
    task = asyncio.create_task(_logged(federation, status_id), name=f"solo-card {status_id}")
    running.tasks.add(task)
    task.add_done_callback(running.tasks.discard)


async def shutdown(federation: Federation) -> None:
    """Cancel the card tasks still running (the lifespan ends)."""
    await cancel_all(_running_of(federation).tasks)


async def _logged(federation: Federation, status_id: int) -> None:
    try:
        await attach_card(federation, status_id)
    except Exception:
        # Nobody awaits the task: an error must be seen in the log, never reach a page.
        log.exception("the link card of status %s failed", status_id)


async def attach_card(federation: Federation, status_id: int) -> None:
    """Give the status the card of its first link, from the cache or fetched."""
    status = await status_store.get_status(federation.db, status_id)
    if status is None or status.deleted_at is not None:
        return
    url = first_link(status.content_html, status.quote_ap_id)
    if url is None:
        return
    cached = await card_store.get(federation.db, url)
    if cached is None or _stale(cached):
        await _refresh(federation, url)
    async with federation.db.transaction() as conn:
        # An edit while the page was read may have changed the link: its own task attaches
        # the new card, and this one must not bring the old one back.
        content_html, quote_ap_id = await card_store.linked_content(conn, status_id)
        if first_link(content_html, quote_ap_id) == url:
            await card_store.attach(conn, status_id, url)


def _stale(cached: card_store.Cached) -> bool:
    age = time.time() - cached.fetched_at
    return age > (FRESH_SECONDS if cached.card is not None else RETRY_SECONDS)


async def _refresh(federation: Federation, url: str) -> None:
    """Fetch `url` once, however many posts link to it at the same time."""
    running = _running_of(federation)
    task = running.fetching.get(url)
    if task is None:
        task = asyncio.create_task(_fetch(federation, url, running.slots))
        running.fetching[url] = task
        running.tasks.add(task)
        task.add_done_callback(running.tasks.discard)
        task.add_done_callback(lambda _: running.fetching.pop(url, None))
    await asyncio.shield(task)


async def _fetch(federation: Federation, url: str, slots: asyncio.Semaphore) -> None:
    async with slots:
        try:
            html, served_from = await federation.fetcher.get_html(url)
            card = parse_card(url, html, served_from)
        except FetchError as error:
            log.info("no link card for %s: %s", url, error)
            card = None
    async with federation.db.transaction() as conn:
        await card_store.save(conn, url, card)
