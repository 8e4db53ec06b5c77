"""Slots for key fetches: at most so many at once in all, and so many per host.

A key is fetched inside an inbox request, for a sender not yet verified. Bounded here, a sender
whose keyIds answer one byte at a time holds a few slots of its own host, never the connections
that media, cards, search and backfill need (those run on another pool, see `Fetcher`).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
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

    async def _take(self, semaphore: asyncio.Semaphore, host: str | None) -> None:
        """Acquire `semaphore` (`host`'s, None: the one of all), waiting at most `wait`."""
        if not semaphore.locked():
            await semaphore.acquire()  # a free slot: taken at once, no timer to set
            return
        try:
            async with asyncio.timeout(self.wait):
                await semaphore.acquire()
        except TimeoutError:
            full = (
                f"{self.total} key fetches are in flight (the limit for all hosts)"
                if host is None
                else f"{host} already has {self.per_host} key fetches in flight (the per-host"
                " limit)"
            )
            raise NoKeySlot(f"{full}; none ended within {self.wait:g} s") from None

    def slot(self, url: str) -> _Slot:
        """Hold a slot of `url`'s host, then one of all, while the `async with` block runs."""
        # The host as written (lowercased) is enough to count: urlsplit costs a tenth of
        # httpx's parse, which checks the URL before anything is fetched.
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""  # refused with its reason before any connection
        return _Slot(self, host)

    def _leave(self, host: str, users: list[int]) -> None:
        users[0] -= 1
        if not users[0]:
            del self._hosts[host]


class _Slot:
    """One fetch's slots (a class, not a generator: a thousand first contacts a second take
    one each)."""

    __slots__ = ("_host", "_semaphore", "_slots", "_users")

    def __init__(self, slots: KeySlots, host: str) -> None:
        self._slots = slots
        self._host = host

    async def __aenter__(self) -> None:
        slots, host = self._slots, self._host
        semaphore, users = slots._hosts.setdefault(host, (asyncio.Semaphore(slots.per_host), [0]))
        self._semaphore, self._users = semaphore, users
        users[0] += 1
        try:
            await slots._take(semaphore, host)
        except BaseException:
            slots._leave(host, users)
            raise
        try:
            await slots._take(slots._all, None)
        except BaseException:
            semaphore.release()
            slots._leave(host, users)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._slots._all.release()
        self._semaphore.release()
        self._slots._leave(self._host, self._users)
