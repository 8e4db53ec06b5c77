"""The timelines: home, local, federated, a hashtag, bookmarks, and notifications.

Each page takes a page of ids (from the in-memory feed when it can, else SQLite) and loads
the cards in a fixed number of queries (`views.Page`); `?max_id=` moves to older entries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import hashtags, urls
from solo.catalogues import N_
from solo.edge.i18n import gettext_for
from solo.edge.sessions import current_account
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.instance import instance_of
from solo.store import follows as follow_store
from solo.store import interactions as interaction_store
from solo.store import notifications as notification_store
from solo.store import tag_follows
from solo.store import tags as tag_store
from solo.store.account import Account, get_account
from solo.web import notification_requests
from solo.web.common import Cursor, login_required, older_link, page_loader
from solo.web.compose import composer_context
from solo.web.feeds import feed_links
from solo.web.views import Page, local_author

TIMELINES = {
    "home": (
        N_("Home"),
        N_("Your posts and those of the accounts you follow."),
        N_("Your home timeline is empty for now."),
    ),
    "local": (
        N_("Local"),
        N_("Your public posts."),
        N_("You have not posted anything public yet."),
    ),
    "federated": (
        N_("Federated"),
        N_("Every public post this server knows of."),
        N_("No public posts have reached this server yet."),
    ),
}


async def timeline_page(
    request: Request,
    account: Account,
    name: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """One of the three timelines; the home page also carries the compose form."""
    federation = federation_of(request)
    cursor = Cursor.of(request)
    ids, more = cursor.split(await federation.feeds.older(name, cursor.max_id, cursor.fetch))
    filters = "home" if name == "home" else "public"
    statuses = await page_loader(request, account).statuses(ids, filters)
    _ = gettext_for(request)
    title, intro, empty = (_(text) for text in TIMELINES[name])
    if name == "home":
        handle = urls.handle(federation.settings)
        empty += " " + _("Others can find you as @%(handle)s.") % {"handle": handle}
    context: dict[str, Any] = {
        "account": account,
        "title": title,
        "intro": intro,
        "empty": empty,
        "statuses": statuses,
        "older": older_link(request, ids[-1]) if more else None,
        # New posts are put on top of the newest page only.
        "live": name if cursor.max_id is None else None,
        "stream": name,
        "compose": name == "home",
        "error": error,
        "notice": notice,
        **await composer_context(federation),
    }
    return render(request, "timeline.html", context, status=status)


async def home(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return RedirectResponse(urls.profile(instance_of(request).settings), status_code=303)
    return await timeline_page(request, account, "home")


@login_required
async def local(request: Request, account: Account) -> Response:
    return await timeline_page(request, account, "local")


@login_required
async def federated(request: Request, account: Account) -> Response:
    return await timeline_page(request, account, "federated")


async def hashtag(request: Request) -> Response:
    """Public posts with the tag; visitors see only ours (remote posts are for the user)."""
    _ = gettext_for(request)
    name = hashtags.parse(str(request.path_params["tag"]))
    if name is None:
        raise NotFound(_("That is not a hashtag: tags are letters, digits and underscores."))
    account = await current_account(request)
    federation = federation_of(request)
    db = federation.db
    shown_account = account or await get_account(db)
    assert shown_account is not None
    cursor = Cursor.of(request)
    ids, more = cursor.split(
        await tag_store.hashtag_page(
            db, name, max_id=cursor.max_id, limit=cursor.fetch, local_only=account is None
        )
    )
    page = Page(federation, local_author(federation.settings, shown_account))
    context: dict[str, Any] = {
        "title": f"#{name}",
        "intro": _("Public posts with this hashtag that this server knows of.")
        if account
        else _("Public posts with this hashtag by this account."),
        "empty": _("No posts with #%(tag)s yet.") % {"tag": name},
        "statuses": await page.statuses(ids, "public" if account else None),
        "older": older_link(request, ids[-1]) if more else None,
        # The feeds are of our posts alone, as a visitor's page is.
        "feeds": feed_links(federation.settings, f"/tags/{name}"),
    }
    if account is not None:
        featured = {tag.name for tag in await tag_follows.featured(db)}
        context["tag"] = {
            "name": name,
            "following": bool(await tag_follows.followed_names(db, [name])),
            "featured": name in featured,
            "path": quote(name, safe=""),
        }
    return render(request, "timeline.html", context)


@login_required
async def bookmarks(request: Request, account: Account) -> Response:
    db = federation_of(request).db
    cursor = Cursor.of(request)
    rows = await interaction_store.bookmarks_page(db, max_id=cursor.max_id, limit=cursor.fetch)
    shown, more = cursor.split(rows)
    _ = gettext_for(request)
    context = {
        "title": _("Bookmarks"),
        "intro": _("Posts you bookmarked. Only you see them."),
        "empty": _("No bookmarks yet."),
        "statuses": await page_loader(request, account).statuses([s for _, s in shown]),
        # The cursor is the bookmark's id: the page is in the order they were made.
        "older": older_link(request, shown[-1][0]) if more else None,
    }
    return render(request, "timeline.html", context)


@login_required
async def notifications(request: Request, account: Account) -> Response:
    """The notifications, newest first; opening the first page marks them all read."""
    federation = federation_of(request)
    db = federation.db
    cursor = Cursor.of(request)
    # From SQLite, not the in-memory feed: what is suppressed (a block, a mute, a muted
    # conversation) is decided at reading time, so a mute that ran out shows its account again.
    ids = await notification_store.notifications_page(db, max_id=cursor.max_id, limit=cursor.fetch)
    ids, more = cursor.split(ids)
    views = await page_loader(request, account).notifications(ids)
    if cursor.max_id is None and federation.feeds.unread:
        async with db.transaction() as conn:
            await notification_store.mark_all_read(conn)
        await federation.feeds.rebuild_notifications()
    requests = len(await follow_store.pending_requests(db))
    first = cursor.max_id is None
    context = {
        "notifications": views,
        "older": older_link(request, ids[-1]) if more else None,
        "requests": requests,
        **await notification_requests.summary_context(request, account, first=first),
    }
    return render(request, "notifications.html", context)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET", "HEAD"]),
    Route("/local", local, methods=["GET", "HEAD"]),
    Route("/federated", federated, methods=["GET", "HEAD"]),
    Route("/tags/{tag}", hashtag, methods=["GET", "HEAD"]),
    Route("/bookmarks", bookmarks, methods=["GET", "HEAD"]),
    Route("/notifications", notifications, methods=["GET", "HEAD"]),
]
