"""Deleting the account: a `Delete` of our actor to every server we know, then the data goes.

The activity has Mastodon's shape (actor = object = us, to Public, id `<actor>#delete`), so
Mastodon, GoToSocial and Solo remove the account and everything of it they hold. It goes through
the push queue like every delivery (retries, per-host limits), once per server: the shared inbox
when the server has one. Removing the data is the caller's part, once `wait_for` is done: the
actor and its key must still answer while the servers check the signature.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solo import urls
from solo.activitystreams import AS_CONTEXT, PUBLIC
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_recorded, record_activity

PENDING = ("queued", "running", "retrying")


@dataclass(frozen=True)
class Deliveries:
    """Where the Delete stands: how many servers have it, have refused it for good, or wait."""

    ref: int
    total: int
    delivered: int = 0
    failed: int = 0

    @property
    def waiting(self) -> int:
        return self.total - self.delivered - self.failed


async def known_inboxes(federation: Federation) -> list[tuple[str, str]]:
    """(inbox, host) once per server we know any actor of: its shared inbox, else each actor's
    own. Servers marked unavailable for days are left out: they would hold the wait up."""
    rows = await federation.db.fetchall(
        "SELECT DISTINCT COALESCE(NULLIF(shared_inbox, ''), inbox), domain FROM actors"
        " WHERE deleted_at IS NULL AND inbox != ''"
        " AND domain NOT IN (SELECT domain FROM hosts WHERE unavailable = 1)"
    )
    return [(row[0], row[1]) for row in rows]


def delete_activity(federation: Federation) -> dict[str, Any]:
    actor = urls.actor(federation.settings)
    return {
        "@context": AS_CONTEXT,
        "id": f"{actor}#delete",
        "type": "Delete",
        "actor": actor,
        "object": actor,
        "to": [PUBLIC],
    }


async def send_delete(federation: Federation) -> Deliveries:
    """Queue the Delete of our actor to every known server; what was queued."""
    inboxes = await known_inboxes(federation)
    activity = delete_activity(federation)
    async with federation.db.transaction() as conn:
        # A second run (the first was interrupted) sends the same activity again, to every
        # server: a Delete is harmless to repeat, and the count then starts afresh.
        async with conn.execute(
            "SELECT id FROM activities WHERE ap_id = ?", (activity["id"],)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            ref = await record_activity(conn, activity)
        else:
            ref = int(row[0])
            await conn.execute("DELETE FROM jobs WHERE queue = 'push' AND ref = ?", (ref,))
        total = await enqueue_recorded(conn, ref, inboxes)
    federation.push.wake.set()
    return Deliveries(ref, total)


async def progress_of(federation: Federation, sent: Deliveries) -> Deliveries:
    await federation.push.flush()  # acknowledgements are batched
    rows = await federation.db.fetchall(
        "SELECT state, count(*) FROM jobs WHERE queue = 'push' AND ref = ? GROUP BY state",
        (sent.ref,),
    )
    states = {row[0]: int(row[1]) for row in rows}
    return Deliveries(sent.ref, sent.total, states.get("done", 0), states.get("dead", 0))


async def wait_for(
    federation: Federation,
    sent: Deliveries,
    within: float,
    progress: Callable[[Deliveries], None] = lambda deliveries: None,
    *,
    poll: float = 0.2,
) -> Deliveries:
    """Wait until every delivery of the Delete is done or failed for good, at most `within`
    seconds (a server that is down would otherwise hold us for the two days of retries)."""
    deadline = time.monotonic() + within
    while True:
        now = await progress_of(federation, sent)
        progress(now)
        if now.waiting == 0 or time.monotonic() >= deadline:
            return now
        await asyncio.sleep(poll)
