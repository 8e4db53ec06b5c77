"""The user's actions as plain HTML forms: post, favourite, boost, edit, delete.

Each is a POST with the CSRF token; success redirects back (303), a refused action shows the
home page again with the reason and the text typed so far, so that nothing is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, interactions, statuses
from solo.errors import BadRequest
from solo.federation.context import Federation, federation_of
from solo.store.account import Account
from solo.web.sessions import checked_form, current_account
from solo.web.templating import render

Action = Callable[[Federation, int], Awaitable[object]]


def _back(form: FormData) -> RedirectResponse:
    target = str(form.get("back", "/"))
    # Only paths on this site: an open redirect would let links bounce through us.
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, account: Account, error: ActionError, form: FormData) -> Response:
    context = {
        "account": account,
        "error": error.message,
        "notice": None,
        "draft": str(form.get("text", "")),
        "draft_summary": str(form.get("summary", "")),
    }
    return render(request, "home.html", context, status=error.status)


def _status_id(request: Request) -> int:
    try:
        return int(request.path_params["status_id"])
    except ValueError:
        raise BadRequest("That is not a post id.") from None


async def _logged_in(request: Request) -> Account | Response:
    account = await current_account(request)
    return RedirectResponse("/login", status_code=303) if account is None else account


async def post_status(request: Request) -> Response:
    account = await _logged_in(request)
    if isinstance(account, Response):
        return account
    form = await checked_form(request)
    reply_to = str(form.get("in_reply_to", "")).strip()
    try:
        await statuses.post(
            federation_of(request),
            str(form.get("text", "")),
            visibility=str(form.get("visibility", "public")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
            in_reply_to=int(reply_to) if reply_to.isdigit() else None,
        )
    except ActionError as error:
        return _refused(request, account, error, form)
    return _back(form)


async def edit_status(request: Request) -> Response:
    account = await _logged_in(request)
    if isinstance(account, Response):
        return account
    form = await checked_form(request)
    try:
        await statuses.edit(
            federation_of(request),
            _status_id(request),
            str(form.get("text", "")),
            summary=str(form.get("summary", "")),
            sensitive=bool(form.get("sensitive")),
        )
    except ActionError as error:
        return _refused(request, account, error, form)
    return _back(form)


def _simple(action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        account = await _logged_in(request)
        if isinstance(account, Response):
            return account
        form = await checked_form(request)
        try:
            await action(federation_of(request), _status_id(request))
        except ActionError as error:
            return _refused(request, account, error, form)
        return _back(form)

    return endpoint


routes: list[BaseRoute] = [
    Route("/statuses", post_status, methods=["POST"]),
    Route("/statuses/{status_id}/edit", edit_status, methods=["POST"]),
    Route("/statuses/{status_id}/delete", _simple(statuses.delete), methods=["POST"]),
    Route("/statuses/{status_id}/favourite", _simple(interactions.favourite), methods=["POST"]),
    Route("/statuses/{status_id}/unfavourite", _simple(interactions.unfavourite), methods=["POST"]),
    Route("/statuses/{status_id}/boost", _simple(interactions.boost), methods=["POST"]),
    Route("/statuses/{status_id}/unboost", _simple(interactions.unboost), methods=["POST"]),
]
