"""Polls on the wire: Questions read from peers, votes (Notes that name an option) in both
directions, and the Update(Question) that tells our poll's new counts.

A Question lists its options in `oneOf` (one choice) or `anyOf` (several), each a Note whose
`name` is the option and whose `replies.totalItems` is its count; `endTime` says when it ends,
`closed` that it has (Pleroma also writes its end time there), `votersCount` how many voted.
A vote is a Note by the voter with the option as its `name`, `inReplyTo` the Question, no
content, addressed to the poll's author alone (Mastodon's and Pleroma's shape); others put
something in its content, which is never read (FEDERATION.md rule 41).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiosqlite

from solo import urls
from solo.activitystreams import AS_CONTEXT, id_of, text_of
from solo.federation import vocab
from solo.federation.audience import Audience, inbox_of, post_audience
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.federation.handlers import Ignored
from solo.federation.notes import audience, first, parse_time
from solo.store import actors as actor_store
from solo.store import follows as follow_store
from solo.store import interactions
from solo.store import polls as poll_store
from solo.store import statuses as status_store
from solo.store.actors import RemoteActor
from solo.store.polls import Poll, PollOption, PollState
from solo.store.statuses import NewStatus, Status

# A peer's poll is cut to this many options and characters per option (Mastodon was open to a
# denial of service through unbounded options: CVE-2026-23962).
MAX_REMOTE_OPTIONS: Final = 20
MAX_REMOTE_TITLE: Final = 200
# A peer's counts are capped here: SQLite stores at most 2**63 - 1 (a larger `votersCount`
# would fail the whole Create), and clients read JSON numbers as doubles.
MAX_REMOTE_COUNT: Final = 2**31 - 1


def _time(value: Any) -> float | None:
    """An xsd:dateTime; one without a zone is read as UTC (Pleroma writes `closed` so)."""
    stamp = parse_time(value)
    if stamp is not None or not isinstance(value, str):
        return stamp
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC).timestamp()


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return 0
    return min(value, MAX_REMOTE_COUNT)


def parse_question(document: dict[str, Any], now: float | None = None) -> PollState | None:
    """The poll a Question carries; None when it has no options (not a poll we can show)."""
    multiple = isinstance(document.get("anyOf"), list) and bool(document["anyOf"])
    items = document.get("anyOf") if multiple else document.get("oneOf")
    if not isinstance(items, list):
        return None
    options = []
    for item in items[:MAX_REMOTE_OPTIONS]:
        if not isinstance(item, dict):
            continue
        title = " ".join(text_of(item.get("name")).split())[:MAX_REMOTE_TITLE]
        replies = item.get("replies")
        votes = _count(replies.get("totalItems")) if isinstance(replies, dict) else 0
        options.append(PollOption(title, votes))
    if not options:
        return None
    now = time.time() if now is None else now
    end = _time(document.get("endTime"))
    closed = _time(document.get("closed"))
    if closed is not None and closed > now:
        # Pleroma says when it will close: an end time, not a closing.
        end, closed = min(end or closed, closed), None
    voters = document.get("votersCount")
    return PollState(
        options=tuple(options),
        multiple=multiple,
        voters_count=_count(voters) if voters is not None else None,
        expires_at=end if end is not None else closed,
        closed_at=closed,
    )


async def store_remote(
    conn: aiosqlite.Connection, status_id: int, status: NewStatus, now: float | None = None
) -> bool:
    """Store the poll of a remote Question just stored (in the same transaction); True when
    there was one."""
    if status.type != "Question" or not status.raw:
        return False
    try:
        document = json.loads(status.raw)
    except ValueError:
        return False
    state = parse_question(document, now) if isinstance(document, dict) else None
    if state is None:
        return False
    await poll_store.save(conn, status_id, state, refreshed_at=time.time() if now is None else now)
    return True


# --- Votes in our polls -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vote:
    """A Note that votes in one of our polls: the poll's post, the poll, the chosen option."""

    status: Status
    poll: Poll
    choice: int


async def vote_of(federation: Federation, document: dict[str, Any]) -> Vote | None:
    """The vote `document` is, or None when it is no vote (then it may be a post).

    Mastodon's rule (`poll_vote?`): a reply to one of our polls whose `name` is one of its
    options is a vote, whatever its `content` (snac sends `<br>`, microblog.pub nothing)."""
    name = " ".join(text_of(document.get("name")).split())
    poll_ap_id = id_of(first(document.get("inReplyTo")))
    if not name or poll_ap_id is None:
        return None
    status = await status_store.get_status_by_ap_id(federation.db, poll_ap_id)
    if status is None or status.actor_id is not None or status.deleted_at is not None:
        return None
    poll = await poll_store.get_poll(federation.db, status.id)
    if poll is None:
        return None
    choice = next((i for i, o in enumerate(poll.options) if o.title == name), None)
    return None if choice is None else Vote(status, poll, choice)


