"""Our own posts: write, edit and delete them, each change delivered to the post's audience.

Every action resolves what it needs first (mentions through WebFinger, the inboxes), then stores
the change and enqueues its deliveries in ONE transaction (DESIGN.md, Posting), then wakes the
push worker. A post's tags are fixed when it is written or edited and kept with it
(`vocab.Extras` in the `raw` column, with its attachments and poll), so its Update and
Delete reach the same people as its Create.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, cast, get_args

import aiosqlite

from solo import urls
from solo.actions import ActionError
from solo.actions import media as media_actions
from solo.actions import polls as poll_actions
from solo.actions.polls import PollDraft
from solo.federation import cards, poll_tasks, vocab
from solo.federation.audience import post_audience
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.federation.resolver import ResolveError
from solo.media.upload import MAX_ATTACHMENTS
from solo.net.fetch import FetchError
from solo.store import actors as actor_store
from solo.store import media as media_store
from solo.store import polls as poll_store
from solo.store import statuses as status_store
from solo.store.media import Media
from solo.store.statuses import NewStatus, Status, Visibility
from solo.text import find_mentions, render_post

# Another issue makes this a setting; until then, Mastodon's default.
MAX_CHARS: Final = 500  # the default of Settings.max_post_chars, as Mastodon's
VISIBILITIES: Final = frozenset(get_args(Visibility))
GONE_PARENT: Final = "The post you are replying to no longer exists."
POLL_OR_MEDIA: Final = "A post can have a poll or attachments, not both."


@dataclass(frozen=True, slots=True)
class _Mentioned:
    """A mention that resolved (a `solo.text.ResolvedMention`) and the handle to tag it with."""

    href: str
    ap_id: str
    handle: str


def _checked_text(
    text: str, summary: str, limit: int, *, may_be_empty: bool = False
) -> tuple[str, str]:
    text, summary = text.strip(), summary.strip()
    if not text and not may_be_empty:
        raise ActionError("Write something first.")
    # Like Mastodon, the content warning counts against the limit too.
    length = len(text) + len(summary)
    if length > limit:
        raise ActionError(
            "Posts can be at most %(limit)s characters long; this one has %(length)s.",
            limit=limit,
            length=length,
        )
    return text, summary


async def _resolve_mention(
    federation: Federation, username: str, host: str | None
) -> _Mentioned | None:
    """One `@user` or `@user@host`; None (the mention stays text) when it cannot be found."""
    settings = federation.settings
    if host is None or host == settings.domain:
        # Only we live here: `@someone-else` on our own domain is nobody.
        if username.lower() != settings.username:
            return None
        return _Mentioned(urls.profile(settings), urls.actor(settings), urls.handle(settings))
    actor = await actor_store.get_actor_by_handle(federation.db, username, host)
    if actor is None:
        try:
            actor = await federation.resolver.webfinger(username, host)
        except (ResolveError, FetchError):
            return None
    return _Mentioned(actor.url or actor.ap_id, actor.ap_id, actor.handle)


async def _render(federation: Federation, text: str) -> tuple[str, list[vocab.Document]]:
    """The post's HTML and its tags: Mentions of the accounts that resolved, then Hashtags."""
    pairs = find_mentions(text)
    found = await asyncio.gather(*(_resolve_mention(federation, u, h) for u, h in pairs))
    resolved = dict(zip(pairs, found, strict=True))
    settings = federation.settings
    rendered = render_post(
        text, base_url=settings.base_url, resolve_mention=lambda u, h: resolved.get((u, h))
    )
    handles = {m.ap_id: m.handle for m in found if m is not None}
    tags = [vocab.mention_tag(m.ap_id, handles[m.ap_id]) for m in rendered.mentions]
    tags += [vocab.hashtag_tag(settings, name) for name in rendered.hashtags]
    return rendered.html, tags


