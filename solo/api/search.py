"""GET /api/v2/search: accounts, statuses and hashtags.

`@user@host` (or `user@host`) and addresses of posts and profiles are looked up on their
server when `resolve` is true, which needs a user token, as Mastodon's; otherwise only what we
have is found. Hashtags come from stored posts. Any other text searches the posts we store
(`solo.store.search`), with Mastodon's operators, for a user token only (as Mastodon's); paged by
`limit`/`offset` and `max_id`/`min_id`, narrowed to one author by `account_id`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo import hashtags, urls
from solo.actions import ActionError
from solo.actions.follows import HANDLE_RE, find_account
from solo.actions.lookup import resolve_url
from solo.api import status_parts
from solo.api.account_entities import (
    account_by_id,
    is_us,
    own_account,
    render_account,
    render_accounts,
)
from solo.api.auth import Caller, api
from solo.api.errors import InvalidToken, ValidationFailed
from solo.api.ids import id_of
from solo.api.params import Params
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.federation.remote_actors import authority
from solo.store import actors as actor_store
from solo.store import listings, search_query, suppression
from solo.store import search as search_store
from solo.store import statuses as status_store
from solo.store.actors import RemoteActor
from solo.store.statuses import Status

TYPES: Final = ("accounts", "statuses", "hashtags")
RESOLVE_NEEDS_USER: Final = (
    "Search queries that resolve remote resources are not supported without authentication"
)


async def search_accounts(
    federation: Federation, query: str, *, resolve: bool, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Accounts for a search: ours, a handle (looked up on its server with `resolve`), or the
    known accounts whose name or handle starts with the query."""
    query = query.strip()
    if is_us(federation.settings, query):
        return [] if offset else [await own_account(federation)]
    match = HANDLE_RE.match(query)
    if match is None:
        ids = await listings.search_actors(federation.db, query, limit=limit, offset=offset)
        return await render_accounts(federation, ids)
    if offset:
        return []
    actor = await actor_store.get_actor_by_handle(federation.db, match.group(1), match.group(2))
    if resolve:
        with contextlib.suppress(ActionError):  # not found there: what we have, if anything
            actor = await find_account(federation, query)
    return [] if actor is None else [await render_account(federation, actor)]


async def _by_address(
    federation: Federation, url: str, *, resolve: bool
) -> RemoteActor | Status | str | None:
    """What an address names: a post, a remote actor, "us" for our own profile, or None."""
    settings = federation.settings
    if url in (urls.actor(settings), urls.profile(settings)):
        return "us"
    if resolve:
        try:
            return await resolve_url(federation, url)
        except ActionError:
            return None
    status = await status_store.get_status_by_url(federation.db, url)
    if status is not None and status.deleted_at is None:
        return status
    return await actor_store.get_actor_by_url(federation.db, url)


def _paging_id(params: Params, key: str) -> int | None:
    raw = params.string(key, max_length=40)
    if raw is None or raw == "":
        return None
    found = id_of(raw)
    if found is None:
        raise ValidationFailed(key, "must be a status id")
    return found


async def search_statuses(
    federation: Federation, params: Params, query: str, *, limit: int, offset: int
) -> list[int]:
    """Ids of the stored posts matching the text `query`, with its operators."""
    try:
        parsed = search_query.parse(query)
    except search_query.QueryError as error:
        raise ValidationFailed("q", str(error)) from None
    if parsed.empty:
        return []
    account: int | bool | None = False
    raw_account = params.string("account_id", max_length=40)
    if raw_account:
        actor = await account_by_id(federation, raw_account)
        account = None if actor is None else actor.id
    page = search_store.Page(
        limit=limit,
        offset=offset,
        max_id=_paging_id(params, "max_id"),
        min_id=_paging_id(params, "min_id"),
        account_actor=account,
    )
    authors = await search_store.resolve_authors(
        federation.db, parsed, federation.settings.username
    )
    return await search_store.find(federation.db, parsed, page, authors)


@api("read:search", public=True)
async def search(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    query = params.required("q", max_length=500).strip()
    kind = params.string("type")
    if kind is not None and kind not in TYPES:
        raise ValidationFailed("type", f"must be one of {', '.join(TYPES)}")
    resolve = params.boolean("resolve")
    if resolve and (caller is None or not caller.user):
        raise InvalidToken(RESOLVE_NEEDS_USER)
    limit = min(max(params.integer("limit", 20), 1), 40)
    offset = params.integer("offset", 0, minimum=0)
    wanted = TYPES if kind is None else (kind,)
    answer: dict[str, list[dict[str, Any]]] = {"accounts": [], "statuses": [], "hashtags": []}
    if authority(query) is not None and not HANDLE_RE.match(query):
        found = None if offset else await _by_address(federation, query, resolve=resolve)
        if found == "us" and "accounts" in wanted:
            answer["accounts"] = [await own_account(federation)]
        elif isinstance(found, RemoteActor) and "accounts" in wanted:
            answer["accounts"] = [await render_account(federation, found)]
        elif (
            isinstance(found, Status)
            and "statuses" in wanted
            # A post of an account we block or mute is not found (Mastodon's StatusFilter).
            and not await suppression.hidden_posts(federation.db, [found.id])
        ):
            answer["statuses"] = await render_statuses(federation, [found.id], caller)
        return JSONResponse(answer)
    if "accounts" in wanted and not query.startswith("#"):
        answer["accounts"] = await search_accounts(
            federation, query, resolve=resolve, limit=limit, offset=offset
        )
    if "hashtags" in wanted and not HANDLE_RE.match(query) and query.lstrip("#"):
        names = await listings.search_hashtags(federation.db, query, limit=limit, offset=offset)
        answer["hashtags"] = [
            status_parts.tag(federation.settings, name) | {"following": False}
            for name in names
            if hashtags.is_valid(name)  # rows stored before ingest checked names
        ]
    if "statuses" in wanted and caller is not None and caller.user and not HANDLE_RE.match(query):
        ids = await search_statuses(federation, params, query, limit=limit, offset=offset)
        answer["statuses"] = await render_statuses(federation, ids, caller)
    return JSONResponse(answer)


routes: list[BaseRoute] = [
    Route("/api/v2/search", search, methods=["GET", "HEAD"]),
]
