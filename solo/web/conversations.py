"""Conversations on the web: direct messages grouped as the client API groups them.

GET  /conversations              each with who is in it, its last message, unread or not
GET  /conversations/:id          its messages, oldest first, and a reply form; marks it read
POST /conversations/:id/remove   off the list until a new message arrives
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.edge.templating import flash, render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.store import actors as actor_store
from solo.store import conversations as conversation_store
from solo.store.account import Account
from solo.store.conversations import Conversation
from solo.text import plain_text
from solo.web.common import (
    Cursor,
    form_page,
    id_from,
    login_required,
    older_link,
    page_loader,
)
from solo.web.compose import composer_context
from solo.web.views import AuthorView, StatusView, remote_author

EXCERPT: Final = 160  # characters of the last message shown in the list
SHOWN_MESSAGES: Final = 100  # the latest messages of a conversation shown on its page
GONE: Final = "That conversation is not there: it has no message you can read."


@dataclass(frozen=True)
class ConversationView:
    id: int
    unread: bool
    people: list[AuthorView]
    last: StatusView
    excerpt: str


async def _people(request: Request, found: list[Conversation]) -> dict[int, list[AuthorView]]:
    db = federation_of(request).db
    ids = await conversation_store.participants(db, [c.id for c in found])
    actors = await actor_store.actors_by_ids(db, list({i for v in ids.values() for i in v}))
    return {
        cid: [remote_author(actors[i]) for i in people if i in actors]
        for cid, people in ids.items()
    }


async def _views(
    request: Request, account: Account, found: list[Conversation]
) -> list[ConversationView]:
    """The list's rows: a fixed number of queries for the page."""
    loader = page_loader(request, account)
    cards = {v.id: v for v in await loader.statuses([c.last_status_id for c in found])}
    people = await _people(request, found)
    views = []
    for conversation in found:
        last = cards.get(conversation.last_status_id)
        if last is None:
            continue
        text = last.status.summary or plain_text(last.status.content_html)
        excerpt = text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"
        views.append(
            ConversationView(
                conversation.id,
                conversation.unread,
                people[conversation.id] or [loader.me],
                last,
                excerpt,
            )
        )
    return views


@login_required
async def index(request: Request, account: Account) -> Response:
    db = federation_of(request).db
    cursor = Cursor.of(request)
    where, args = ("last < ?", [cursor.max_id]) if cursor.max_id is not None else ("1", [])
    found = await conversation_store.page(
        db, where=where, args=args, order="DESC", limit=cursor.fetch
    )
    shown, more = cursor.split(found)
    context = {
        "conversations": await _views(request, account, shown),
        "older": older_link(request, shown[-1].cursor) if more else None,
    }
    return render(request, "conversations.html", context)


@login_required
async def show(request: Request, account: Account) -> Response:
    federation = federation_of(request)
    conversation_id = id_from(str(request.path_params["id"]), "conversation")
    found = None
    if conversation_id is not None:
        found = await conversation_store.get(federation.db, conversation_id)
    if found is None:
        raise NotFound(GONE)
    if found.unread:
        async with federation.db.transaction() as conn:
            await conversation_store.mark_read(conn, found.id)
    loader = page_loader(request, account)
    ids = await conversation_store.statuses(federation.db, found.id, SHOWN_MESSAGES)
    messages = await loader.statuses(ids, "thread")
    people = (await _people(request, [found]))[found.id]
    last = next((v for v in reversed(messages) if v.id == found.last_status_id), None)
    here = f"/conversations/{found.id}"
    context = {
        "conversation": found,
        "people": people,
        "messages": messages,
        "last": last,
        # The answer goes to everyone in it, as Mastodon's reply box starts.
        "draft": "".join(f"@{p.handle} " for p in people),
        "here": here,
        **await composer_context(federation),
    }
    return render(request, "conversation.html", context)


@form_page
async def remove(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    conversation_id = id_from(str(request.path_params["id"]), "conversation")
    if conversation_id is None or not await conversation_store.exists(
        federation.db, conversation_id
    ):
        raise NotFound(GONE)
    async with federation.db.transaction() as conn:
        await conversation_store.remove(conn, conversation_id)
    flash(request, "Removed from your conversations; it comes back if a new message arrives.")
    return RedirectResponse("/conversations", status_code=303)


routes: list[BaseRoute] = [
    Route("/conversations", index, methods=["GET", "HEAD"]),
    Route("/conversations/{id}", show, methods=["GET", "HEAD"]),
    Route("/conversations/{id}/remove", remove, methods=["POST"]),
]
