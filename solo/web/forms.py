"""The buttons on a post: favourite, boost, bookmark, pin, mute its conversation (and their
undoing), and delete.

Each is a POST with the CSRF token. Without the script, success goes back to the page (303)
and a refusal goes back with its reason shown; the script's in-place forms get the redrawn
card (or 204 when the post is gone), or the reason as a fragment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, bookmarks, conversations, interactions, pins, statuses
from solo.edge.sessions import checked_form
from solo.edge.templating import flash, render
from solo.federation.context import Federation, federation_of
from solo.store.account import Account
from solo.web.common import (
    id_from,
    login_required,
    page_loader,
    page_of,
    safe_back,
    wants_fragment,
)

Action = Callable[[Federation, int], Awaitable[object]]
# An action that also reads the form (a poll's vote reads the choices).
FormAction = Callable[[Federation, int, FormData], Awaitable[object]]


def card_action(
    action: FormAction, *, deletes: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of a form on a card: `action` on the status, then back to the page or
    the redrawn card."""

    @login_required
    async def endpoint(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        status_id = id_from(str(request.path_params["status_id"]))
        assert status_id is not None
        try:
            await action(federation_of(request), status_id, form)
        except ActionError as error:
            if wants_fragment(request):
                message = {"message": error.message}
                return render(request, "fragment_error.html", message, status=error.status)
            flash(request, error.message)
            return RedirectResponse(safe_back(form), status_code=303)
        if not wants_fragment(request):
            back = safe_back(form)
            if deletes and page_of(back).endswith(f"/{status_id}"):
                back = "/"  # the post's own page is gone with it
            return RedirectResponse(back, status_code=303)
        # The card the form was on: a boost entry may be gone (unboost), then the post shows.
        entry = id_from(str(form.get("entry", ""))) or status_id
        page = page_loader(request, account)
        views = await page.statuses([entry]) or await page.statuses([status_id])
        if not views:
            return Response(status_code=204)  # deleted: the script removes the card
        context: dict[str, Any] = {"view": views[0], "here": page_of(safe_back(form))}
        return render(request, "fragment_status.html", context)

    return endpoint


ACTIONS: dict[str, Action] = {
    "delete": statuses.delete,
    "favourite": interactions.favourite,
    "unfavourite": interactions.unfavourite,
    "boost": interactions.boost,
    "unboost": interactions.unboost,
    "bookmark": bookmarks.bookmark,
    "unbookmark": bookmarks.unbookmark,
    "pin": pins.pin,
    "unpin": pins.unpin,
    "mute": conversations.mute,  # the conversation: no more notifications from its thread
    "unmute": conversations.unmute,
}


def _without_form(action: Action) -> FormAction:
    async def run(federation: Federation, status_id: int, form: FormData) -> object:
        return await action(federation, status_id)

    return run


routes: list[BaseRoute] = [
    Route(
        f"/statuses/{{status_id}}/{name}",
        card_action(_without_form(action), deletes=name == "delete"),
        methods=["POST"],
    )
    for name, action in ACTIONS.items()
]
