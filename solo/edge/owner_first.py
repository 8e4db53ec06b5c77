"""The owner's requests go ahead of anonymous visitors' on the event loop, not only in the pool
of readers (`solo.readpool`).

A crowd on the public pages is cheap per request once `solo.edge.page_cache` answers it, but
twenty visitors asking again as soon as answered keep the event loop busy: each time the owner's
request waits for the database, it resumes behind a round of the crowd's answers. So while an
owner's request is being prepared (until its answer starts), visitors' page requests wait at the
door (`PageCache` asks `turn()`); as soon as it is answered they all go on. The owner is one
person whose requests come a few at a time, and a visitor never waits more than `MAX_WAIT`
however long the owner's request takes (a stream's answer starts at once and stops holding them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Final

from starlette.applications import Starlette
from starlette.types import Message, Send

MAX_WAIT: Final = 0.25  # the owner's home page takes ~20 ms; on a busy machine, 100 or more
READS: Final = frozenset({"GET", "HEAD"})


class OwnerFirst:
    """How many of the owner's requests are being prepared; a door visitors wait at meanwhile."""

    def __init__(self) -> None:
        self._preparing = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.contextmanager
    def preparing(self, method: str) -> Iterator[None]:
        """The owner's request (an API endpoint) is prepared within. Only a GET or HEAD holds
        visitors back: a POST may be a long upload."""
        if method not in READS:
            yield
            return
        self._begin()
        try:
            yield
        finally:
            self._end()

    @contextlib.contextmanager
    def until_answered(self, method: str, send: Send) -> Iterator[Send]:
        """The owner's request (a page) is prepared until it sends the start of its answer
        through the `send` yielded, or leaves the block (a GET or HEAD only, as `preparing`)."""
        if method not in READS:
            yield send
            return
        preparing = True

        def end() -> None:
            nonlocal preparing
            if preparing:
                preparing = False
                self._end()

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                end()
            await send(message)

        self._begin()
        try:
            yield answering
        finally:
            end()

    def _begin(self) -> None:
        self._preparing += 1
        self._clear.clear()

    def _end(self) -> None:
        self._preparing -= 1
        if self._preparing == 0:
            self._clear.set()

    async def turn(self) -> None:
        """Return once no request of the owner's is being prepared, or after `MAX_WAIT`."""
        if self._preparing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._clear.wait(), MAX_WAIT)


def owner_first_of(app: Starlette) -> OwnerFirst:
    first: OwnerFirst = app.state.owner_first
    return first
