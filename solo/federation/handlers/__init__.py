"""Side effects of incoming activities, one module per type; `dispatch` picks the handler.

A handler gets the activity (already verified as sent by `actor`) and applies it, idempotently:
a job may run twice after a crash. `Ignored` says an activity is understood but refused (it is
dropped, not retried); a `FetchError` or `ResolveError` is temporary (the job is retried).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from solo.federation.context import Federation
from solo.federation.remote_actors import same_origin
from solo.store.actors import RemoteActor

Handler = Callable[[Federation, dict[str, Any], RemoteActor], Awaitable[None]]


class Ignored(Exception):
    """An activity Solo will not apply; the message says why (recorded on the job)."""


def own_id(activity: dict[str, Any], actor: RemoteActor) -> str | None:
    """The activity's id when it lives on its actor's host, else None.

    Ids are kept in unique columns (a Like's, a Block's): another server's id kept there would
    make that server's own activity clash with it and be dropped (FEDERATION.md rule 39)."""
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and same_origin(activity_id, actor.ap_id):
        return activity_id
    return None
