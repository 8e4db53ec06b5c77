"""State kept beside a running Federation by the background tasks (cards, backfill, polls).

Several instances may share a process (tests, benchmarks): each gets its own state, found by the
Federation's identity and forgotten with it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from solo.federation.context import Federation

T = TypeVar("T")


class PerFederation(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._entries: dict[int, tuple[weakref.ref[Federation], T]] = {}

    def __call__(self, federation: Federation) -> T:
        key = id(federation)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is federation:
            return entry[1]
        state = self._factory()
        self._entries[key] = (
            weakref.ref(federation, lambda _: self._entries.pop(key, None)),
            state,
        )
        return state


async def cancel_all(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel background tasks and wait until each has stopped (the lifespan ends)."""
    stopping = list(tasks)
    for task in stopping:
        task.cancel()
    await asyncio.gather(*stopping, return_exceptions=True)
