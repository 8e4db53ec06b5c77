"""Who our activities go to: an actor's inbox (its server's shared one when it has one), and the
audience of one of our posts. Posting, editing, deleting, polls and blocks all deliver through
these, so that every activity about a post reaches the same servers.

Our followers' servers are an `Audience` flag rather than a list: their inboxes are chosen by
the database as the jobs are written (`solo.store.follows.FOLLOWER_SERVERS`), so a celebrity's
50,000 servers never pass through Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from solo import urls
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store.actors import RemoteActor
from solo.store.relays import relay_inboxes
from solo.store.statuses import Status, Visibility

Inbox = tuple[str, str]  # (inbox URL, host), as enqueue_delivery takes them


@dataclass(frozen=True, slots=True)
class Audience:
    """Where an activity goes: the inboxes `named`, and with `followers` every inbox of our
    followers' servers (one job per distinct inbox either way)."""

    followers: bool = False
    named: tuple[Inbox, ...] = ()

    def plus(self, inboxes: Iterable[Inbox]) -> Audience:
        return Audience(self.followers, (*self.named, *inboxes))


FOLLOWERS = Audience(followers=True)


def inbox_of(actor: RemoteActor) -> Inbox:
    """Where to deliver to `actor`: its server's shared inbox when it has one (rule 32)."""
    return (actor.shared_inbox or actor.inbox, actor.domain)


async def post_audience(
    federation: Federation,
    visibility: Visibility,
    mentions: Iterable[str],
    parent: Status | None,
) -> Audience:
    """Everyone a post's activities go to: our followers' servers unless it is direct, the
    mentioned accounts, and the author of the post it answers (who is told of replies, as
    Mastodon does, whether or not they are mentioned)."""
    db = federation.db
    named: list[Inbox] = []
    if visibility == "public":
        named += await relay_inboxes(db)  # Mastodon sends its public posts to its relays
    me = urls.actor(federation.settings)
    for ap_id in mentions:
        actor = None if ap_id == me else await actor_store.get_actor(db, ap_id)
        if actor is not None:
            named.append(inbox_of(actor))
    if visibility != "direct" and parent is not None and parent.actor_id is not None:
        author = await actor_store.get_actor_by_id(db, parent.actor_id)
        if author is not None:
            named.append(inbox_of(author))
    return Audience(followers=visibility != "direct", named=tuple(named))
