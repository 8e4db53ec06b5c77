"""The Mastodon client API and OAuth: what phone and desktop apps speak to.

    auth.py      the bearer token, scopes and the `@api` decorator of endpoints
    params.py    parameters from the query, JSON, urlencoded or multipart bodies
    paging.py    max_id / since_id / min_id / limit and the Link header
    entities.py  Mastodon's entities as dicts (Account, Application…)
    errors.py    the API's refusals (401, 403, 404, 422) as `RequestError`s
    scopes.py    Mastodon's OAuth scopes
    apps.py      POST /api/v1/apps
    authorize.py GET/POST /oauth/authorize (login, consent, code)
    oauth.py     POST /oauth/token, /oauth/revoke, the server metadata
    cors.py      CORS for browser clients
    instance.py  /api/v1/instance, /api/v2/instance
    accounts.py  /api/v1/accounts/…

`routes` is every route of the package, for `solo.app`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from solo.api import accounts, apps, authorize, instance, oauth

routes: list[BaseRoute] = [
    *apps.routes,
    *authorize.routes,
    *oauth.routes,
    *instance.routes,
    *accounts.routes,
]