async def new_status_id(federation: Federation, conn: aiosqlite.Connection) -> int:
    """A fresh id no row has, chosen inside the writer's transaction: our ap_ids are built from
    it, so `insert_status` must never have to move the row to another id."""
    status_id = federation.ids.next()
    while await status_store.id_taken(conn, status_id):
        status_id = federation.ids.next()
    return status_id


async def _parent(federation: Federation, status_id: int) -> Status:
    parent = await status_store.get_status(federation.db, status_id)
    if parent is not None and parent.reblog_of_id is not None:
        # Answering a boost answers the boosted post.
        parent = await status_store.get_status(federation.db, parent.reblog_of_id)
    if parent is None or parent.deleted_at is not None:
        raise ActionError(GONE_PARENT)
    return parent


async def check(
    federation: Federation,
    text: str,
    *,
    visibility: str = "public",
    summary: str = "",
    in_reply_to: int | None = None,
    media_ids: Sequence[int] = (),
    poll: PollDraft | None = None,
) -> None:
    """Refuse (ActionError) what `post` would refuse, without posting: a scheduled post is
    checked when it is written, not only when its time comes."""
    _checked_text(text, summary, federation.settings.max_post_chars, may_be_empty=bool(media_ids))
    if poll is not None and media_ids:
        raise ActionError(POLL_OR_MEDIA)
    if poll is not None:
        poll.checked()
    await media_actions.attachable(federation, media_ids)
    if visibility not in VISIBILITIES:
        raise ActionError(
            "Visibility must be one of %(choices)s.", choices=", ".join(sorted(VISIBILITIES))
        )
    if in_reply_to is not None:
        await _parent(federation, in_reply_to)


async def post(
    federation: Federation,
    text: str,
    *,
    visibility: str = "public",
    summary: str = "",
    sensitive: bool = False,
    in_reply_to: int | None = None,
    language: str | None = None,
    media_ids: Sequence[int] = (),
    poll: PollDraft | None = None,
    also: Callable[[aiosqlite.Connection, int], Awaitable[None]] | None = None,
) -> Status:
    """Publish a note: stored with its attachments or its poll, and its Create queued for every
    inbox of its audience. `also(conn, status_id)` runs in the same transaction (a scheduled
    post is marked published with it, so that it is never posted twice)."""
    text, summary = _checked_text(
        text, summary, federation.settings.max_post_chars, may_be_empty=bool(media_ids)
    )
    if poll is not None and media_ids:
        raise ActionError(POLL_OR_MEDIA)
    draft = None if poll is None else poll.checked()
    attachments = await media_actions.attachable(federation, media_ids)
    if visibility not in VISIBILITIES:
        raise ActionError(
            "Visibility must be one of %(choices)s.", choices=", ".join(sorted(VISIBILITIES))
        )
    chosen = cast(Visibility, visibility)
    parent = None if in_reply_to is None else await _parent(federation, in_reply_to)
    content_html, tags = await _render(federation, text)
    audience = await post_audience(federation, chosen, vocab.mentioned(tags), parent)
    extras = vocab.Extras(
        tag=tuple(tags),
        attachment=tuple(media_actions.document(federation, item) for item in attachments),
    )
    settings = federation.settings
    now = time.time()
    if draft is not None:
        extras = dataclasses.replace(extras, question=poll_actions.question(draft, now))
    async with federation.db.transaction() as conn:
        status_id = await new_status_id(federation, conn)
        ap_id = urls.status(settings, status_id)
        new = NewStatus(
            id=status_id,
            ap_id=ap_id,
            actor_id=None,
            visibility=chosen,
            content_html=content_html,
            published_at=now,
            url=urls.status_page(settings, status_id),
            in_reply_to_ap_id=None if parent is None else parent.ap_id,
            in_reply_to_id=None if parent is None else parent.id,
            conversation=(parent.conversation if parent is not None else None)
            or vocab.conversation_id(settings, status_id, now),
            summary=summary,
            # A content warning hides the post whatever the box said (as Mastodon has it).
            sensitive=sensitive or bool(summary),
            source_text=text,
            language=(language or "").strip() or None,
            raw=extras.to_json(),
            type="Note" if draft is None else "Question",
        )
        stored = await status_store.insert_status(conn, new)
        assert stored == status_id  # the id was free and a new ap_id cannot be tombstoned
        if not await media_store.attach(conn, status_id, media_ids):
            raise ActionError("One of the attachments already belongs to another post.")
        if draft is not None:
            await poll_store.save(conn, status_id, draft.state(now), refreshed_at=None)
        create = vocab.with_context(vocab.create(settings, _as_status(new), extras))
        await enqueue_delivery(conn, create, audience, object_ap_id=ap_id)
        if also is not None:
            await also(conn, status_id)
    federation.push.wake.set()
    await federation.feeds.status_added(status_id)
    cards.start(federation, status_id)
    if draft is not None:
        poll_tasks.wake(federation)
    return await _get(federation, status_id)


