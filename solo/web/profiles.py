"""Profiles: ours at /@username (public), and remote ones at /@user@host (for the user only:
opening one fetches from other servers)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, follows
from solo.catalogues import N_
from solo.edge.sessions import current_account
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation import backfill
from solo.federation.context import Federation, federation_of
from solo.federation.resolver import ResolveError
from solo.store import actors as actor_store
from solo.store import follows as follow_store
from solo.store import lists as list_store
from solo.store import moves as move_store
from solo.store import pins as pin_store
from solo.store import profile_tabs, tag_follows
from solo.store import statuses as status_store
from solo.store.account import Account, ProfileField, get_account
from solo.store.actors import RemoteActor
from solo.web.common import Cursor, login_required, older_link
from solo.web.feeds import feed_links
from solo.web.relationships import relationship
from solo.web.views import Page, StatusView, local_author, local_profile, remote_profile

# The tabs of a profile, by the last segment of their address (Mastodon's): `/@name` is Posts.
_TAB_PATHS: dict[str, profile_tabs.Tab] = {"with_replies": "replies", "media": "media"}


def _tab(request: Request) -> profile_tabs.Tab:
    return _TAB_PATHS.get(request.url.path.rsplit("/", 1)[-1], "posts")


@dataclass(frozen=True, slots=True)
class TabLink:
    label: str
    href: str
    current: bool


def _tabs(handle: str, current: profile_tabs.Tab) -> list[TabLink]:
    base = f"/@{handle}"
    return [
        TabLink(N_("Posts"), base, current == "posts"),
        TabLink(N_("Posts and replies"), f"{base}/with_replies", current == "replies"),
        TabLink(N_("Media"), f"{base}/media", current == "media"),
    ]


async def profile(request: Request) -> Response:
    """`/@name`: our profile; `/@user@host`: someone else's; `/with_replies` and `/media` after
    either: its other tabs."""
    name = str(request.path_params["username"])
    if "@" in name:
        return await remote(request)
    federation = federation_of(request)
    if name != federation.settings.username:
        raise NotFound("There is no account called %(name)s here.", name=name)
    account = await current_account(request)
    shown = account or await get_account(federation.db)
    if shown is None:
        raise NotFound("There is no account called %(name)s here.", name=name)
    return await _own(request, federation, shown, logged_in=account is not None)


async def _own(
    request: Request, federation: Federation, account: Account, *, logged_in: bool
) -> Response:
    db = federation.db
    # Visitors see what anyone may read; the user sees every post of theirs.
    cursor = Cursor.of(request)
    tab = _tab(request)
    ids, more = cursor.split(
        await profile_tabs.page(
            db, None, tab, max_id=cursor.max_id, limit=cursor.fetch, public_only=not logged_in
        )
    )
    posts = await (
        status_store.count_local_statuses(db) if logged_in else status_store.count_outbox(db)
    )
    counts = (
        posts,
        await follow_store.count_accepted(db, "in"),
        await follow_store.count_accepted(db, "out"),
    )
    me = local_author(federation.settings, account)
    # Our profile shows our posts, never filtered; our boosts of others' posts are.
    filters = "account" if logged_in else None
    pinned, shown = await _with_pins(Page(federation, me), None, cursor, tab, ids, filters)
    moved = None
    if account.moved_to is not None and account.moved_to_handle is not None:
        # Visitors go to the new account itself; the user to its page here.
        page = f"/@{account.moved_to_handle}" if logged_in else account.moved_to
        moved = MovedTo(account.moved_to_handle, page)
    context = {
        "moved": moved,
        "featured_tags": await tag_follows.featured(db),
        "profile": replace(local_profile(me, account, counts), fields=_own_fields(account)),
        "pinned": pinned,
        "statuses": shown,
        "tabs": _tabs(federation.settings.username, tab),
        "tab": tab,
        "older": older_link(request, ids[-1]) if more else None,
        "feeds": feed_links(federation.settings, f"/@{federation.settings.username}"),
    }
    return render(request, "profile.html", context)


def _own_field(field: ProfileField) -> Markup | str:
    """A field of ours: plain text escaped, a link as a link, marked when rel="me" verified."""
    link = field.link
    if link is None:
        return field.value
    shown = Markup('<a href="{0}" rel="me nofollow noopener" target="_blank">{0}</a>').format(link)
    if field.verified_at is None:
        return shown
    mark = Markup(
        ' <span class="verified" title="{0}"><span aria-hidden="true">✓</span>'
        '<span class="visually-hidden">{0}</span></span>'
    ).format("Verified: this page links back to this profile")
    return shown + mark


def _own_fields(account: Account) -> list[tuple[str, Markup | str]]:
    return [(field.name, _own_field(field)) for field in account.fields]


async def _with_pins(
    page: Page,
    actor_id: int | None,
    cursor: Cursor,
    tab: profile_tabs.Tab,
    ids: list[int],
    filters: str | None,
) -> tuple[list[StatusView], list[StatusView]]:
    """The pinned posts shown above the first page of a profile's Posts tab (ours: actor_id
    None), and the page's cards less those (each card once a page); both loaded together, with
    the keyword filters of the context `filters` (None: the visitor's page, unfiltered)."""
    first_of_posts = cursor.max_id is None and tab == "posts"
    pinned_ids = await pin_store.pinned_ids(page.db, actor_id) if first_of_posts else []
    views = await page.statuses([*pinned_ids, *(i for i in ids if i not in pinned_ids)], filters)
    pinned = [view for view in views if view.entry_id in pinned_ids]
    return pinned, views[len(pinned) :]


@dataclass(frozen=True, slots=True)
class MovedTo:
    """Where a profile's account went: shown above its posts."""

    handle: str
    page: str


async def _moved(federation: Federation, actor: RemoteActor) -> MovedTo | None:
    """The account `actor` moved to, from a verified Move of theirs."""
    assert actor.id is not None
    target_id = (await move_store.moved_targets(federation.db, [actor.id])).get(actor.id)
    target = (
        None if target_id is None else await actor_store.get_actor_by_id(federation.db, target_id)
    )
    return None if target is None else MovedTo(target.handle, f"/@{target.handle}")


async def _known_actor(federation: Federation, handle: str) -> RemoteActor:
    """A remote account by handle: stored (refreshed when stale), else looked up."""
    username, _, host = handle.lstrip("@").partition("@")
    stored = await actor_store.get_actor_by_handle(federation.db, username, host)
    if stored is None:
        return await follows.find_account(federation, f"@{username}@{host}")
    try:
        return await federation.resolver.actor(stored.ap_id)
    except ResolveError:
        return stored  # its server is away: what we have is still worth showing


@login_required
async def remote(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    handle = str(request.path_params["username"])
    actor = await _known_actor(federation, handle)
    if f"@{actor.handle}" != f"@{handle.lstrip('@')}":
        suffix = request.url.path.removeprefix(f"/@{handle}")
        return RedirectResponse(f"/@{actor.handle}{suffix}", status_code=303)
    assert actor.id is not None
    cursor = Cursor.of(request)
    tab = _tab(request)
    if cursor.max_id is None:
        # Their recent posts, as far as their server answers within the wait.
        await backfill.profile(federation, actor.ap_id)
    db = federation.db
    ids, more = cursor.split(
        await profile_tabs.page(db, actor.id, tab, max_id=cursor.max_id, limit=cursor.fetch)
    )
    page = Page(federation, local_author(federation.settings, account))
    pinned, shown = await _with_pins(page, actor.id, cursor, tab, ids, "account")
    context = {
        "moved": await _moved(federation, actor),
        "profile": remote_profile(actor, await status_store.count_actor_posts(db, actor.id)),
        "relationship": await relationship(federation, actor),
        # For "Add to list": every list, and those the account is on.
        "lists": await list_store.all_lists(db),
        "on_lists": await list_store.lists_with(db, actor.id),
        "pinned": pinned,
        "statuses": shown,
        "tabs": _tabs(actor.handle, tab),
        "tab": tab,
        "older": older_link(request, ids[-1]) if more else None,
    }
    return render(request, "profile.html", context)


@login_required
async def lookup(request: Request, account: Account) -> Response:
    """`/remote?account=@user@host` (or an actor URL): to that account's page here."""
    target = request.query_params.get("account", "").strip()
    if not target:
        raise ActionError("Say which account: @user@host or the address of its profile.")
    federation = federation_of(request)
    actor = await actor_store.get_actor_by_url(federation.db, target) or (
        await follows.find_account(federation, target)
    )
    return RedirectResponse(f"/@{actor.handle}", status_code=303)


routes: list[BaseRoute] = [
    Route("/@{username}", profile, methods=["GET", "HEAD"]),
    Route("/@{username}/with_replies", profile, methods=["GET", "HEAD"]),
    Route("/@{username}/media", profile, methods=["GET", "HEAD"]),
    Route("/remote", lookup, methods=["GET", "HEAD"]),
]
