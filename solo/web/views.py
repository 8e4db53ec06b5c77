"""What pages show, loaded in a fixed number of queries whatever the page's size.

A page of statuses is: the rows and the posts they boost (one query), their authors and the
authors of the posts they answer (one query), then counts and our own favourite, boost and
bookmark flags (one query), then the link preview cards (one query), and on pages with polls
their counts and our choices (one query). Nothing here queries per item (DESIGN.md, Reading).
"""

from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from solo import urls
from solo.actions import filters as filter_actions
from solo.actions.filter_rules import hidden, in_context, searchable_text
from solo.catalogues import N_
from solo.config import Settings
from solo.db import Database
from solo.federation.context import Federation
from solo.media import emoji
from solo.media.emoji import Emoji
from solo.store import actors as actor_store
from solo.store import cards as card_store
from solo.store import interactions as interaction_store
from solo.store import media as media_store
from solo.store import notifications as notification_store
from solo.store import statuses as status_store
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.store.cards import Card
from solo.store.interactions import StatusCounts
from solo.store.media import Media
from solo.store.statuses import Status
from solo.text import sanitize_remote_html
from solo.web.poll_views import PollView, load_polls

# Without a picture, an avatar is initials on one of this many background colours.
HUES: Final = 8
BOOSTABLE: Final = frozenset({"public", "unlisted"})
VISIBILITY_LABELS: Final = {
    "public": N_("Public"),
    "unlisted": N_("Unlisted"),
    "private": N_("Followers only"),
    "direct": N_("Mentioned people only"),
}


@dataclass(frozen=True, slots=True)
class AuthorView:
    """Someone shown beside a post or in a list: us or a remote actor."""

    ap_id: str
    name: str
    handle: str  # user@host, without the leading @
    page: str  # our page about them: /@user for us, /@user@host for others
    url: str  # their own profile page (on their server, for remote actors)
    local: bool
    actor_id: int | None = None  # the actors row, for remote actors
    # Where their pictures are: ours under /media/, theirs on their server. Templates show
    # remote ones through the media proxy (`media_src` in solo.web.media_proxy).
    avatar: str | None = None
    header: str | None = None
    emojis: tuple[Emoji, ...] = ()  # the custom emoji of their name (the `emoji` filter)

    @property
    def initials(self) -> str:
        letters = [word[0] for word in self.name.split() if word[:1].isalnum()]
        return ("".join(letters[:2]) or self.handle[:1]).upper()

    @property
    def hue(self) -> int:
        """A stable colour per account, from its id."""
        return zlib.crc32(self.ap_id.encode()) % HUES


def local_author(settings: Settings, account: Account) -> AuthorView:
    return AuthorView(
        ap_id=urls.actor(settings),
        name=account.display_name or account.username,
        handle=urls.handle(settings),
        page=f"/@{settings.username}",
        url=urls.profile(settings),
        local=True,
        avatar=account.avatar_url,
        header=account.header_url,
    )


def remote_author(actor: RemoteActor) -> AuthorView:
    return AuthorView(
        ap_id=actor.ap_id,
        name=actor.display_name or actor.username,
        handle=actor.handle,
        page=f"/@{actor.handle}",
        url=actor.url or actor.ap_id,
        local=False,
        actor_id=actor.id,
        avatar=actor.avatar_url,
        header=actor.header_url,
        emojis=emoji.from_json(actor.emojis_json),
    )


