"""A sliding-window counter per key, in memory (one process, so no shared store is needed).

Callers `reserve` a slot before the work the limit guards and `release` it when the attempt
turns out not to count (a right password, a refused form). Checking and counting in one step,
before any await, is what keeps concurrent requests from all passing a check made while none
of them had been counted yet.
"""

from __future__ import annotations

import time
from collections import deque

from starlette.requests import Request


class SlidingWindow:
    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds to wait when `key` has used up its window, else None."""
        now = time.monotonic() if now is None else now
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return None
        return max(1, int(hits[0] + self.window - now) + 1)

    def hit(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if key not in self._hits and len(self._hits) >= self.max_keys:
            # Bound the memory an address-hopping client can take: forget the oldest key.
            del self._hits[next(iter(self._hits))]
        self._recent(key, now)
        self._hits.setdefault(key, deque()).append(now)

    def reserve(self, key: str, now: float | None = None) -> int | None:
        """Count one attempt for `key` and answer None; or, when the window is full, count
        nothing and answer the seconds to wait."""
        now = time.monotonic() if now is None else now
        wait = self.retry_after(key, now)
        if wait is None:
            self.hit(key, now)
        return wait

    def release(self, key: str) -> None:
        """Take back one reserved attempt of `key` that turned out not to count."""
        hits = self._hits.get(key)
        if hits:
            hits.pop()
            if not hits:
                del self._hits[key]


FAILED_LOGINS_PER_MINUTE = 5


def failed_logins(request: Request) -> SlidingWindow:
    """Failed password checks per address, shared by the login form and the API's password
    grant: one budget, however the guesses arrive."""
    window: SlidingWindow | None = getattr(request.app.state, "failed_logins", None)
    if window is None:
        window = SlidingWindow(FAILED_LOGINS_PER_MINUTE, 60.0)
        request.app.state.failed_logins = window
    return window


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
