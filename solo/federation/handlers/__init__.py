"""Side effects of incoming activities, one module per type; `dispatch` picks the handler.

A handler gets the activity (already verified as sent by `actor`) and applies it, idempotently:
a job may run twice after a crash. `Ignored` says an activity is understood but refused (it is
dropped, not retried); a `FetchError` or `ResolveError` is temporary (the job is retried).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from solo.federation.context import Federation
from solo.store.actors import RemoteActor

Handler = Callable[[Federation, dict[str, Any], RemoteActor], Awaitable[None]]


class Ignored(Exception):
    """An activity Solo will not apply; the message says why (recorded on the job)."""
