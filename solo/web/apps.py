"""The settings page's list of apps holding tokens for the account, and their revocation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.edge.sessions import checked_form
from solo.edge.templating import flash
from solo.instance import instance_of
from solo.store import oauth as store
from solo.store.account import Account
from solo.store.oauth import AuthorizedApp
from solo.web.common import id_from, login_required


async def authorized_apps(request: Request) -> list[AuthorizedApp]:
    """What the settings page lists under "Authorized apps"."""
    return await store.authorized_apps(instance_of(request).db)


@login_required
async def revoke_app(request: Request, account: Account) -> Response:
    await checked_form(request)
    app_id = id_from(str(request.path_params["app_id"]), "app")
    revoked = 0 if app_id is None else await store.revoke_app(instance_of(request).db, app_id)
    if revoked:
        flash(request, "The app’s access is revoked: it can no longer use your account.")
    else:
        flash(request, "That app had no access left to revoke.")
    return RedirectResponse("/settings", status_code=303)


routes: list[BaseRoute] = [
    Route("/settings/apps/{app_id}/revoke", revoke_app, methods=["POST"]),
]
