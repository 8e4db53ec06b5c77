"""Who our activities go to: an actor's inbox (its server's shared one when it has one), and the
audience of one of our posts. Posting, editing, deleting, polls and blocks all deliver through
these, so that every activity about a post reaches the same servers.
"""

from __future__ import annotations

from collections.abc import Iterable

from solo import urls
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store.actors import RemoteActor
from solo.store.follows import follower_inboxes
from solo.store.relays import relay_inboxes
from solo.store.statuses import Status, Visibility

Inbox = tuple[str, str]  # (inbox URL, host), as enqueue_delivery takes them


def inbox_of(actor: RemoteActor) -> Inbox:
    """Where to deliver to `actor`: its server's shared inbox when it has one (rule 32)."""
    return (actor.shared_inbox or actor.inbox, actor.domain)


async def audience_inboxes(
    federation: Federation,
    visibility: Visibility,
    mentions: Iterable[str],
    parent: Status | None,
) -> list[Inbox]:
    """Everyone a post's activities go to: our followers' servers unless it is direct, the
    mentioned accounts, and the author of the post it answers (who is told of replies, as
    Mastodon does, whether or not they are mentioned)."""
    db = federation.db
    inboxes = [] if visibility == "direct" else await follower_inboxes(db)
    if visibility == "public":
        inboxes += await relay_inboxes(db)  # Mastodon sends its public posts to its relays
    me = urls.actor(federation.settings)
    for ap_id in mentions:
        actor = None if ap_id == me else await actor_store.get_actor(db, ap_id)
        if actor is not None:
            inboxes.append(inbox_of(actor))
    if visibility != "direct" and parent is not None and parent.actor_id is not None:
        author = await actor_store.get_actor_by_id(db, parent.actor_id)
        if author is not None:
            inboxes.append(inbox_of(author))
    return inboxes
