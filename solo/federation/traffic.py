"""Inbox traffic, so that accepting incoming activities goes before applying them.

Both share the one event loop. Under a flood of POSTs, every moment the ingress worker spends
applying is a moment the inbox cannot spend verifying and storing, and senders wait; the work
the worker does can just as well wait a few seconds, since each job is durable from its 202.
So while POSTs are arriving the worker applies in small transactions (the inbox's writes wait
for each commit), and while many are waiting at once (`CROWD`: the loop cannot keep up) it
also stands aside between them, several times as long as it worked (`pause_after`). It keeps
`CROWDED_SHARE` of the loop, so a backlog never stops moving, and all of it again as soon as
the crowd thins: at a steady few hundred a second it applies them as they come.
"""

from __future__ import annotations

import time

from solo.federation.per_federation import PerFederation

CROWD = 16  # POSTs being accepted at once from which the loop counts as saturated
CROWDED_SHARE = 0.1  # the worker's share of the loop meanwhile
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
        """Whether POSTs are arriving (the worker's transactions should be short)."""
        return self.in_flight > 0 or time.monotonic() - self.last < QUIET_AFTER

    def pause_after(self, worked: float) -> float:
        """Seconds the worker stands aside after `worked` seconds of applying: none unless
        the inbox is crowded, else enough to leave it `1 - CROWDED_SHARE` of the loop."""
        if self.in_flight < CROWD:
            return 0.0
        return min(worked * (1 - CROWDED_SHARE) / CROWDED_SHARE, LONGEST_PAUSE)


traffic_of = PerFederation(InboxTraffic)
