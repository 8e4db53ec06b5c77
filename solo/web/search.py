"""The search box: `@user@host`, the address of a post or a profile, or a `#hashtag`.

An address we do not have is fetched from its origin and kept when it is an account or a
public post (`solo.actions.lookup`). Text search comes with the full-text index.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.actions import ActionError, follows
from solo.actions.lookup import resolve_url
from solo.edge.templating import render
from solo.federation.context import federation_of
from solo.federation.remote_actors import authority
from solo.store import suppression
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.store.statuses import Status
from solo.web.common import login_required, page_loader
from solo.web.relationships import relationships

MAX_QUERY = 500
TEXT_SEARCH_LATER = (
    "Search looks up accounts (@user@host), addresses of posts and profiles, and #hashtags."
    " Searching the text of posts comes later."
)

HIDDEN_POST = "That post is by an account you block or mute, so it is not shown."


@login_required
async def search(request: Request, account: Account) -> Response:
    query = request.query_params.get("q", "").strip()[:MAX_QUERY]
    context: dict[str, Any] = {
        "query": query,
        "accounts": [],
        "statuses": [],
        "error": None,
        "notice": None,
    }
    if not query:
        return render(request, "search.html", context)
    if query.startswith("#") and len(query) > 1:
        return RedirectResponse(f"/tags/{quote(query[1:], safe='')}", status_code=303)
    federation = federation_of(request)
    settings = federation.settings
    if query.lstrip("@").lower() == urls.handle(settings).lower() or query in (
        urls.actor(settings),
        urls.profile(settings),
    ):
        return RedirectResponse(f"/@{settings.username}", status_code=303)
    try:
        if follows.HANDLE_RE.match(query):
            found: RemoteActor | Status = await follows.find_account(federation, query)
        elif authority(query) is not None:
            found = await resolve_url(federation, query)
        else:
            context["notice"] = TEXT_SEARCH_LATER
            return render(request, "search.html", context)
    except ActionError as error:
        context["error"] = error.message
        return render(request, "search.html", context, status=error.status)
    if isinstance(found, Status):
        if await suppression.hidden_posts(federation.db, [found.id]):
            context["notice"] = HIDDEN_POST
            return render(request, "search.html", context)
        context["statuses"] = await page_loader(request, account).statuses([found.id])
    else:
        context["accounts"] = await relationships(federation, [found])
    return render(request, "search.html", context)


routes: list[BaseRoute] = [Route("/search", search, methods=["GET", "HEAD"])]