def _as_status(new: NewStatus) -> Status:
    """The row just inserted, as `get_status` will read it once committed."""
    return Status(
        id=new.id,
        ap_id=new.ap_id,
        url=new.url,
        actor_id=new.actor_id,
        type=new.type,
        visibility=new.visibility,
        in_reply_to_ap_id=new.in_reply_to_ap_id,
        in_reply_to_id=new.in_reply_to_id,
        reblog_of_id=new.reblog_of_id,
        conversation=new.conversation,
        summary=new.summary,
        sensitive=new.sensitive,
        content_html=new.content_html,
        source_text=new.source_text,
        language=new.language,
        published_at=new.published_at,
        edited_at=None,
        deleted_at=None,
    )


async def _get(federation: Federation, status_id: int) -> Status:
    found = await status_store.get_status(federation.db, status_id)
    assert found is not None
    return found


async def _own_post(federation: Federation, status_id: int) -> Status:
    status = await status_store.get_status(federation.db, status_id)
    if status is None or status.deleted_at is not None:
        raise ActionError("That post does not exist.")
    if status.actor_id is not None or status.reblog_of_id is not None:
        raise ActionError("You can only change your own posts.")
    return status


async def _stored_parent(federation: Federation, status: Status) -> Status | None:
    if status.in_reply_to_id is None:
        return None
    return await status_store.get_status(federation.db, status.in_reply_to_id)


async def _stored_extras(federation: Federation, status: Status) -> vocab.Extras:
    return vocab.stored_extras(await status_store.get_raw(federation.db, status.id))


async def edit(
    federation: Federation,
    status_id: int,
    text: str,
    *,
    summary: str | None = None,
    sensitive: bool | None = None,
    media_ids: Sequence[int] | None = None,
) -> Status:
    """Change one of our posts (None keeps the summary, sensitivity or attachments) and send
    Update(Note).

    The Update goes to everyone who had the post and to anyone newly mentioned. `media_ids`
    is the new list of attachments: the post's own, in a new order or fewer, and uploads no
    post has taken yet; those left out are detached (and go with the unused uploads).
    """
    status = await _own_post(federation, status_id)
    old = await _stored_extras(federation, status)
    poll = await poll_store.get_poll(federation.db, status.id)  # its counts ride along
    # The attachments, with their alt text as it is now (it may have been changed since).
    current = (await media_store.media_of(federation.db, [status.id])).get(status.id, [])
    attached = current if media_ids is None else await _edited_media(federation, current, media_ids)
    if attached and poll is not None:
        raise ActionError(POLL_OR_MEDIA)
    text, new_summary = _checked_text(
        text,
        status.summary if summary is None else summary,
        federation.settings.max_post_chars,
        may_be_empty=bool(attached),
    )
    content_html, tags = await _render(federation, text)
    extras = dataclasses.replace(
        old,
        tag=tuple(tags),
        attachment=tuple(media_actions.document(federation, item) for item in attached),
    )
    mentions = dict.fromkeys([*vocab.mentioned(old.tag), *vocab.mentioned(tags)])
    parent = await _stored_parent(federation, status)
    audience = await post_audience(federation, status.visibility, mentions, parent)
    settings = federation.settings
    edited = dataclasses.replace(
        status,
        content_html=content_html,
        summary=new_summary,
        sensitive=(status.sensitive if sensitive is None else sensitive) or bool(new_summary),
        source_text=text,
        edited_at=max(time.time(), (status.edited_at or 0.0) + 0.001),
    )
    assert edited.edited_at is not None
    update_id = f"{status.ap_id}#updates/{federation.ids.next()}"
    async with federation.db.transaction() as conn:
        if media_ids is not None and not await media_store.reattach(
            conn, status.id, [item.id for item in attached]
        ):
            raise ActionError("One of the attachments already belongs to another post.")
        await status_store.update_content(
            conn,
            status.id,
            content_html=edited.content_html,
            summary=edited.summary,
            sensitive=edited.sensitive,
            edited_at=edited.edited_at,
            source_text=text,
            raw=extras.to_json(),
        )
        activity = vocab.update(settings, edited, update_id, extras, poll=poll)
        await enqueue_delivery(conn, activity, audience, object_ap_id=status.ap_id)
    federation.push.wake.set()
    federation.feeds.status_edited(status.id)
    cards.start(federation, status.id)
    return await _get(federation, status.id)


