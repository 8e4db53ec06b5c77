"""NodeInfo 2.0 and 2.1: what software this is and how much it holds, for crawlers and peers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo import __version__
from solo.config import Settings
from solo.errors import NotFound
from solo.instance import instance_of
from solo.store.account import get_account
from solo.store.statuses import count_local_statuses

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
VERSIONS = ("2.0", "2.1")
SOFTWARE_NAME = "solo"  # the schema allows only [a-z0-9-]
# Counts change slowly and crawlers poll; half an hour of staleness is harmless.
CACHE = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=1800"}


def _answer(document: dict[str, Any], media_type: str) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type=media_type, headers=CACHE)


def links(settings: Settings) -> dict[str, Any]:
    return {
        "links": [
            {"rel": SCHEMA.format(version=v), "href": f"{settings.base_url}/nodeinfo/{v}"}
            for v in VERSIONS
        ]
    }


def document(version: str, *, local_posts: int, node_name: str) -> dict[str, Any]:
    """The NodeInfo document of `version`; 2.0's schema forbids extra software keys."""
    return {
        "version": version,
        "software": {"name": SOFTWARE_NAME, "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        # One person lives here; they count as active, as there is no one else to count.
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": local_posts,
        },
        "metadata": {"nodeName": node_name},
    }


async def well_known(request: Request) -> Response:
    return _answer(links(instance_of(request).settings), "application/json")


async def nodeinfo(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in VERSIONS:
        raise NotFound(f"There is no NodeInfo {version} here; try 2.0 or 2.1.")
    instance = instance_of(request)
    account = await get_account(instance.db)
    node_name = account.display_name if account and account.display_name else None
    body = document(
        version,
        local_posts=await count_local_statuses(instance.db),
        node_name=node_name or instance.settings.domain,
    )
    profile = f"{SCHEMA.format(version=version)}#"
    return _answer(body, f'application/json; profile="{profile}"')


routes: list[BaseRoute] = [
    Route("/.well-known/nodeinfo", well_known, methods=["GET", "HEAD"]),
    Route("/nodeinfo/{version}", nodeinfo, methods=["GET", "HEAD"]),
]