@dataclass(frozen=True, slots=True)
class StatusView:
    """One card: a post, who boosted it when the entry is a boost, and what we did to it."""

    entry_id: int  # the timeline entry: the boost's own row for a boost
    status: Status  # the post itself
    author: AuthorView
    boosted_by: AuthorView | None
    reply_to: AuthorView | None  # the author of the post it answers, when we have that post
    content: Markup
    counts: StatusCounts
    quote: QuoteView | None = None  # the post it quotes, when we have it and may show it
    card: Card | None = None  # the preview of its first link, once fetched
    media: tuple[MediaView, ...] = ()  # its attachments, in order
    poll: PollView | None = None  # a Question's poll
    filtered: tuple[str, ...] = ()  # the titles of the warn filters it matched: shown folded

    @property
    def id(self) -> int:
        return self.status.id

    @property
    def own(self) -> bool:
        return self.status.actor_id is None

    @property
    def page(self) -> str:
        """The thread page: `urls.status_page` for ours, the same shape for others."""
        return f"{self.author.page}/{self.status.id}"

    @property
    def original_url(self) -> str:
        return self.status.url or self.status.ap_id

    @property
    def boostable(self) -> bool:
        return self.status.visibility in BOOSTABLE

    @property
    def visibility_label(self) -> str:
        return VISIBILITY_LABELS.get(self.status.visibility, self.status.visibility)


@dataclass(frozen=True, slots=True)
class MediaView:
    """An attachment as a card shows it: our file, or a remote one through the media cache."""

    item: Media
    url: str  # the file itself
    preview: str  # what the card shows: the thumbnail of an image of ours, else the file
    sensitive: bool  # hidden behind a click (the post is marked sensitive)

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def description(self) -> str:
        return self.item.description

    @property
    def object_position(self) -> str:
        """The focal point as a CSS class: which ninth of the picture to keep in view."""
        column = (
            "left"
            if self.item.focus_x < -1 / 3
            else "right"
            if self.item.focus_x > 1 / 3
            else "center"
        )
        row = (
            "top"
            if self.item.focus_y > 1 / 3
            else "bottom"
            if self.item.focus_y < -1 / 3
            else "middle"
        )
        return f"focus-{row}-{column}"

    @property
    def focus_text(self) -> str:
        """The focal point as the compose form's field holds it: "x,y"."""
        return f"{self.item.focus_x:g},{self.item.focus_y:g}"


@dataclass(frozen=True, slots=True)
class QuoteView:
    """A quoted post, embedded in the card of the post quoting it."""

    status: Status
    author: AuthorView
    content: Markup

    @property
    def page(self) -> str:
        return f"{self.author.page}/{self.status.id}"


def _content(status: Status) -> Markup:
    # Ours is HTML we wrote from escaped text; theirs was sanitized when stored and is
    # sanitized again here, so that no row written by an older or buggy path reaches a page raw.
    if status.actor_id is None:
        return Markup(status.content_html)  # noqa: S704 - our own renderer's escaped output
    return Markup(_sanitized(status.content_html))  # noqa: S704 - sanitized


@functools.lru_cache(maxsize=2048)
def _sanitized(html: str) -> str:
    """Sanitizing costs ~0.25 ms a post: a page of timeline shows mostly the same posts again."""
    return sanitize_remote_html(html)


def media_view(federation: Federation, item: Media, sensitive: bool = False) -> MediaView | None:
    """How a card shows an attachment: our file, or a remote one through the media cache (None
    when its URL cannot be proxied)."""
    settings = federation.settings
    if item.storage_key is not None:
        url = urls.media(settings, item.storage_key)
        preview = url if item.thumbnail_key is None else urls.media(settings, item.thumbnail_key)
    elif item.remote_url is not None:
        proxied = federation.media.proxy_url(item.remote_url)
        if proxied is None:
            return None
        url = preview = proxied
    else:
        return None
    return MediaView(item, url, preview, sensitive)


