"""Our own posts and activities, served as ActivityStreams at their ids.

`/users/{username}/statuses/{id}` is a Note's id and `…/{id}/activity` the id of the Create
that published it (or, for a boost, of its Announce). Peers fetch them to resolve a link or a
reply; browsers following the same links are sent to the post's page.

Public and unlisted posts are served to anyone. A followers-only or direct post is served only
to a signed GET whose signer may read it (`signed_fetch`: an accepted follower or an addressee,
as Mastodon's `StatusPolicy#show?`); everyone else gets the 404 of a post that does not exist.
Such an answer depends on the signer: it says so (`Vary: Accept, Signature`) and is kept out of
shared caches. A public answer (outside secure mode) carries a strong ETag and may be kept by
shared caches for a few minutes; its serialized JSON is kept in memory (`served`) for the
stampede that follows a big account's boost. A deleted post answers 410 with a Tombstone, as
Mastodon does. In secure mode every ActivityPub answer here needs a signature first
(`fetch_gate`); browsers are unaffected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.activitystreams import AS_CONTEXT, activity_response, wants_activity_json
from solo.errors import NotFound
from solo.federation import fetch_gate, served, signed_fetch, vocab
from solo.federation.context import federation_of
from solo.instance import Instance, instance_of
from solo.store import actors as actor_store
from solo.store import polls as poll_store
from solo.store import statuses as status_store
from solo.store.polls import Poll
from solo.store.statuses import Status

READABLE = frozenset({"public", "unlisted"})
NO_SUCH_POST = "There is no such post here."

# What a document is rendered by: the document, and the poll whose live counts it shows (a poll
# changes without its status row changing, so a cached Question is checked against it).
Renderer = Callable[[Status], Awaitable[tuple[vocab.Document, Poll | None]]]


def _wants_html(request: Request) -> bool:
    """A browser rather than a peer: it asks for HTML, or for anything without naming JSON."""
    if wants_activity_json(request):
        return False
    accept = request.headers.get("accept", "").lower()
    return "html" in accept or "json" not in accept


def _vary(response: Response) -> Response:
    response.headers["Vary"] = "Accept, Signature"
    return response


async def _lookup(request: Request) -> tuple[Instance, Status | None, str]:
    """The instance, our status at this address (None if gone) and the address's ap_id."""
    instance = instance_of(request)
    settings = instance.settings
    if request.path_params["username"] != settings.username:
        raise NotFound(NO_SUCH_POST)
    ap_id = urls.status(settings, request.path_params["status_id"])
    status = await status_store.get_status_by_ap_id(instance.db, ap_id)
    if status is None:
        # A boost's row is found by its Announce's id, which is this address plus /activity.
        status = await status_store.get_status_by_ap_id(instance.db, f"{ap_id}/activity")
    if status is not None and (status.actor_id is not None or status.deleted_at is not None):
        status = None
    return instance, status, ap_id


async def _answer(
    request: Request,
    instance: Instance,
    status: Status | None,
    ap_id: str,
    render: Renderer,
    *,
    suffix: str = "",
) -> Response:
    """The document `render` makes, a redirect for browsers, a Tombstone for a deleted post
    (with the id asked for: the post's `ap_id` and `suffix`), or a 404."""
    html = _wants_html(request)
    federation = federation_of(request)
    if not html:
        await fetch_gate.admit(request, federation)
    if status is None:
        if html or not await status_store.is_tombstoned(instance.db, ap_id):
            raise NotFound(NO_SUCH_POST)
        tombstone = {"@context": AS_CONTEXT, **vocab.tombstone(ap_id + suffix)}
        return fetch_gate.private(activity_response(tombstone, 410), federation)
    if html:
        # The page decides who may see a followers-only post (its author, logged in).
        page = urls.status_page(instance.settings, status.reblog_of_id or status.id)
        return _vary(RedirectResponse(page, status_code=303))
    if status.visibility in READABLE:
        return await _public(request, instance, status, render)
    document, _ = await render(status)
    reader = await signed_fetch.signer(request, federation)
    if not await signed_fetch.may_read(federation, status, document, reader):
        raise NotFound(NO_SUCH_POST)
    response = _vary(activity_response(document))
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def _public(
    request: Request, instance: Instance, status: Status, render: Renderer
) -> Response:
    """A public or unlisted post's document, from memory while its row (and poll) are as they
    were when it was rendered."""
    cache = served.cache_of(request)
    key = request.url.path
    entry = cache.get(key)
    if entry is not None and entry.source != (status, None):
        current = await poll_store.get_poll(instance.db, status.id)
        if entry.source != (status, current):
            entry = None
    if entry is None:
        document, poll = await render(status)
        entry = cache.put(key, (status, poll), document)
    return served.answer(request, entry, shared=not instance.settings.secure_fetch)


async def note(request: Request) -> Response:
    """`GET /users/{username}/statuses/{id}`: the Note."""
    instance, status, ap_id = await _lookup(request)
    if status is not None and status.reblog_of_id is not None:
        raise NotFound(NO_SUCH_POST)  # a boost is an activity, not an object

    async def render(found: Status) -> tuple[vocab.Document, Poll | None]:
        extras = vocab.stored_extras(await status_store.get_raw(instance.db, found.id))
        poll = await poll_store.get_poll(instance.db, found.id)  # a Question's live counts
        note = vocab.note(instance.settings, found, extras, poll=poll)
        return vocab.with_context(note), poll

    return await _answer(request, instance, status, ap_id, render)


async def activity(request: Request) -> Response:
    """`GET /users/{username}/statuses/{id}/activity`: the Create, or a boost's Announce."""
    instance, status, ap_id = await _lookup(request)
    settings, db = instance.settings, instance.db
    if status is not None and status.reblog_of_id is not None:
        boosted = await status_store.get_status(db, status.reblog_of_id)
        if boosted is None or boosted.visibility not in READABLE:
            raise NotFound(NO_SUCH_POST)
        author = await _author(instance, boosted)

        async def announce(boost: Status) -> tuple[vocab.Document, Poll | None]:
            document = vocab.announce(
                settings, boost.ap_id, boosted.ap_id, author, boost.published_at
            )
            return document, None

        return await _answer(request, instance, status, ap_id, announce)

    async def create(found: Status) -> tuple[vocab.Document, Poll | None]:
        extras = vocab.stored_extras(await status_store.get_raw(db, found.id))
        poll = await poll_store.get_poll(db, found.id)
        return vocab.with_context(vocab.create(settings, found, extras, poll=poll)), poll

    return await _answer(request, instance, status, ap_id, create, suffix="/activity")


async def _author(instance: Instance, status: Status) -> str:
    if status.actor_id is None:
        return urls.actor(instance.settings)
    actor = await actor_store.get_actor_by_id(instance.db, status.actor_id)
    if actor is None:
        raise NotFound(NO_SUCH_POST)
    return actor.ap_id


routes: list[BaseRoute] = [
    Route("/users/{username}/statuses/{status_id:int}", note, methods=["GET", "HEAD"]),
    Route("/users/{username}/statuses/{status_id:int}/activity", activity, methods=["GET", "HEAD"]),
]
