"""Inbox traffic, so that accepting incoming activities goes before applying them.

Both share the one event loop. While POSTs keep arriving, every moment the ingress worker spends
applying is a moment the inbox cannot spend verifying and storing, and a sender waits; the
work the worker does can just as well wait a few seconds, since each job is durable from its
202. So while the inbox is busy, the worker applies in small batches and then stands aside
for several times as long as it worked (`pause_after`): it still gets `BUSY_SHARE` of the
loop, so a backlog never stops moving, and all of it again as soon as the inbox is quiet.
"""

from __future__ import annotations

import time

from solo.federation.per_federation import PerFederation

# The worker's share of the loop while the inbox is busy: at a paced 500 Likes a second it
# still applies them as fast as they come; under a flood the inbox gets the rest.
BUSY_SHARE = 0.25
QUIET_AFTER = 0.02  # seconds without a new POST before the inbox counts as quiet
LONGEST_PAUSE = 0.25  # seconds: the worker looks again at least this often


class InboxTraffic:
    """How many inbox POSTs are being accepted now, and when the last one came."""

    __slots__ = ("in_flight", "last")

    def __init__(self) -> None:
        self.in_flight = 0
        self.last = 0.0

    def arrived(self) -> None:
        self.in_flight += 1
        self.last = time.monotonic()

    def answered(self) -> None:
        self.in_flight -= 1

    def busy(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self.last < QUIET_AFTER

    def pause_after(self, worked: float) -> float:
        """Seconds the worker stands aside after `worked` seconds of applying: none when the
        inbox is quiet, else enough to leave the inbox `1 - BUSY_SHARE` of the time."""
        if not self.busy():
            return 0.0
        return min(worked * (1 - BUSY_SHARE) / BUSY_SHARE, LONGEST_PAUSE)


traffic_of = PerFederation(InboxTraffic)