class Page:
    """Loads the views of one page; `me` is the local account as an author."""

    def __init__(self, federation: Federation, me: AuthorView) -> None:
        self.federation = federation
        self.db: Database = federation.db
        self.me = me

    def _author(self, actor_id: int | None, actors: dict[int, RemoteActor]) -> AuthorView | None:
        if actor_id is None:
            return self.me
        actor = actors.get(actor_id)
        return None if actor is None else remote_author(actor)

    def _quote(self, status: Status | None, actors: dict[int, RemoteActor]) -> QuoteView | None:
        if status is None or status.visibility not in BOOSTABLE:
            return None
        author = self._author(status.actor_id, actors)
        return None if author is None else QuoteView(status, author, _content(status))

    async def statuses(
        self, entry_ids: Sequence[int], context: str | None = None
    ) -> list[StatusView]:
        """The cards for these timeline entries, in their order; gone ones are left out. With
        a filter `context` (the user's pages: home, public, thread, account, notifications),
        the keyword filters apply: `hide` leaves a card out, `warn` folds it under its title."""
        if not entry_ids:
            return []
        rules = None if context is None else await filter_actions.rules(self.federation)
        now = time.time()
        shown = {
            row.status.id: row for row in await status_store.shown_statuses(self.db, entry_ids)
        }
        quoting = [row.status.id for row in shown.values() if row.status.quote_id is not None]
        # One more query, only on pages that quote: the quoted posts (never their own quotes).
        quoted = (
            {q.id: q for q in await status_store.quoted_statuses(self.db, quoting)}
            if quoting
            else {}
        )
        actor_ids = {row.status.actor_id for row in shown.values()}
        actor_ids |= {q.actor_id for q in quoted.values()}
        actor_ids |= {row.parent_actor_id for row in shown.values() if row.parent_known}
        actors = await actor_store.actors_by_ids(self.db, (i for i in actor_ids if i is not None))
        posts = {row.status.reblog_of_id or row.status.id for row in shown.values()}
        counts = await interaction_store.status_counts(self.db, posts)
        link_cards = await card_store.cards_of(self.db, posts)
        attached = await media_store.media_of(self.db, posts)
        polls = await load_polls(self.federation, (row.status for row in shown.values()))
        views = []
        for entry_id in entry_ids:
            entry = shown.get(entry_id)
            if entry is None or entry.status.deleted_at is not None:
                continue
            booster = None
            post = entry
            if entry.status.reblog_of_id is not None:
                booster = self._author(entry.status.actor_id, actors)
                found = shown.get(entry.status.reblog_of_id)
                if booster is None or found is None or found.status.deleted_at is not None:
                    continue
                post = found
            author = self._author(post.status.actor_id, actors)
            if author is None:
                continue
            reply_to = self._author(post.parent_actor_id, actors) if post.parent_known else None
            poll = polls.get(post.status.id)
            filtered: tuple[str, ...] = ()
            if rules is not None and not rules.empty:
                options = [option.title for option in poll.options] if poll is not None else []
                text = searchable_text(post.status, attached.get(post.status.id, ()), options)
                matched = rules.matches(
                    text, post.status.id, entry_id, own=post.status.actor_id is None, now=now
                )
                if hidden(matched, context):
                    continue
                filtered = tuple(m.filter.title for m in in_context(matched, context))
            views.append(
                StatusView(
                    entry_id=entry_id,
                    status=post.status,
                    author=author,
                    boosted_by=booster,
                    reply_to=reply_to,
                    content=_content(post.status),
                    counts=counts.get(post.status.id, StatusCounts()),
                    quote=self._quote(quoted.get(post.status.quote_id or 0), actors),
                    card=link_cards.get(post.status.id),
                    poll=poll,
                    filtered=filtered,
                    media=tuple(
                        view
                        for item in attached.get(post.status.id, ())
                        if (view := media_view(self.federation, item, post.status.sensitive))
                        is not None
                    ),
                )
            )
        return views

    async def notifications(self, ids: Sequence[int]) -> list[NotificationView]:
        """The notifications `ids` with their accounts and posts: a fixed number of queries.
        Keyword filters of the notifications context apply to their posts; one whose post a
        `hide` filter leaves out is left out too."""
        if not ids:
            return []
        found = await notification_store.notifications_by_ids(self.db, ids)
        actors = await actor_store.actors_by_ids(
            self.db, (n.actor_id for n in found if n.actor_id is not None)
        )
        cards = {
            view.entry_id: view
            for view in await self.statuses(
                list(dict.fromkeys(n.status_id for n in found if n.status_id is not None)),
                "notifications",
            )
        }
        reactions = await interaction_store.reactions(
            self.db,
            (
                (n.actor_id, n.status_id)
                for n in found
                if n.type == "favourite" and n.actor_id is not None and n.status_id is not None
            ),
        )
        views = []
        for notification in found:
            reaction, reaction_emojis = reactions.get(
                (notification.actor_id or 0, notification.status_id or 0), (None, None)
            )
            account = self._author(notification.actor_id, actors)
            card = None if notification.status_id is None else cards.get(notification.status_id)
            if account is None or (notification.status_id is not None and card is None):
                continue  # its account or post is gone
            views.append(
                NotificationView(
                    id=notification.id,
                    type=notification.type,
                    account=account,
                    status=card,
                    created_at=notification.created_at,
                    read=notification.read,
                    reaction=reaction,
                    reaction_emojis=reaction_emojis,
                )
            )
        return views


