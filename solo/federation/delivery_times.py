"""How long each remote server takes to answer our deliveries, kept in memory for the Server page.

An exponentially weighted mean per host, so that a server that became slow shows as slow within a
few deliveries; bounded to the `MAX_HOSTS` most recently used hosts. Lost at restart: it is a view
of the present, not a record.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_HOSTS = 2000
WEIGHT = 0.2  # of the newest delivery in the mean


@dataclass
class HostTime:
    host: str
    mean_seconds: float
    last_seconds: float
    deliveries: int


class DeliveryTimes:
    def __init__(self, max_hosts: int = MAX_HOSTS) -> None:
        self.max_hosts = max_hosts
        self._hosts: OrderedDict[str, HostTime] = OrderedDict()

    def record(self, host: str, seconds: float) -> None:
        entry = self._hosts.get(host)
        if entry is None:
            self._hosts[host] = HostTime(host, seconds, seconds, 1)
            if len(self._hosts) > self.max_hosts:
                self._hosts.popitem(last=False)
            return
        entry.mean_seconds += WEIGHT * (seconds - entry.mean_seconds)
        entry.last_seconds = seconds
        entry.deliveries += 1
        self._hosts.move_to_end(host)

    def slowest(self, limit: int = 10) -> list[HostTime]:
        """The hosts with the longest mean answer time, slowest first."""
        ranked = sorted(self._hosts.values(), key=lambda entry: (-entry.mean_seconds, entry.host))
        return ranked[:limit]