async def record_vote(
    federation: Federation,
    activity: dict[str, Any],
    document: dict[str, Any],
    actor: RemoteActor,
    vote: Vote,
) -> int:
    """A remote actor's vote in one of our polls, from their Create(Note); returns the poll's
    status id once recorded (a repeated delivery records nothing again). Raises Ignored."""
    assert actor.id is not None
    status, poll = vote.status, vote.poll
    if urls.actor(federation.settings) not in audience(document) | audience(activity):
        raise Ignored("a poll vote not addressed to us")
    vote_id = id_of(document)
    if vote_id is None:
        raise Ignored("a poll vote without an id")
    now = time.time()
    if poll.ended(now):
        raise Ignored(f"a poll vote after {status.ap_id} ended")
    if await interactions.exists(federation.db, "block", actor_id=None, target_actor_id=actor.id):
        raise Ignored(f"{actor.ap_id} is blocked")
    if not await _may_see(federation, status, actor):
        # A voter is sent our Update(Question), content included: only those who had the post.
        raise Ignored(f"a poll vote by {actor.ap_id}, who may not see {status.ap_id}")
    async with federation.db.transaction() as conn:
        earlier = await poll_store.choices_of(conn, status.id, actor.id)
        if earlier and not poll.multiple:
            return status.id  # one choice only: the first vote stands
        if await poll_store.add_vote(conn, status.id, actor.id, vote.choice, vote_id, now):
            await poll_store.recount(conn, status.id)
    return status.id


async def _may_see(federation: Federation, status: Status, actor: RemoteActor) -> bool:
    """Whether a remote actor is in the audience of one of our posts."""
    if status.visibility in ("public", "unlisted"):
        return True
    assert actor.id is not None
    extras = vocab.stored_extras(await status_store.get_raw(federation.db, status.id))
    if actor.ap_id in vocab.mentioned(extras.tag):
        return True
    if status.visibility != "private":
        return False
    follow = await follow_store.get_follow(federation.db, "in", actor.id)
    return follow is not None and follow.state == "accepted"


# --- Our votes in remote polls ------------------------------------------------------------


def vote_create(
    federation: Federation, poll_status: Status, author: RemoteActor, title: str
) -> vocab.Document:
    """Create(Note) of one choice, as Mastodon sends a vote: to the poll's author alone."""
    settings = federation.settings
    me = urls.actor(settings)
    note_id = f"{me}#votes/{federation.ids.next()}"
    return {
        "@context": AS_CONTEXT,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": me,
        "to": [author.ap_id],
        "object": {
            "id": note_id,
            "type": "Note",
            "name": title,
            "attributedTo": me,
            "to": [author.ap_id],
            "inReplyTo": poll_status.ap_id,
        },
    }


# --- Our poll's counts to its audience ----------------------------------------------------


async def _audience(federation: Federation, status: Status, extras: vocab.Extras) -> Audience:
    """Who had the poll (its post's audience, as for its Create), and whoever voted."""
    parent = (
        None
        if status.in_reply_to_id is None
        else await status_store.get_status(federation.db, status.in_reply_to_id)
    )
    audience = await post_audience(
        federation, status.visibility, vocab.mentioned(extras.tag), parent
    )
    voter_ids = await poll_store.voter_ids(federation.db, status.id)
    voters = await actor_store.actors_by_ids(federation.db, voter_ids)
    return audience.plus(inbox_of(actor) for actor in voters.values())


async def send_update(federation: Federation, status_id: int) -> bool:
    """Update(Question) with our poll's counts as they are now (`closed` once it ended) to
    everyone who had it; False when the poll is gone."""
    db = federation.db
    status = await status_store.get_status(db, status_id)
    poll = await poll_store.get_poll(db, status_id)
    if status is None or status.deleted_at is not None or status.actor_id is not None:
        return False
    if poll is None:
        return False
    extras = vocab.stored_extras(await status_store.get_raw(db, status_id))
    if extras.question is None:
        return False
    audience = await _audience(federation, status, extras)
    update_id = f"{status.ap_id}#updates/{federation.ids.next()}"
    activity = vocab.update(federation.settings, status, update_id, extras, poll=poll)
    async with db.transaction() as conn:
        await enqueue_delivery(conn, activity, audience, object_ap_id=status.ap_id)
    federation.push.wake.set()
    return True


async def send_votes(
    conn: aiosqlite.Connection,
    federation: Federation,
    poll_status: Status,
    author: RemoteActor,
    titles: Sequence[tuple[int, str]],
    now: float,
) -> None:
    """Record our choices in a remote poll and queue one vote per choice to its author, in the
    caller's transaction."""
    for choice, title in titles:
        activity = vote_create(federation, poll_status, author, title)
        note_id = activity["object"]["id"]
        await poll_store.add_vote(conn, poll_status.id, None, choice, note_id, now)
        await enqueue_delivery(conn, activity, [inbox_of(author)], object_ap_id=note_id)
