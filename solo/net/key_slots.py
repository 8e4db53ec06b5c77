"""Slots for key fetches: at most so many at once in all, and so many per host.

A key is fetched inside an inbox request, for a sender not yet verified. Bounded here, a sender
whose keyIds answer one byte at a time holds a few slots of its own host, never the connections
that media, cards, search and backfill need (those run on another pool, see `Fetcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class NoKeySlot(Exception):
    """No slot came free in time; the message names the limit that stayed full."""


class KeySlots:
    def __init__(self, total: int, per_host: int, wait: float) -> None:
        self.total = total
        self.per_host = per_host
        self.wait = wait
        self._all = asyncio.Semaphore(total)
        # host → its semaphore and how many fetches use or await it (dropped at zero).
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    async def _take(self, semaphore: asyncio.Semaphore, full: str) -> None:
        if not semaphore.locked():
            await semaphore.acquire()  # a free slot: taken at once, no timer to set
            return
        try:
            async with asyncio.timeout(self.wait):
                await semaphore.acquire()
        except TimeoutError:
            raise NoKeySlot(f"{full}; none ended within {self.wait:g} s") from None

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold a slot of `url`'s host, then one of all, while the block runs."""
        # The host as written (lowercased) is enough to count: urlsplit costs a tenth of
        # httpx's parse, which checks the URL before anything is fetched.
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""  # refused with its reason before any connection
        semaphore, users = self._hosts.setdefault(host, (asyncio.Semaphore(self.per_host), [0]))
        users[0] += 1
        try:
            await self._take(
                semaphore,
                f"{host} already has {self.per_host} key fetches in flight (the per-host limit)",
            )
            try:
                await self._take(
                    self._all, f"{self.total} key fetches are in flight (the limit for all hosts)"
                )
                try:
                    yield
                finally:
                    self._all.release()
            finally:
                semaphore.release()
        finally:
            users[0] -= 1
            if not users[0]:
                del self._hosts[host]