async def _edited_media(
    federation: Federation, current: Sequence[Media], media_ids: Sequence[int]
) -> list[Media]:
    """The attachments an edit asks for: the post's own and fresh uploads, in order."""
    own = {item.id: item for item in current}
    fresh = await media_actions.attachable(
        federation, [media_id for media_id in media_ids if media_id not in own]
    )
    if len(set(media_ids)) != len(media_ids):
        raise ActionError("The same attachment is there twice.")
    if len(media_ids) > MAX_ATTACHMENTS:
        raise ActionError(
            "A post can have at most %(max_attachments)s attachments.",
            max_attachments=MAX_ATTACHMENTS,
        )
    found = {**own, **{item.id: item for item in fresh}}
    return [found[media_id] for media_id in media_ids]


async def delete(federation: Federation, status_id: int) -> None:
    """Delete one of our posts for good: a tombstone, a Delete to its audience, and its
    deliveries still waiting (a Create to a server that is down, say) given up."""
    settings = federation.settings
    status = await status_store.get_status(federation.db, status_id)
    if status is None and await status_store.is_tombstoned(
        federation.db, urls.status(settings, status_id)
    ):
        return  # already deleted: deleting twice is not an error
    status = await _own_post(federation, status_id)
    extras = await _stored_extras(federation, status)
    parent = await _stored_parent(federation, status)
    audience = await post_audience(
        federation, status.visibility, vocab.mentioned(extras.tag), parent
    )
    boosts = await status_store.boost_ids(federation.db, status.id)
    attached = (await media_store.media_of(federation.db, [status.id])).get(status.id, [])
    async with federation.db.transaction() as conn:
        await status_store.tombstone(conn, status.ap_id)
        activity = vocab.delete(settings, status, extras)
        await enqueue_delivery(conn, activity, audience, object_ap_id=status.ap_id)
    federation.push.wake.set()
    for removed in (status.id, *boosts):
        federation.feeds.status_removed(removed)
    await media_actions.remove_files(federation, attached)
    await cancel_deliveries(federation, status.ap_id, keep=(activity["id"],))


async def cancel_deliveries(
    federation: Federation, object_ap_id: str, *, keep: Sequence[str] = ()
) -> int:
    """Give up the queued deliveries of our activities about `object_ap_id` (but those of the
    activities in `keep`); returns how many jobs were cancelled.

    This runs after the deleting transaction has committed: a worker that picks a Create in
    between only sends it ahead of its Delete, which peers handle.
    """
    rows = await federation.db.fetchall(
        "SELECT id, ap_id FROM activities WHERE object_ap_id = ? AND local = 1", (object_ap_id,)
    )
    cancelled = 0
    for row in rows:
        if row["ap_id"] not in keep:
            cancelled += await federation.push.cancel(row["id"], f"{object_ap_id} was deleted")
    return cancelled
