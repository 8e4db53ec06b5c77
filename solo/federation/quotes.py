"""Quote posts: the post a status quotes, found among ours or fetched from its origin.

The quoted post passes the checks of every fetched post (fetched_posts.py: its origin, its
author, blocks, and public or unlisted only: a quote never reveals a followers-only or direct
post). One level only: the quoted post's own quote is kept as an id and shown as a link, so a
chain or a loop of quotes costs at most `FETCHES` fetches.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Final

from solo.federation import fetched_posts
from solo.federation.collections import Budget
from solo.federation.context import Federation
from solo.federation.remote_actors import authority
from solo.store import statuses
from solo.store.statuses import NewStatus

log = logging.getLogger(__name__)

FETCHES: Final = 3  # the post, its author, and one redirect's worth of slack
SECONDS: Final = 10.0
_SHOWN: Final = frozenset({"public", "unlisted"})


async def with_quote(federation: Federation, status: NewStatus) -> NewStatus:
    """`status` with `quote_id` set when the post it quotes can be had and shown."""
    quote_id = await resolve(federation, status)
    return status if quote_id is None else replace(status, quote_id=quote_id)


async def resolve(federation: Federation, status: NewStatus) -> int | None:
    """The row of the post `status` quotes: stored already, or fetched and stored now."""
    target = status.quote_ap_id
    if target is None or target == status.ap_id:
        return None
    stored = await statuses.get_status_by_ap_id(federation.db, target)
    if stored is not None:
        shown = stored.visibility in _SHOWN and stored.deleted_at is None
        return stored.id if shown and stored.reblog_of_id is None else None
    if authority(target) == federation.settings.domain:
        return None  # ours, and gone
    if await statuses.is_tombstoned(federation.db, target):
        return None
    budget = Budget(federation.resolver, fetches=FETCHES, seconds=SECONDS)
    document = await budget.fetch(target)
    if document is None:
        return None
    quoted = await fetched_posts.accept(federation, budget, document, purpose="quote")
    if quoted is None:
        return None
    # Its own quote stays an id: resolving it too would let quotes chain without end.
    async with federation.db.transaction() as conn:
        row_id = await statuses.insert_remote_status(conn, replace(quoted, quote_id=None))
    if row_id is not None:
        await federation.feeds.status_added(row_id)
    found = await statuses.get_status_by_ap_id(federation.db, quoted.ap_id)
    if found is None or found.visibility not in _SHOWN:
        log.info("quote: %s could not be stored", target)
        return None
    return found.id
