"""Interactions across servers, both ways.

Visitors: `/interact?uri=` (one of our public addresses) asks for their handle and sends them to
their own server's `subscribe` page (`solo.actions.interact`), where they follow or reply.
The user: `/authorize_interaction?uri=` is the template our WebFinger publishes, so another
server's "Follow" sends the user here: the account or post, resolved, opens on its page here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.actions import ActionError, follows
from solo.actions.interact import MAX_HANDLE, interaction_url
from solo.actions.lookup import resolve_url
from solo.catalogues import Message
from solo.edge.sessions import checked_form, current_account
from solo.edge.templating import render
from solo.errors import NotFound
from solo.federation.context import Federation, federation_of
from solo.federation.remote_actors import authority
from solo.store import actors as actor_store
from solo.store import statuses as status_store
from solo.store.account import get_account
from solo.text import plain_text

MAX_URI: Final = 2048
EXCERPT: Final = 200
PUBLIC: Final = frozenset({"public", "unlisted"})
HANDLE_KEY: Final = "remote_handle"  # the visitor's handle, offered again next time
NOTHING: Final = "There is no public account or post of this server at that address."


@dataclass(frozen=True, slots=True)
class Target:
    """What a visitor wants to interact with: our account, or one of our public posts."""

    uri: str  # the ActivityPub id their server will fetch
    page: str  # where it is shown here
    kind: str  # "account" or "post"
    excerpt: str


async def _target(federation: Federation, uri: str) -> Target:
    settings = federation.settings
    uri = uri.strip()[:MAX_URI]
    if uri in (urls.actor(settings), urls.profile(settings)):
        return Target(urls.actor(settings), f"/@{settings.username}", "account", "")
    status = await status_store.get_status_by_url(federation.db, uri) if uri else None
    if (
        status is None
        or status.actor_id is not None
        or status.deleted_at is not None
        or status.reblog_of_id is not None
        or status.visibility not in PUBLIC
    ):
        raise NotFound(NOTHING)
    text = status.summary or " ".join(plain_text(status.content_html).split())
    excerpt = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
    page = f"/@{settings.username}/{status.id}"
    return Target(status.ap_id, page, "post", excerpt)


async def _visitor_page(
    request: Request, target: Target, handle: str, error: str | None, status: int = 200
) -> Response:
    federation = federation_of(request)
    account = await get_account(federation.db)
    assert account is not None
    context: dict[str, Any] = {
        "target": target,
        "name": account.display_name or federation.settings.username,
        "remote_handle": handle,
        "max_handle": MAX_HANDLE,
        "error": error,
    }
    return render(request, "interact.html", context, status=status)


async def interact_form(request: Request) -> Response:
    target = await _target(federation_of(request), request.query_params.get("uri", ""))
    remembered = request.session.get(HANDLE_KEY)
    return await _visitor_page(
        request, target, remembered if isinstance(remembered, str) else "", None
    )


async def interact(request: Request) -> Response:
    form = await checked_form(request)
    federation = federation_of(request)
    target = await _target(federation, str(form.get("uri", "")))
    handle = str(form.get("handle", "")).strip()[: MAX_HANDLE + 1]
    try:
        destination = await interaction_url(federation, handle, target.uri)
    except ActionError as error:
        return await _visitor_page(request, target, handle, error.message, error.status)
    request.session[HANDLE_KEY] = handle
    # A page that moves on by itself rather than a redirect: browsers apply the form's
    # `form-action 'self'` to redirects after a submission, and the visitor's server is elsewhere.
    context = {"target": target, "destination": destination, "server": urlsplit(destination).netloc}
    return render(request, "interact_continue.html", context)


def _login_first(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


async def _page_of(federation: Federation, uri: str) -> str:
    """Our page about what `uri` names (an account handle or URL, or a post's address)."""
    settings = federation.settings
    if uri.startswith("acct:") or follows.HANDLE_RE.match(uri):
        handle = uri.removeprefix("acct:").lstrip("@")
        if handle.lower() == urls.handle(settings).lower():
            raise ActionError("That is your own account.")
        return f"/@{(await follows.find_account(federation, handle)).handle}"
    host = authority(uri)
    if host is None:
        raise ActionError("“%(uri)s” is not the address of an account or a post.", uri=uri)
    if host.lower() == settings.domain.lower():
        raise ActionError("That address is on this server: it is yours already.")
    found = await resolve_url(federation, uri)
    if isinstance(found, actor_store.RemoteActor):
        return f"/@{found.handle}"
    author = None
    if found.actor_id is not None:
        author = await actor_store.get_actor_by_id(federation.db, found.actor_id)
    if author is None:
        raise ActionError("That post is by no account known here.")
    return f"/@{author.handle}/{found.id}"


async def authorize_interaction(request: Request) -> Response:
    if await current_account(request) is None:
        return _login_first(request)
    uri = request.query_params.get("uri", "").strip()
    context: dict[str, Any] = {"uri": uri[:MAX_URI], "error": None, "max_uri": MAX_URI}
    if not uri:
        return render(request, "authorize_interaction.html", context)
    if len(uri) > MAX_URI:
        context["error"] = Message(
            "That address is longer than %(max_uri)s characters.", max_uri=MAX_URI
        )
        return render(request, "authorize_interaction.html", context, status=400)
    try:
        page = await _page_of(federation_of(request), uri)
    except ActionError as error:
        context["error"] = error.message
        return render(request, "authorize_interaction.html", context, status=error.status)
    return RedirectResponse(page, status_code=303)


routes: list[BaseRoute] = [
    Route("/interact", interact_form, methods=["GET", "HEAD"]),
    Route("/interact", interact, methods=["POST"]),
    Route("/authorize_interaction", authorize_interaction, methods=["GET", "HEAD"]),
]
