"""The search box: `@user@host`, the address of a post or a profile, a `#hashtag`, or words.

An address we do not have is fetched from its origin and kept when it is an account or a
public post (`solo.actions.lookup`). Anything else searches the text of the posts we store
(`solo.store.search`), with Mastodon's operators, which the page lists back as it read them;
newest first (older pages by `max_id`) or by relevance (pages by `offset`).
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
from solo.catalogues import Message
from solo.edge.templating import render
from solo.federation.context import federation_of
from solo.federation.remote_actors import authority
from solo.store import search as search_store
from solo.store import search_query, suppression
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.store.statuses import Status
from solo.web.common import Cursor, login_required, older_link, page_loader
from solo.web.relationships import relationships

MAX_QUERY = 500
MAX_OFFSET = 10_000  # relevance pages deeper than this are not worth the scan

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
        "parts": [],
        "order": request.query_params.get("order", "newest"),
        "older": None,
        "indexing": None,
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
            return await _text_search(request, account, query, context)
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


async def _text_search(
    request: Request, account: Account, query: str, context: dict[str, Any]
) -> Response:
    federation = federation_of(request)
    try:
        parsed = search_query.parse(query)
    except search_query.QueryError as error:
        context["error"] = str(error)
        return render(request, "search.html", context, status=400)
    if context["order"] == "relevance":
        parsed.order = "relevance"
    context["order"] = parsed.order
    context["parts"] = search_query.shown(parsed)
    if parsed.dropped:
        context["notice"] = Message(
            "Only the first %(max_terms)s words were searched.", max_terms=search_query.MAX_TERMS
        )
    if parsed.empty:
        context["notice"] = "There is nothing to search for in that: try a word."
        return render(request, "search.html", context)
    cursor = Cursor.of(request)
    offset = 0
    if parsed.order == "relevance":
        raw = request.query_params.get("offset", "0")
        offset = min(int(raw), MAX_OFFSET) if raw.isascii() and raw.isdigit() else 0
    page = search_store.Page(
        limit=cursor.fetch,
        offset=offset,
        max_id=cursor.max_id if parsed.order == "newest" else None,
    )
    authors = await search_store.resolve_authors(
        federation.db, parsed, federation.settings.username
    )
    ids, more = cursor.split(await search_store.find(federation.db, parsed, page, authors))
    context["statuses"] = await page_loader(request, account).statuses(ids)
    if more and parsed.order == "relevance":
        context["older"] = _with_offset(request, offset + cursor.limit)
    elif more:
        context["older"] = older_link(request, ids[-1])
    progress = await search_store.index_progress(federation.db)
    if not progress.built:
        context["indexing"] = progress
    return render(request, "search.html", context)


def _with_offset(request: Request, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    params.append(("offset", str(offset)))
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params)


routes: list[BaseRoute] = [Route("/search", search, methods=["GET", "HEAD"])]
