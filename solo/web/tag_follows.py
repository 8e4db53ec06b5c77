"""The buttons of a hashtag's page: follow it (its public posts enter home) and feature it on
the profile.

    POST /tags/{tag}/follow     POST /tags/{tag}/unfollow
    POST /tags/{tag}/feature    POST /tags/{tag}/unfeature
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import tag_follows as actions
from solo.catalogues import Message
from solo.edge.sessions import checked_form
from solo.edge.templating import flash
from solo.federation.context import Federation, federation_of
from solo.store import tag_follows as store
from solo.store.account import Account
from solo.web.common import login_required, safe_back


async def _follow(federation: Federation, text: str) -> str:
    name = await actions.follow(federation, text)
    return Message(
        "You follow #%(name)s: its public posts now show in your home timeline.", name=name
    )


async def _unfollow(federation: Federation, text: str) -> str:
    name = await actions.unfollow(federation, text)
    return Message("You no longer follow #%(name)s.", name=name)


async def _feature(federation: Federation, text: str) -> str:
    tag = await actions.feature(federation, text)
    return Message("#%(name)s is featured on your profile.", name=tag.display)


async def _unfeature(federation: Federation, text: str) -> str:
    name = actions.tag_name(text)
    for tag in await store.featured(federation.db):
        if tag.name == name:
            await actions.unfeature(federation, tag.id)
    return Message("#%(name)s is no longer featured on your profile.", name=name)


def _button(
    change: Callable[[Federation, str], Awaitable[str]],
) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        text = str(request.path_params["tag"])
        back = safe_back(form, f"/tags/{quote(text, safe='')}")
        try:
            flash(request, await change(federation_of(request), text))
        except actions.InvalidTag as error:
            flash(request, error.message)
        return RedirectResponse(back, status_code=303)

    return login_required(endpoint)


routes: list[BaseRoute] = [
    Route("/tags/{tag}/follow", _button(_follow), methods=["POST"]),
    Route("/tags/{tag}/unfollow", _button(_unfollow), methods=["POST"]),
    Route("/tags/{tag}/feature", _button(_feature), methods=["POST"]),
    Route("/tags/{tag}/unfeature", _button(_unfeature), methods=["POST"]),
]
