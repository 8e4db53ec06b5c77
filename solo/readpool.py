"""The pool of read-only connections: a freed one goes straight to the oldest waiter, and the
owner's reads are served before anonymous ones.

An `asyncio.Queue` only wakes its oldest getter when a connection comes back; a `get()` that
runs before that getter resumes takes the connection, and the woken one waits again at the back.
Under load that turns a fair line into a lottery (p99 several times p50). Here the connection is
put in the waiter's future, so nobody can take it on the way.

The owner's requests (a live login, a token acting for the account) read within `owner_reads`;
they wait in a line of their own that is always served first, so a crowd of anonymous visitors
on the public pages cannot make the owner's home page wait behind them. Anonymous readers are
never starved for long: the owner is one person, whose requests come a few at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Generic, TypeVar

C = TypeVar("C")

# Set while the owner's own request is served (and in tasks started within it).
_OWNER: ContextVar[bool] = ContextVar("solo_owner_reads", default=False)


@contextlib.contextmanager
def owner_reads() -> Iterator[None]:
    """Reads made within (and in tasks started within) go ahead of anonymous ones."""
    token = _OWNER.set(True)
    try:
        yield
    finally:
        _OWNER.reset(token)


def reading_for_owner() -> bool:
    return _OWNER.get()


class ReadPool(Generic[C]):
    """Connections handed out first come, first served, the owner's waiters first."""

    def __init__(self) -> None:
        self._idle: list[C] = []
        self._owner: deque[asyncio.Future[C]] = deque()
        self._others: deque[asyncio.Future[C]] = deque()

    def put(self, conn: C) -> None:
        """Give `conn` back: to the owner's oldest waiter, else the oldest other, else idle."""
        for line in (self._owner, self._others):
            while line:
                waiter = line.popleft()
                if not waiter.done():  # a cancelled waiter left; the next one gets it
                    waiter.set_result(conn)
                    return
        self._idle.append(conn)

    async def get(self) -> C:
        """A connection; waits in the owner's line within `owner_reads`, else the other."""
        if self._idle:  # `put` hands a connection to any live waiter before it sits idle
            return self._idle.pop()
        line = self._owner if _OWNER.get() else self._others
        waiter: asyncio.Future[C] = asyncio.get_running_loop().create_future()
        line.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put(waiter.result())  # handed over as the caller went away: pass it on
            else:
                with contextlib.suppress(ValueError):
                    line.remove(waiter)
            raise

    def waiting(self) -> int:
        return len(self._owner) + len(self._others)
