"""Idle wakeups on the wall clock's minute, so that the timers of different tasks coalesce.

An idle server still looks for work now and then: the job queues for jobs another process stored,
the CSV importer for imports `solo import` stored, the schedulers for what falls due, the Server
page's sampler once a minute. Each on its own period, they would wake the process a dozen times a
minute; all aligned on the minute (half a second past it), they fire in the same turn of the event
loop: one wakeup a minute (issue 15: idle CPU).
"""

from __future__ import annotations

import time
from typing import Final

MINUTE: Final = 60.0
OFFSET: Final = 0.5  # seconds past the minute


def next_tick(at_most: float = MINUTE) -> float:
    """Seconds until the latest shared wakeup within `at_most` (a second more at worst, so that
    no wakeup comes a moment before a tick): the next minute's, or a later minute's when
    `at_most` is several minutes. A wait under a minute is not aligned: it is returned as is."""
    if at_most < MINUTE:
        return at_most
    wait = MINUTE - (time.time() - OFFSET) % MINUTE
    if wait < 1.0:
        wait += MINUTE
    while wait + MINUTE <= at_most:
        wait += MINUTE
    return wait
