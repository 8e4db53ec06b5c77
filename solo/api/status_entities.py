"""Mastodon's Status entity, for every endpoint that answers statuses (statuses, timelines,
notifications, bookmarks, search…).

    await render_statuses(federation, entry_ids, caller, "home")  # a page, in the order given
    await render_status(federation, status_id, caller)     # one, else RecordNotFound
    await render_context(federation, status_id, caller)    # Context: ancestors, descendants

A page is loaded as the web's (`solo.web.views.Page.statuses`) is, in a fixed number of
queries whatever its size: the rows with the posts they boost (and their tags), the authors,
the accounts mentioned, counts and our flags, link cards, attachments, polls on pages that
have some, and our own account on pages that show it. Nothing is read per item.

Gone entries are left out, and so are those the caller may not read: without a user token,
only public and unlisted posts. A boost is a wrapper whose `reblog` is the boosted post.
Every field Mastodon emits is there (null or [] when empty); `text` is null but where an
endpoint answers the source (`with_source`); `scheduled_at` never is, as toot takes a status
with that key for a scheduled one.

For the user, `filtered` lists the keyword filters a post matches (in any context, as Mastodon:
clients pick by context), and a filter whose action is `hide` in the listing's `context` (home,
notifications, public, thread, account) leaves the post out.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from solo import urls
from solo.actions import filters as filter_actions
from solo.actions.filter_rules import Rules, hidden, searchable_text
from solo.api import entities
from solo.api import status_parts as parts
from solo.api.auth import Caller
from solo.api.errors import RecordNotFound
from solo.api.filters import filter_result
from solo.federation import poll_tasks
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store import cards as card_store
from solo.store import interactions as interaction_store
from solo.store import media as media_store
from solo.store import polls as poll_store
from solo.store import statuses as status_store
from solo.store import suppression
from solo.store.account import get_account
from solo.store.actors import RemoteActor
from solo.store.cards import Card
from solo.store.counts import account_counts
from solo.store.interactions import StatusCounts
from solo.store.media import Media
from solo.store.polls import Poll
from solo.store.statuses import ShownStatus, Status
from solo.store.threads import replies_in_order
from solo.text import sanitize_remote_html

PUBLIC: Final = frozenset({"public", "unlisted"})


def may_read(caller: Caller | None, status: Status) -> bool:
    """Whether `caller` may see this post: the user sees what reached us; others, only what
    anyone may read."""
    return (caller is not None and caller.user) or status.visibility in PUBLIC


@functools.lru_cache(maxsize=2048)
def _sanitized(html: str) -> str:
    """A timeline shows mostly the same posts again: sanitize each once."""
    return sanitize_remote_html(html)


def _content(status: Status) -> str:
    # Ours is HTML we wrote from escaped text; theirs was sanitized when stored, and is again.
    return status.content_html if status.actor_id is None else _sanitized(status.content_html)


@dataclass(frozen=True, slots=True)
class _Loaded:
    """Everything a page of statuses needs, read in a fixed number of queries."""

    shown: dict[int, ShownStatus]
    tags: dict[int, tuple[list[str], list[str]]]
    actors: dict[int, RemoteActor]
    mentioned: dict[str, RemoteActor]
    counts: dict[int, StatusCounts]
    cards: dict[int, Card]
    media: dict[int, list[Media]]
    polls: dict[int, Poll]
    me: dict[str, Any] | None  # our Account, when the page shows it


def _posts_of(shown: dict[int, ShownStatus], entry_ids: Iterable[int]) -> set[int]:
    posts = set()
    for entry_id in entry_ids:
        entry = shown.get(entry_id)
        if entry is not None:
            posts.add(entry.status.reblog_of_id or entry.status.id)
    return posts


async def _polls(federation: Federation, statuses: Iterable[Status]) -> dict[int, Poll]:
    """The polls of the Questions among `statuses` (no query when there are none); stale
    remote ones are refreshed in the background, as on the web."""
    questions = {status.id: status for status in statuses if status.type == "Question"}
    if not questions:
        return {}
    polls = await poll_store.polls_of(federation.db, questions)
    remote = {i for i, status in questions.items() if status.actor_id is not None}
    stale = poll_tasks.stale_polls(polls.values(), remote, time.time())
    if stale:
        poll_tasks.refresh_stale(federation, stale)
    return polls


async def _load(federation: Federation, entry_ids: Sequence[int]) -> _Loaded:
    db = federation.db
    shown = {row.status.id: row for row in await status_store.shown_statuses(db, entry_ids)}
    tags = {status_id: parts.tags_of(row.raw) for status_id, row in shown.items()}
    me_ap_id = urls.actor(federation.settings)
    hrefs = {href for _, mentions in tags.values() for href in mentions if href != me_ap_id}
    actor_ids = {row.status.actor_id for row in shown.values()}
    actor_ids |= {row.parent_actor_id for row in shown.values() if row.parent_known}
    actors = await actor_store.actors_by_ids(db, (i for i in actor_ids if i is not None))
    mentioned = await actor_store.actors_by_ap_ids(db, hrefs) if hrefs else {}
    posts = _posts_of(shown, entry_ids)
    counts = await interaction_store.status_counts(db, posts)
    cards = await card_store.cards_of(db, posts)
    media = await media_store.media_of(db, posts)
    polls = await _polls(federation, (shown[i].status for i in posts if i in shown))
    ours = None in actor_ids or any(me_ap_id in mentions for _, mentions in tags.values())
    me = None
    if ours:
        account = await get_account(db)
        if account is not None:
            me = entities.local_account(federation.settings, account, await account_counts(db))
    return _Loaded(shown, tags, actors, mentioned, counts, cards, media, polls, me)


class _Renderer:
    def __init__(
        self,
        federation: Federation,
        loaded: _Loaded,
        caller: Caller | None,
        rules: Rules | None = None,
        context: str | None = None,
    ) -> None:
        self.federation = federation
        self.rules = rules
        self.context = context
        self.settings = federation.settings
        self.loaded = loaded
        self.viewer = caller is not None and caller.user
        self.caller = caller
        self.now = time.time()
        self.accounts: dict[int, dict[str, Any] | None] = {}

    def account(self, actor_id: int | None) -> dict[str, Any] | None:
        if actor_id is None:
            return self.loaded.me
        if actor_id in self.accounts:  # a page shows the same few authors again and again
            return self.accounts[actor_id]
        actor = self.loaded.actors.get(actor_id)
        found = (
            None
            if actor is None
            else entities.remote_account(self.settings, actor, self.federation.media.proxy_url)
        )
        self.accounts[actor_id] = found
        return found

    def account_id(self, actor_id: int | None) -> str | None:
        if actor_id is None:
            return None if self.loaded.me is None else str(self.loaded.me["id"])
        return str(actor_id)

    def mentions(self, hrefs: list[str]) -> list[dict[str, Any]]:
        found = []
        me = self.loaded.me
        for href in hrefs:
            if href == urls.actor(self.settings):
                if me is not None:
                    found.append({key: me[key] for key in ("id", "username", "url", "acct")})
                continue
            actor = self.loaded.mentioned.get(href)
            if actor is not None and actor.id is not None:
                found.append(
                    {
                        "id": str(actor.id),
                        "username": actor.username,
                        "url": actor.url or actor.ap_id,
                        "acct": actor.handle,
                    }
                )
        return found

    def url(self, status: Status) -> str:
        if status.url:
            return status.url
        if status.actor_id is None:
            return urls.status_page(self.settings, status.id)
        return status.ap_id

    def flags(self, counts: StatusCounts) -> dict[str, Any]:
        mine = self.viewer
        return {
            "favourited": mine and counts.favourited,
            "reblogged": mine and counts.boosted,
            "muted": mine and counts.muted,
            "bookmarked": mine and counts.bookmarked,
            "pinned": mine and counts.pinned,
            "filtered": [],
        }

    def post(self, row: ShownStatus, account: dict[str, Any]) -> dict[str, Any]:
        status = row.status
        loaded = self.loaded
        counts = loaded.counts.get(status.id, StatusCounts())
        hashtags, hrefs = loaded.tags.get(status.id, ([], []))
        emojis = entities.emoji_entities(status.emojis_json)
        found_poll = loaded.polls.get(status.id)
        found_card = loaded.cards.get(status.id)
        entity: dict[str, Any] = {
            "id": str(status.id),
            "uri": status.ap_id,
            "url": self.url(status),
            "created_at": entities.iso(status.published_at),
            "account": account,
            "content": _content(status),
            "visibility": status.visibility,
            "sensitive": status.sensitive,
            "spoiler_text": status.summary,
            "media_attachments": [
                parts.media_attachment(self.federation, item)
                for item in loaded.media.get(status.id, ())
            ],
            "application": None,
            "mentions": self.mentions(hrefs),
            "tags": [parts.tag(self.settings, name) for name in hashtags],
            "emojis": emojis,
            "reblogs_count": counts.boosts,
            "favourites_count": counts.favourites,
            "replies_count": counts.replies,
            "in_reply_to_id": str(status.in_reply_to_id) if row.parent_known else None,
            "in_reply_to_account_id": (
                self.account_id(row.parent_actor_id) if row.parent_known else None
            ),
            "reblog": None,
            "poll": None
            if found_poll is None
            else parts.poll(
                found_poll,
                own=status.actor_id is None,
                viewer=self.viewer,
                emojis=emojis,
                now=self.now,
            ),
            "card": None if found_card is None else parts.card(found_card),
            "language": status.language,
            "text": None,
            "edited_at": None if status.edited_at is None else entities.iso(status.edited_at),
        }
        return entity | self.flags(counts)

    def boost(
        self, entry: Status, booster: dict[str, Any], inner: dict[str, Any]
    ) -> dict[str, Any]:
        counts = self.loaded.counts.get(entry.reblog_of_id or 0, StatusCounts())
        entity: dict[str, Any] = {
            "id": str(entry.id),
            "uri": entry.ap_id,
            "url": self.url(entry),
            "created_at": entities.iso(entry.published_at),
            "account": booster,
            "content": "",
            "visibility": entry.visibility,
            "sensitive": False,
            "spoiler_text": "",
            "media_attachments": [],
            "application": None,
            "mentions": [],
            "tags": [],
            "emojis": [],
            "reblogs_count": 0,
            "favourites_count": 0,
            "replies_count": 0,
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "reblog": inner,
            "poll": None,
            "card": None,
            "language": None,
            "text": None,
            "edited_at": None,
        }
        return entity | self.flags(counts)

    def entry(self, entry_id: int) -> dict[str, Any] | None:
        shown = self.loaded.shown
        entry = shown.get(entry_id)
        if entry is None or entry.status.deleted_at is not None:
            return None
        booster = None
        post = entry
        if entry.status.reblog_of_id is not None:
            booster = self.account(entry.status.actor_id)
            found = shown.get(entry.status.reblog_of_id)
            if booster is None or found is None or found.status.deleted_at is not None:
                return None
            post = found
        if not may_read(self.caller, post.status) or not may_read(self.caller, entry.status):
            return None
        author = self.account(post.status.actor_id)
        if author is None:
            return None
        filtered: list[dict[str, Any]] = []
        if self.rules is not None and not self.rules.empty:
            loaded = self.loaded
            status = post.status
            poll = loaded.polls.get(status.id)
            options = [option.title for option in poll.options] if poll is not None else []
            text = searchable_text(status, loaded.media.get(status.id, ()), options)
            matched = self.rules.matches(
                text, status.id, entry_id, own=status.actor_id is None, now=self.now
            )
            if hidden(matched, self.context):
                return None
            filtered = [filter_result(match) for match in matched]
        inner = self.post(post, author) | {"filtered": filtered}
        if booster is None:
            return inner
        return self.boost(entry.status, booster, inner) | {"filtered": filtered}


async def render_statuses(
    federation: Federation,
    entry_ids: Sequence[int],
    caller: Caller | None,
    context: str | None = None,
) -> list[dict[str, Any]]:
    """The Status entities of these timeline entries (statuses or boosts), in their order; gone
    ones, ones `caller` may not read, and ones a `hide` filter of `context` removes are left
    out."""
    if not entry_ids:
        return []
    user = caller is not None and caller.user
    rules = await filter_actions.rules(federation) if user else None
    renderer = _Renderer(federation, await _load(federation, entry_ids), caller, rules, context)
    return [entity for entity in (renderer.entry(entry_id) for entry_id in entry_ids) if entity]


async def render_status(
    federation: Federation, status_id: int, caller: Caller | None
) -> dict[str, Any]:
    """One Status; RecordNotFound when it is gone or `caller` may not read it."""
    found = await render_statuses(federation, [status_id], caller)
    if not found:
        raise RecordNotFound()
    return found[0]


def with_source(entity: dict[str, Any], status: Status) -> dict[str, Any]:
    """A Status with `text`, the post as typed (our own; remote posts have none)."""
    return entity | {"text": status.source_text}


async def thread_root(federation: Federation, status_id: int, caller: Caller | None) -> Status:
    """The post a thread is about (a boost stands for the post it boosts); RecordNotFound when
    `caller` may not read it."""
    status = await status_store.get_status(federation.db, status_id)
    if status is not None and status.reblog_of_id is not None:
        status = await status_store.get_status(federation.db, status.reblog_of_id)
    if status is None or status.deleted_at is not None or not may_read(caller, status):
        raise RecordNotFound()
    return status


async def render_context(
    federation: Federation, status_id: int, caller: Caller | None
) -> dict[str, list[dict[str, Any]]]:
    """The Context of a post: what it answers (oldest first) and the replies under it (depth
    first, oldest first among siblings), as far as we have them; all read in one page."""
    status = await thread_root(federation, status_id, caller)
    db = federation.db
    ancestors = await status_store.ancestor_ids(db, status.id)
    descendants = [i for i, _ in await replies_in_order(db, status.id)]
    # Blocked and muted accounts leave the thread; the post asked for stays.
    hidden = await suppression.hidden_posts(db, [*ancestors, *descendants])
    ancestors = [i for i in ancestors if i not in hidden]
    descendants = [i for i in descendants if i not in hidden]
    rendered = {
        int(entity["id"]): entity
        for entity in await render_statuses(
            federation, [*ancestors, *descendants], caller, "thread"
        )
    }
    return {
        "ancestors": [rendered[i] for i in ancestors if i in rendered],
        "descendants": [rendered[i] for i in descendants if i in rendered],
    }
