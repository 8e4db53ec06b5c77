"""`/api/v1/conversations`: direct messages grouped into conversations (`solo.store.
conversations`), each the Conversation entity: `id`, `unread`, `accounts` (everyone in it but
us; Mastodon gives the author's own account when nobody else is left) and `last_status`.

Pages go by when the last message arrived (follow the `Link` headers). `POST /:id/read` clears
the unread mark; `DELETE /:id` takes the conversation off the list until a new message arrives.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api.account_entities import own_account, render_accounts
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound
from solo.api.ids import path_id
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.status_entities import render_statuses
from solo.federation.context import Federation, federation_of
from solo.store import conversations as conversation_store
from solo.store.conversations import Conversation


async def render_conversations(
    federation: Federation, found: list[Conversation], caller: Caller
) -> list[dict[str, Any]]:
    """The Conversation entities of these, in their order (a query each for the messages, the
    participants and their accounts)."""
    statuses = await render_statuses(federation, [c.last_status_id for c in found], caller)
    by_id = {int(status["id"]): status for status in statuses}
    people = await conversation_store.participants(federation.db, [c.id for c in found])
    everyone = list(dict.fromkeys(i for ids in people.values() for i in ids))
    accounts = {int(a["id"]): a for a in await render_accounts(federation, everyone)}
    rendered = []
    for conversation in found:
        last = by_id.get(conversation.last_status_id)
        if last is None:
            continue
        shown = [accounts[i] for i in people[conversation.id] if i in accounts]
        rendered.append(
            {
                "id": str(conversation.id),
                "unread": conversation.unread,
                "accounts": shown or [await own_account(federation)],
                "last_status": last,
            }
        )
    return rendered


@api("read:statuses")
async def index(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    page = PageRequest.of(await Params.of(request))
    where, args, order = page.sql("last")
    found = page.arrange(
        await conversation_store.page(
            federation.db, where=where, args=args, order=order, limit=page.limit
        )
    )
    rendered = await render_conversations(federation, found, caller)
    return paged(request, rendered, [c.cursor for c in found])


async def _conversation(federation: Federation, request: Request) -> int:
    conversation_id = path_id(request, "id")
    if not await conversation_store.exists(federation.db, conversation_id):
        raise RecordNotFound()
    return conversation_id


@api("write:conversations")
async def read(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    conversation_id = await _conversation(federation, request)
    async with federation.db.transaction() as conn:
        await conversation_store.mark_read(conn, conversation_id)
    found = await conversation_store.get(federation.db, conversation_id)
    if found is None:
        raise RecordNotFound()
    rendered = await render_conversations(federation, [found], caller)
    if not rendered:
        raise RecordNotFound()
    return JSONResponse(rendered[0])


@api("write:conversations")
async def remove(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    conversation_id = await _conversation(federation, request)
    async with federation.db.transaction() as conn:
        await conversation_store.remove(conn, conversation_id)
    return JSONResponse({})


routes: list[BaseRoute] = [
    Route("/api/v1/conversations", index, methods=["GET", "HEAD"]),
    Route("/api/v1/conversations/{id}/read", read, methods=["POST"]),
    Route("/api/v1/conversations/{id}", remove, methods=["DELETE"]),
]
