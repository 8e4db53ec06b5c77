"""A post with its thread (`/@author/{id}`, `urls.status_page` for ours), and single cards
as fragments for the script (`/fragments/status/{id}`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.edge.sessions import current_account
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation import backfill
from solo.federation.context import federation_of
from solo.store import statuses as status_store
from solo.store import suppression
from solo.store.account import Account, get_account
from solo.store.statuses import Status
from solo.store.threads import replies_in_order
from solo.text import plain_text
from solo.web.common import id_from, login_required, page_of, safe_path
from solo.web.compose import composer_context
from solo.web.views import Page, StatusView, local_author

GONE = "That post does not exist, or no longer does."
# What visitors may read of a thread; the user sees whatever reached the server.
PUBLIC = frozenset({"public", "unlisted"})
TITLE_LENGTH = 60


def _title(view: StatusView) -> str:
    text = view.status.summary or " ".join(plain_text(view.status.content_html).split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"


async def post_at(request: Request) -> Status:
    """The post a `/@author/{status_id}` page is about (a boost's id names the boosted post);
    NotFound when it is not there."""
    db = federation_of(request).db
    status_id = id_from(str(request.path_params["status_id"]))
    status = None if status_id is None else await status_store.get_status(db, status_id)
    if status is None or status.deleted_at is not None:
        raise NotFound(GONE)
    if status.reblog_of_id is not None:
        status = await status_store.get_status(db, status.reblog_of_id)
        if status is None:
            raise NotFound(GONE)
    return status


async def thread(request: Request) -> Response:
    federation = federation_of(request)
    db = federation.db
    status = await post_at(request)
    account = await current_account(request)
    if account is None and (status.visibility not in PUBLIC or status.actor_id is not None):
        # Visitors read our public posts; the rest is the user's business.
        raise NotFound(GONE)
    if account is not None:
        # Missing ancestors and replies, as far as their servers answer within the wait.
        await backfill.thread(federation, status.id)
    ancestors = await status_store.ancestor_ids(db, status.id)
    replies = await replies_in_order(db, status.id)
    # Blocked and muted accounts leave the thread; the post asked for stays.
    hidden = await suppression.hidden_posts(db, [*ancestors, *(i for i, _ in replies)])
    ancestors = [i for i in ancestors if i not in hidden]
    replies = [(i, depth) for i, depth in replies if i not in hidden]
    shown = account or await get_account(db)
    assert shown is not None
    page = Page(federation, local_author(federation.settings, shown))
    around = [*ancestors, status.id, *(i for i, _ in replies)]
    views = {
        view.entry_id: view
        for view in await page.statuses(around, "thread" if account is not None else None)
        if account is not None or view.status.visibility in PUBLIC
    }
    if status.id not in views and account is not None:
        # The post asked for is shown whatever the filters (they fold or hide the others).
        views |= {view.entry_id: view for view in await page.statuses([status.id])}
    focus = views.get(status.id)
    if focus is None:
        raise NotFound(GONE)
    if request.url.path != focus.page:
        return RedirectResponse(focus.page, status_code=301)
    context = {
        "focus": focus,
        "summary": _title(focus),
        "ancestors": [views[i] for i in ancestors if i in views],
        "replies": [(views[i], depth) for i, depth in replies if i in views],
        **await composer_context(federation),
        "draft": f"@{focus.author.handle} " if not focus.own else "",
        "visibility": focus.status.visibility,
    }
    return render(request, "thread.html", context)


@login_required
async def status_fragment(request: Request, account: Account) -> Response:
    """One card, as the timeline that shows entry `status_id` draws it (a boost or a post)."""
    federation = federation_of(request)
    page = Page(federation, local_author(federation.settings, account))
    status_id = id_from(str(request.path_params["status_id"]))
    views = [] if status_id is None else await page.statuses([status_id])
    if not views:
        raise NotFound(GONE)
    here = page_of(safe_path(request.query_params.get("back", "/")))
    return render(request, "fragment_status.html", {"view": views[0], "here": here})


routes: list[BaseRoute] = [
    Route("/@{username}/{status_id:int}", thread, methods=["GET", "HEAD"]),
    Route("/fragments/status/{status_id:int}", status_fragment, methods=["GET", "HEAD"]),
]
