"""A micro-cache of the public pages anonymous visitors read (nginx's microcache for Mastodon,
in the process): a crowd on the profile, a post or a tag page costs one render a second.

What is kept: the whole answer, compressed, to a GET of the profile (and its tabs), one of our
posts, a tag page or `/users/<name>`, for `SECONDS`, keyed by everything that changes its bytes:
scheme, host, path and query, the Accept header, the language the visitor's Accept-Language
gets and the content coding their Accept-Encoding gets. Only a `200 text/html` answer with no
`Set-Cookie` (a CSRF token made for the visitor comes with one), no `private`/`no-store`, and a
`Vary` naming nothing outside those headers.

Who is served from it: GETs with no cookie (but the one saying which stylesheet the browser
has, `assets.CSS_COOKIE`, which is keyed on), no credentials (Authorization, an HTTP signature)
and no conditional or range header. The owner always carries a login or a token, so their pages
are never kept or served from here, and their requests pass it at the cost of one header scan.

Freshness: an entry names the number of write transactions committed when its render began
(`Database.writes`); any later commit (a post, an edit, a profile or settings change, a like
from afar) retires it, so a post shows on the very next reload. Another process writing the same
file (`solo` commands) is seen when the entry expires, at most `SECONDS` later.

When an entry is missing, the first visitor renders it and those asking for the same page
meanwhile wait for that render instead of starting their own (nginx's `proxy_cache_lock`). At
most `RENDERS_AT_ONCE` visitors' pages are rendered at a time (a crawler on many distinct pages):
a render holds the event loop for milliseconds, and the owner's requests, which never wait in
that line, would otherwise resume behind twenty of them at each read.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solo.db import Database
from solo.edge.assets import CSS_COOKIE
from solo.edge.compression import coding_for
from solo.edge.i18n import negotiate
from solo.edge.owner_first import OwnerFirst

SECONDS: Final = 1.0
MAX_ENTRIES: Final = 128
MAX_BODY: Final = 512 * 1024  # a page larger than this (compressed) is not kept
MAX_BYTES: Final = 8 * 1024 * 1024  # all entries together
MAX_HEADER: Final = 512  # a request with a longer Accept/Accept-Language/Host is not served here
MAX_TARGET: Final = 1024  # nor one whose path and query are longer
# Visitors' renders under way at once (as many as the database has readers); the others wait
# their turn in line, which the owner's requests never join.
RENDERS_AT_ONCE: Final = 2

# Our profile and its tabs, one of our posts, a tag page, `/users/<name>` (the actor's address).
PUBLIC_PAGE: Final = re.compile(
    r"/(?:@[A-Za-z0-9_]+(?:/(?:with_replies|media|[0-9]+))?|tags/[^/]+|users/[A-Za-z0-9_]+)"
)
# A request carrying one of these is someone's own, or asks what a kept page cannot answer.
BYPASS: Final = frozenset(
    {
        b"cookie",
        b"authorization",
        b"signature",
        b"signature-input",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
        b"if-range",
        b"range",
    }
)
KEYED: Final = frozenset({b"accept", b"accept-encoding", b"accept-language"})
# A cookie header that is only the stylesheet's cookie: it changes the page (linked or inlined
# stylesheet) and nothing personal.
STYLESHEET_COOKIE: Final = re.compile(rb" *" + CSS_COOKIE.encode() + rb"=[0-9a-f]{1,64} *")

Key = tuple[str, bytes, str, bytes, bytes, str, str | None, bytes]


@dataclass(frozen=True, slots=True)
class Entry:
    writes: int
    stored_at: float
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def key_of(scope: Scope) -> Key | None:
    """What the answer to this request depends on; None when it must not come from the cache."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    query: bytes = scope["query_string"]
    if len(path) + len(query) > MAX_TARGET or PUBLIC_PAGE.fullmatch(path) is None:
        return None
    host = accept = accept_language = accept_encoding = cookie = b""
    for name, value in scope["headers"]:
        if name == b"cookie" and not cookie and STYLESHEET_COOKIE.fullmatch(value):
            cookie = value.strip()
            continue
        if name in BYPASS:
            return None
        if name == b"host":
            host = value
        elif name == b"accept":
            accept = value
        elif name == b"accept-language":
            accept_language = value
        elif name == b"accept-encoding":
            accept_encoding = value
        else:
            continue
        if len(value) > MAX_HEADER:
            return None
    locale = negotiate(accept_language.decode("latin-1") or None)
    encoding = coding_for(accept_encoding)
    return (scope["scheme"], host, path, query, accept, locale, encoding, cookie)


