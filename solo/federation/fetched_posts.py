"""The checks a post fetched from its origin must pass before it is stored.

Backfill (outboxes, threads, pinned posts) and quotes both fetch posts nobody pushed to us;
they pass ingress's checks (`notes.parse_post`: the id on its author's host, sanitized content)
and these: a post type, an author on the post's host, no blocked domain or account, public or
unlisted only (or, fetched for our user, what its server showed our user), and no Delete that
overtook it.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from solo import urls
from solo.activitystreams import id_of, types_of
from solo.federation.collections import Budget
from solo.federation.context import Federation
from solo.federation.handlers import Ignored
from solo.federation.notes import POST_TYPES, audience, author_of, mentioned, parse_post
from solo.federation.remote_actors import same_origin
from solo.store import follows, hosts, interactions, statuses
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus

log = logging.getLogger(__name__)

SHAREABLE: Final = ("public", "unlisted")


async def accept(
    federation: Federation,
    budget: Budget,
    document: dict[str, Any],
    addressing: dict[str, Any] | None = None,
    *,
    purpose: str,
    for_user: bool = False,
) -> NewStatus | None:
    """The status to store for a fetched post, or None (the reason is logged for `purpose`).

    With `for_user` (the post was fetched signed as our user), a followers-only post of someone
    we follow and a post addressed to us are kept too: its server showed them to our user, as
    it would have delivered them."""
    object_id = id_of(document) or "?"
    if not types_of(document) & POST_TYPES:
        log.info("%s: %s is a %r, not a post", purpose, object_id, document.get("type"))
        return None
    author_id = author_of(document)
    if author_id is None or not same_origin(author_id, object_id):
        log.info("%s: %s is not on its author's host", purpose, object_id)
        return None
    author = await budget.actor(author_id)
    if author is None:
        return None
    if await hosts.is_blocked(federation.db, author.domain.split(":")[0]) or (
        await interactions.exists(federation.db, "block", actor_id=None, target_actor_id=author.id)
    ):
        log.info("%s: %s is blocked", purpose, author.ap_id)
        return None
    try:
        status = parse_post(
            document,
            author,
            federation.ids,
            fallback_addressing=addressing,
            allow_private=federation.settings.allow_private_addresses,
        )
    except Ignored as reason:
        log.info("%s: %s", purpose, reason)
        return None
    if status.visibility not in SHAREABLE and not (
        for_user and await _ours_to_read(federation, status, document, author)
    ):
        log.info("%s: %s is not public", purpose, status.ap_id)
        return None
    if await statuses.deleted_before_arrival(federation.db, status.ap_id, author.ap_id):
        log.info("%s: %s was deleted before it arrived", purpose, status.ap_id)
        return None
    return status


async def _ours_to_read(
    federation: Federation, status: NewStatus, document: dict[str, Any], author: RemoteActor
) -> bool:
    """Whether our user may read this non-public post: it names us, or it is followers-only and
    we follow its author."""
    if urls.actor(federation.settings) in audience(document) | mentioned(document):
        return True
    if status.visibility != "private" or author.id is None:
        return False
    follow = await follows.get_follow(federation.db, "out", author.id)
    return follow is not None and follow.state == "accepted"
