"""Solo instances side by side, each with its own settings (secure mode, limited federation), and
the signed and unsigned GETs the tests of those modes make."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx

from solo.app import create_app
from solo.federation.signatures import HTTPSignatureAuth
from solo.net.fetch import FetchError, HTTPStatusError
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Fleet, Node

AS_JSON = "application/activity+json"


@asynccontextmanager
async def fleet_with(
    root: Path, template_root: Path, nodes: Mapping[str, Mapping[str, object]]
) -> AsyncIterator[tuple[Fleet, dict[str, Node]]]:
    """As `fleet_of`, with settings of its own for each instance `name@name.test`."""
    fleet = Fleet()
    built: dict[str, Node] = {}
    async with AsyncExitStack() as stack:
        for name, values in nodes.items():
            settings = make_settings(
                root / name, domain=f"{name}.test", username=name, **dict(values)
            )
            await initialise_fast(settings, template_root)
            app = create_app(settings, transport=fleet)
            await stack.enter_async_context(app.router.lifespan_context(app))
            fleet.add(settings.domain, app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=settings.base_url
                )
            )
            built[name] = Node(settings, app, client)
        yield fleet, built


async def fetch_as(reader: Node, url: str, *, user: bool = False) -> dict[str, Any] | str:
    """What `reader`'s own guarded fetcher gets at `url`, signed as its instance actor (or its
    user): the document, else the refusal's text (an HTTP status reads `… answered 401`)."""
    federation = reader.federation
    auth = federation.user_auth if user else federation.resolver.auth
    try:
        return await federation.fetcher.get_activity(url, auth=auth)
    except HTTPStatusError as error:
        return f"answered {error.status}"
    except FetchError as error:
        return str(error)


async def signed_get(target: Node, url: str, auth: HTTPSignatureAuth) -> httpx.Response:
    """A GET of `url` at `target`, signed by `auth` (draft-cavage), straight to its app."""
    headers = {"Accept": AS_JSON, "Date": formatdate(time.time(), usegmt=True)}
    signed = next(auth.auth_flow(httpx.Request("GET", url, headers=headers)))
    return await target.client.get(url, headers=dict(signed.headers))


def instance_auth(node: Node) -> HTTPSignatureAuth:
    auth = node.federation.resolver.auth
    assert isinstance(auth, HTTPSignatureAuth)
    return auth
