"""The edit history of a post (`/@author/{id}/history`): its versions, newest first.

Who may see it follows the thread page: a post readable there is readable here with its history.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.edge.sessions import current_account
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.store import edits as edit_store
from solo.store.account import get_account
from solo.text import sanitize_remote_html
from solo.web.threads import GONE, PUBLIC, post_at
from solo.web.views import Page, StatusView, local_author


@dataclass(frozen=True, slots=True)
class VersionView:
    content: Markup
    summary: str
    since: float
    current: bool


def _version(view: StatusView, version: edit_store.Version) -> VersionView:
    # Earlier versions of remote posts were stored as they came, like current ones: sanitize.
    html = version.content_html if view.own else sanitize_remote_html(version.content_html)
    return VersionView(
        content=Markup(html),  # noqa: S704 - our own renderer's output, or sanitized
        summary=version.summary,
        since=version.created_at,
        current=False,
    )


async def history(request: Request) -> Response:
    federation = federation_of(request)
    db = federation.db
    status = await post_at(request)
    account = await current_account(request)
    if account is None and (status.visibility not in PUBLIC or status.actor_id is not None):
        raise NotFound(GONE)
    shown = account or await get_account(db)
    assert shown is not None
    page = Page(federation, local_author(federation.settings, shown))
    views = await page.statuses([status.id])
    if not views:
        raise NotFound(GONE)
    focus = views[0]
    if request.url.path != f"{focus.page}/history":
        return RedirectResponse(f"{focus.page}/history", status_code=301)
    current = VersionView(
        content=focus.content,
        summary=focus.status.summary,
        since=focus.status.edited_at or focus.status.published_at,
        current=True,
    )
    earlier = await edit_store.earlier_versions(db, status.id)
    context = {
        "focus": focus,
        "versions": [current, *(_version(focus, version) for version in earlier)],
    }
    return render(request, "history.html", context)


routes: list[BaseRoute] = [
    Route("/@{username}/{status_id:int}/history", history, methods=["GET", "HEAD"]),
]