def keepable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an answer may be served to other visitors."""
    if status != 200:
        return False
    html = False
    for name, value in headers:
        lowered = value.lower()
        if name == b"set-cookie" or (name == b"cache-control" and _personal(lowered)):
            return False
        if name == b"vary" and not {part.strip() for part in lowered.split(b",")} <= KEYED:
            return False
        if name == b"content-type":
            html = lowered.startswith(b"text/html")
    return html


def _personal(cache_control: bytes) -> bool:
    return b"private" in cache_control or b"no-store" in cache_control


class PageCache:
    """The ASGI middleware: goes outside `Compression`, so that it keeps compressed bodies."""

    def __init__(self, app: ASGIApp, owner_first: OwnerFirst, seconds: float = SECONDS) -> None:
        self.app = app
        self.owner_first = owner_first
        self.seconds = seconds
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._bytes = 0
        self._rendering = asyncio.Semaphore(RENDERS_AT_ONCE)
        # The renders under way, each with what it will answer (None: nothing others may have).
        self._renders: dict[Key, asyncio.Future[Entry | None]] = {}
        # Pages whose last answer could not be kept (a cookie set, an error), with when: for
        # `seconds`, their visitors render at once instead of waiting on one another.
        self._unkept: dict[Key, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = key_of(scope) if self.seconds > 0 else None
        if key is None:
            await self.app(scope, receive, send)
            return
        await self.owner_first.turn()
        db: Database = scope["app"].state.instance.db
        entry = self._fresh(key, db.writes)
        if entry is None and (render := self._renders.get(key)) is not None:
            # Another visitor is rendering this very page: its answer is as fresh as one of
            # our own would be (it began before ours would have ended), even if a write landed
            # meanwhile and it is not kept for later visitors.
            entry = await asyncio.shield(render)
        if entry is not None:
            await self._replay(entry, send)
            return
        await self._render(key, db, scope, receive, send)

    def _fresh(self, key: Key, writes: int) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.writes != writes or time.monotonic() - entry.stored_at >= self.seconds:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def _replay(self, entry: Entry, send: Send) -> None:
        age = str(int(time.monotonic() - entry.stored_at)).encode()
        headers = [*entry.headers, (b"age", age)]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})

    async def _render(
        self, key: Key, db: Database, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer as the app does, keeping the answer when it may be served to others. The
        first of a page's visitors to get here leads: others wait for its answer, unless that
        page could not be kept a moment ago."""
        writes = db.writes
        began = time.monotonic()
        render: asyncio.Future[Entry | None] | None = None
        if key not in self._renders and not self._unkeepable(key):
            render = self._renders[key] = asyncio.get_running_loop().create_future()
        start: Message | None = None
        parts: list[bytes] = []
        size = 0
        complete = False

        async def keeping(message: Message) -> None:
            nonlocal start, size, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and start is not None:
                body: bytes = message.get("body", b"")
                size += len(body)
                if size <= MAX_BODY:
                    parts.append(body)
                complete = not message.get("more_body", False)
            await send(message)

        entry: Entry | None = None
        try:
            async with self._rendering:
                await self.app(scope, receive, keeping)
            if start is not None and complete:
                headers = list(start.get("headers", []))
                if size <= MAX_BODY and keepable(start["status"], headers):
                    body = b"".join(parts)
                    entry = Entry(writes, began, start["status"], tuple(headers), body)
                    self._unkept.pop(key, None)
                else:
                    if len(self._unkept) >= MAX_ENTRIES:
                        self._unkept.clear()
                    self._unkept[key] = time.monotonic()
        finally:
            if render is not None:
                del self._renders[key]
                render.set_result(entry)
        if entry is not None and db.writes == writes:  # else a write landed meanwhile
            self._store(key, entry)

    def _unkeepable(self, key: Key) -> bool:
        since = self._unkept.get(key)
        return since is not None and time.monotonic() - since < self.seconds

    def _store(self, key: Key, entry: Entry) -> None:
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > MAX_ENTRIES or self._bytes > MAX_BYTES:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)
