"""The in-process event bus: what the SSE and WebSocket streams send, as it happens.

Publishing never blocks: each subscriber has a bounded queue, and a subscriber too slow to keep
up loses its oldest events rather than slowing the server (a stream can always be reloaded).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 256


@dataclass(frozen=True)
class Event:
    """`kind` is Mastodon's streaming event name: update, notification, delete, status.update,
    notifications_merged."""

    kind: str
    stream: str  # user, public, public:local, hashtag
    payload: dict[str, Any] = field(default_factory=dict)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