NOTIFICATION_TEXT: Final = {
    "follow": N_("followed you"),
    "follow_request": N_("asked to follow you"),
    "mention": N_("mentioned you"),
    "reblog": N_("boosted your post"),
    "favourite": N_("favourited your post"),
    "poll": N_("ended a poll you voted in"),
    "update": N_("edited a post you boosted"),
    "admin.report": N_("reported you"),
    "move": N_("moved to a new account; you follow the new one now"),
}


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: int
    type: str
    account: AuthorView
    status: StatusView | None
    created_at: float
    read: bool
    reaction: str | None = None  # the emoji of a favourite that was an emoji reaction
    reaction_emojis: str | None = None  # its custom emoji, as an `emojis_json` column

    @property
    def text(self) -> str:
        if self.type == "poll":
            if self.account.local:
                return N_("Your poll has ended")
            return N_("A poll you voted in has ended")
        return NOTIFICATION_TEXT.get(self.type, self.type)


@dataclass(frozen=True, slots=True)
class RelationshipView:
    """Where we stand with a remote account: what its follow buttons say."""

    actor: AuthorView
    following: str | None  # our follow of them: None, 'pending' or 'accepted'
    followed_by: str | None  # theirs of us
    message: str | None = None  # what just happened, after an in-place form
    blocking: bool = False
    muting: bool = False
    muting_notifications: bool = False
    mute_expires_at: float | None = None  # None: until unmuted
    note: str = ""  # the user's private note on the account


@dataclass(frozen=True, slots=True)
class ProfileView:
    author: AuthorView
    bio: Markup
    fields: list[tuple[str, Markup | str]]
    locked: bool
    posts: int
    followers: int | None  # None: not known here
    following: int | None
    joined: float | None
    posts_known_here: bool = False  # `posts` counts what we have, not what their server says


def local_profile(me: AuthorView, account: Account, counts: tuple[int, int, int]) -> ProfileView:
    posts, followers, following = counts
    return ProfileView(
        author=me,
        bio=Markup(account.summary_html),  # noqa: S704 - rendered by solo.text from escaped text
        fields=[(field.name, field.value) for field in account.fields],  # plain text: escaped
        locked=account.locked,
        posts=posts,
        followers=followers,
        following=following,
        joined=account.created_at,
    )


def remote_profile(actor: RemoteActor, posts: int) -> ProfileView:
    fields: list[tuple[str, Markup | str]] = [
        (field.get("name", ""), Markup(sanitize_remote_html(field.get("value", ""))))  # noqa: S704
        for field in actor.fields
    ]
    return ProfileView(
        author=remote_author(actor),
        bio=Markup(sanitize_remote_html(actor.summary_html)),  # noqa: S704 - sanitized
        fields=fields,
        locked=actor.locked,
        # Their server's totals once read (when the profile is opened), else what we have.
        posts=posts if actor.statuses_count is None else actor.statuses_count,
        followers=actor.followers_count,
        following=actor.following_count,
        joined=None,
        posts_known_here=actor.statuses_count is None,
    )
