"""Keyword filters: Mastodon's filters v2 (`/api/v2/filters`, their keywords and posts) and the
v1 shim (`/api/v1/filters`, where each keyword is shown as a filter of its own).

Mastodon.py 2.3 calls keywords and posts at `/api/v2/filters/keywords/:id` and
`/api/v2/filters/statuses/:id` rather than Mastodon's `/api/v2/filter_keywords/:id` and
`/api/v2/filter_statuses/:id`: both are served. Limits and the matching rule are in
`solo.actions.filters` and `solo.actions.filter_rules`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import filters as actions
from solo.actions.filter_rules import Match
from solo.actions.filters import FilterChange, KeywordChange
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import ValidationFailed
from solo.api.ids import id_of, path_id
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import filters as store
from solo.store.filters import Filter, FilteredStatus, Keyword

READ = "read:filters"
WRITE = "write:filters"


def keyword_entity(keyword: Keyword) -> dict[str, Any]:
    return {"id": str(keyword.id), "keyword": keyword.keyword, "whole_word": keyword.whole_word}


def status_entity(row: FilteredStatus) -> dict[str, Any]:
    return {"id": str(row.id), "status_id": str(row.status_id)}


def filter_entity(found: Filter) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "title": found.title,
        "context": list(found.contexts),
        "expires_at": None if found.expires_at is None else iso(found.expires_at),
        "filter_action": found.action,
        "keywords": [keyword_entity(k) for k in found.keywords],
        "statuses": [status_entity(s) for s in found.statuses],
    }


def filter_result(match: Match) -> dict[str, Any]:
    """Mastodon's FilterResult, for a Status's `filtered`."""
    return {
        "filter": filter_entity(match.filter),
        "keyword_matches": list(match.keyword_matches) or None,
        "status_matches": [str(i) for i in match.status_matches] or None,
    }


def hidden_entity(entity: dict[str, Any], context: str) -> bool:
    """Whether a rendered Status carries a `hide` filter of `context` (for the streams, which
    render a post once for all their listeners)."""
    return any(
        result["filter"]["filter_action"] == "hide" and context in result["filter"]["context"]
        for result in entity.get("filtered") or ()
    )


def v1_entity(found: Filter, keyword: Keyword) -> dict[str, Any]:
    return {
        "id": str(keyword.id),
        "phrase": keyword.keyword,
        "context": list(found.contexts),
        "whole_word": keyword.whole_word,
        "expires_at": None if found.expires_at is None else iso(found.expires_at),
        "irreversible": found.action == "hide",
    }


def _id(request: Request, key: str = "id") -> int:
    return path_id(request, key)


def _keyword_changes(params: Params) -> list[KeywordChange]:
    raw = params.raw("keywords_attributes")
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > actions.MAX_KEYWORDS * 2:
        raise ValidationFailed("keywords_attributes", f"has more than {actions.MAX_KEYWORDS} items")
    changes = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed("keywords_attributes", "must be a list of objects")
        one = Params(item, f"keywords_attributes[{index}]")
        raw_id = one.string("id")
        keyword_id = None if raw_id is None or raw_id == "" else id_of(raw_id)
        if raw_id not in (None, "") and keyword_id is None:
            raise ValidationFailed(one.name("id"), "is not an id")
        changes.append(
            KeywordChange(
                id=keyword_id,
                keyword=one.string("keyword", max_length=actions.MAX_KEYWORD_LENGTH),
                whole_word=one.optional_boolean("whole_word"),
                destroy=one.boolean("_destroy"),
            )
        )
    return changes


def _expiry(params: Params) -> tuple[int | None, bool]:
    """`expires_in` in seconds; given empty, the filter no longer ends."""
    if "expires_in" in params and params.raw("expires_in") in ("", None):
        return None, True
    return params.integer("expires_in", minimum=1, maximum=actions.MAX_EXPIRES_IN), False


def _contexts(params: Params) -> list[str] | None:
    if "context" not in params:
        return None
    return params.strings("context", max_items=len(store.CONTEXTS) * 2)


@api(READ)
async def list_filters(request: Request, caller: Caller) -> Response:
    found = await store.all_filters(federation_of(request).db)
    return JSONResponse([filter_entity(f) for f in found])


@api(READ)
async def show_filter(request: Request, caller: Caller) -> Response:
    found = await actions.get_filter(federation_of(request), _id(request))
    return JSONResponse(filter_entity(found))


@api(WRITE)
async def create_filter(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    expires_in, _ = _expiry(params)
    change = FilterChange(
        title=params.required("title", max_length=actions.MAX_TITLE_LENGTH),
        contexts=_contexts(params) or [],
        action=params.string("filter_action", max_length=16),
        expires_in=expires_in,
        keywords=[c for c in _keyword_changes(params) if c.id is None],
    )
    found = await actions.create_filter(federation_of(request), change)
    return JSONResponse(filter_entity(found))


@api(WRITE)
async def update_filter(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    expires_in, clear = _expiry(params)
    change = FilterChange(
        title=params.string("title", max_length=actions.MAX_TITLE_LENGTH),
        contexts=_contexts(params),
        action=params.string("filter_action", max_length=16),
        expires_in=expires_in,
        clear_expiry=clear,
        keywords=_keyword_changes(params),
    )
    found = await actions.update_filter(federation_of(request), _id(request), change)
    return JSONResponse(filter_entity(found))


@api(WRITE)
async def delete_filter(request: Request, caller: Caller) -> Response:
    await actions.delete_filter(federation_of(request), _id(request))
    return JSONResponse({})


@api(READ)
async def list_keywords(request: Request, caller: Caller) -> Response:
    found = await actions.get_filter(federation_of(request), _id(request, "filter_id"))
    return JSONResponse([keyword_entity(k) for k in found.keywords])


@api(WRITE)
async def add_keyword(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    keyword = await actions.add_keyword(
        federation_of(request),
        _id(request, "filter_id"),
        params.string("keyword", max_length=actions.MAX_KEYWORD_LENGTH),
        params.boolean("whole_word", default=True),
    )
    return JSONResponse(keyword_entity(keyword))


@api(READ)
async def show_keyword(request: Request, caller: Caller) -> Response:
    return JSONResponse(
        keyword_entity(await actions.get_keyword(federation_of(request), _id(request)))
    )


@api(WRITE)
async def update_keyword(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    keyword = await actions.update_keyword(
        federation_of(request),
        _id(request),
        params.string("keyword", max_length=actions.MAX_KEYWORD_LENGTH),
        params.optional_boolean("whole_word"),
    )
    return JSONResponse(keyword_entity(keyword))


@api(WRITE)
async def delete_keyword(request: Request, caller: Caller) -> Response:
    await actions.delete_keyword(federation_of(request), _id(request))
    return JSONResponse({})


@api(READ)
async def list_statuses(request: Request, caller: Caller) -> Response:
    found = await actions.get_filter(federation_of(request), _id(request, "filter_id"))
    return JSONResponse([status_entity(s) for s in found.statuses])


@api(WRITE)
async def add_status(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    status_id = id_of(params.required("status_id", max_length=24))
    if status_id is None:
        raise ValidationFailed("status_id", "is not an id")
    row = await actions.add_status(federation_of(request), _id(request, "filter_id"), status_id)
    return JSONResponse(status_entity(row))


@api(READ)
async def show_status(request: Request, caller: Caller) -> Response:
    row = await actions.get_filtered_status(federation_of(request), _id(request))
    return JSONResponse(status_entity(row))


@api(WRITE)
async def delete_status(request: Request, caller: Caller) -> Response:
    await actions.delete_status(federation_of(request), _id(request))
    return JSONResponse({})


# The v1 shim: a v1 filter is one keyword; creating one makes a filter titled by its phrase.


async def _v1_of(request: Request) -> tuple[Filter, Keyword]:
    federation = federation_of(request)
    keyword = await actions.get_keyword(federation, _id(request))
    return await actions.get_filter(federation, keyword.filter_id), keyword


@api(READ)
async def v1_list(request: Request, caller: Caller) -> Response:
    found = await store.all_filters(federation_of(request).db)
    return JSONResponse([v1_entity(f, k) for f in found for k in f.keywords])


@api(READ)
async def v1_show(request: Request, caller: Caller) -> Response:
    return JSONResponse(v1_entity(*await _v1_of(request)))


@api(WRITE)
async def v1_create(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    phrase = params.required("phrase", max_length=actions.MAX_KEYWORD_LENGTH)
    expires_in, _ = _expiry(params)
    change = FilterChange(
        title=phrase,
        contexts=_contexts(params) or [],
        action="hide" if params.boolean("irreversible") else "warn",
        expires_in=expires_in,
        keywords=[KeywordChange(keyword=phrase, whole_word=params.boolean("whole_word", True))],
    )
    found = await actions.create_filter(federation_of(request), change)
    return JSONResponse(v1_entity(found, found.keywords[0]))


@api(WRITE)
async def v1_update(request: Request, caller: Caller) -> Response:
    params = await Params.of(request)
    found, keyword = await _v1_of(request)
    expires_in, clear = _expiry(params)
    irreversible = params.optional_boolean("irreversible")
    phrase = params.string("phrase", max_length=actions.MAX_KEYWORD_LENGTH)
    change = FilterChange(
        # A filter of this one keyword is titled by it, as v1 made it.
        title=phrase if phrase is not None and len(found.keywords) == 1 else None,
        contexts=_contexts(params),
        action=None if irreversible is None else ("hide" if irreversible else "warn"),
        expires_in=expires_in,
        clear_expiry=clear,
        keywords=[
            KeywordChange(
                id=keyword.id, keyword=phrase, whole_word=params.optional_boolean("whole_word")
            )
        ],
    )
    updated = await actions.update_filter(federation_of(request), found.id, change)
    return JSONResponse(
        v1_entity(updated, await actions.get_keyword(federation_of(request), keyword.id))
    )


@api(WRITE)
async def v1_delete(request: Request, caller: Caller) -> Response:
    """Remove the keyword; its filter goes too when nothing is left in it."""
    federation = federation_of(request)
    found, keyword = await _v1_of(request)
    if len(found.keywords) == 1 and not found.statuses:
        await actions.delete_filter(federation, found.id)
    else:
        await actions.delete_keyword(federation, keyword.id)
    return JSONResponse({})


_GET = ["GET", "HEAD"]

routes: list[BaseRoute] = [
    Route("/api/v2/filters", list_filters, methods=_GET),
    Route("/api/v2/filters", create_filter, methods=["POST"]),
    # Mastodon.py's paths first: `keywords` and `statuses` are no filter ids.
    Route("/api/v2/filters/keywords/{id}", show_keyword, methods=_GET),
    Route("/api/v2/filters/keywords/{id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", show_status, methods=_GET),
    Route("/api/v2/filters/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v2/filters/{id}", show_filter, methods=_GET),
    Route("/api/v2/filters/{id}", update_filter, methods=["PUT", "PATCH"]),
    Route("/api/v2/filters/{id}", delete_filter, methods=["DELETE"]),
    Route("/api/v2/filters/{filter_id}/keywords", list_keywords, methods=_GET),
    Route("/api/v2/filters/{filter_id}/keywords", add_keyword, methods=["POST"]),
    Route("/api/v2/filters/{filter_id}/statuses", list_statuses, methods=_GET),
    Route("/api/v2/filters/{filter_id}/statuses", add_status, methods=["POST"]),
    Route("/api/v2/filter_keywords/{id}", show_keyword, methods=_GET),
    Route("/api/v2/filter_keywords/{id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filter_keywords/{id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filter_statuses/{id}", show_status, methods=_GET),
    Route("/api/v2/filter_statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/filters", v1_list, methods=_GET),
    Route("/api/v1/filters", v1_create, methods=["POST"]),
    Route("/api/v1/filters/{id}", v1_show, methods=_GET),
    Route("/api/v1/filters/{id}", v1_update, methods=["PUT"]),
    Route("/api/v1/filters/{id}", v1_delete, methods=["DELETE"]),
]
