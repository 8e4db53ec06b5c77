"""Follows, both ways: followers, following and follow requests pages, and the forms that
follow, unfollow, approve, reject and remove followers.

Every form answers in one of three ways: a fragment (the account's buttons, redrawn) for the
script, a redirect back to the page it came from, or (the follow box of the home page, which
has no page to go back to) the home page with what happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, follows
from solo.catalogues import N_, Message
from solo.edge.i18n import gettext_for
from solo.edge.sessions import checked_form
from solo.edge.templating import flash, render
from solo.federation.context import Federation, federation_of
from solo.store import account_notes, listings
from solo.store import actors as actor_store
from solo.store import follows as follow_store
from solo.store import mutes as mute_store
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.store.follows import Direction
from solo.web.common import (
    Cursor,
    login_required,
    older_link,
    page_of,
    safe_back,
    wants_fragment,
)
from solo.web.timelines import timeline_page
from solo.web.views import RelationshipView, remote_author


async def relationships(
    federation: Federation, actors: Sequence[RemoteActor]
) -> list[RelationshipView]:
    """The follow buttons of many accounts, with blocks, mutes and notes: a fixed number of
    queries."""
    ids = [a.id for a in actors if a.id]
    db = federation.db
    states = await follow_store.follows_of(db, ids)
    blocking, _ = await listings.blocks_between(db, ids)
    muted = await mute_store.mutes_of(db, ids)
    notes = await account_notes.notes_of(db, ids)
    views = []
    for actor in actors:
        mute = muted.get(actor.id or 0)
        views.append(
            RelationshipView(
                actor=remote_author(actor),
                following=states.get(("out", actor.id or 0)),
                followed_by=states.get(("in", actor.id or 0)),
                blocking=(actor.id or 0) in blocking,
                muting=mute is not None,
                muting_notifications=mute is not None and mute.notifications,
                mute_expires_at=None if mute is None else mute.expires_at,
                note=notes.get(actor.id or 0, ""),
            )
        )
    return views


async def relationship(
    federation: Federation, actor: RemoteActor, message: str | None = None
) -> RelationshipView:
    (found,) = await relationships(federation, [actor])
    return replace(found, message=message)


Change = Callable[[Federation, RemoteActor], Awaitable[str]]


async def _follow(federation: Federation, actor: RemoteActor) -> str:
    found = await follows.follow(federation, actor.ap_id)
    if found.state == "pending":
        return Message("Follow request sent to @%(handle)s.", handle=actor.handle)
    return Message("You follow @%(handle)s.", handle=actor.handle)


async def _unfollow(federation: Federation, actor: RemoteActor) -> str:
    await follows.unfollow(federation, actor.ap_id)
    return Message("You no longer follow @%(handle)s.", handle=actor.handle)


async def _approve(federation: Federation, actor: RemoteActor) -> str:
    await follows.approve(federation, actor.ap_id)
    return Message("@%(handle)s now follows you.", handle=actor.handle)


async def _reject(federation: Federation, actor: RemoteActor) -> str:
    await follows.reject(federation, actor.ap_id)
    return Message("You turned down @%(handle)s's request.", handle=actor.handle)


async def _remove(federation: Federation, actor: RemoteActor) -> str:
    await follows.remove_follower(federation, actor.ap_id)
    return Message("@%(handle)s no longer follows you.", handle=actor.handle)


def _form(change: Change) -> Callable[[Request], Awaitable[Response]]:
    @login_required
    async def endpoint(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        federation = federation_of(request)
        try:
            target = str(form.get("account", "")).strip()
            # A known account is taken as stored: unfollowing a server that is down must work.
            actor = await actor_store.get_actor(federation.db, target) or (
                await follows.find_account(federation, target)
            )
            message = await change(federation, actor)
        except ActionError as error:
            return await _refused(request, account, form, error)
        if wants_fragment(request):
            context = {
                "relationship": await relationship(federation, actor, message),
                "back": safe_back(form),
                "here": page_of(safe_back(form)),
            }
            return render(request, "fragment_relationship.html", context)
        if "back" in form:
            flash(request, message)
            return RedirectResponse(safe_back(form), status_code=303)
        return await timeline_page(request, account, "home", notice=message)

    return endpoint


async def _refused(
    request: Request, account: Account, form: FormData, error: ActionError
) -> Response:
    if wants_fragment(request):
        return render(request, "fragment_error.html", {"message": error.message}, status=400)
    if "back" in form:
        flash(request, error.message)
        return RedirectResponse(safe_back(form), status_code=303)
    return await timeline_page(request, account, "home", error=error.message, status=error.status)


def _accounts_page(
    direction: Direction, state: str | None, title: str, empty: str
) -> Callable[[Request], Awaitable[Response]]:
    @login_required
    async def endpoint(request: Request, account: Account) -> Response:
        federation = federation_of(request)
        cursor = Cursor.of(request)
        rows = await follow_store.follows_page(
            federation.db, direction, state, max_id=cursor.max_id, limit=cursor.fetch
        )
        shown, more = cursor.split(rows)
        found = await actor_store.actors_by_ids(federation.db, (f.actor_id for f in shown))
        actors = [found[f.actor_id] for f in shown if f.actor_id in found]
        _ = gettext_for(request)
        context = {
            "title": _(title),
            "current": request.url.path.strip("/"),
            "empty": _(empty),
            "accounts": await relationships(federation, actors),
            "older": older_link(request, shown[-1].id) if more else None,
        }
        return render(request, "accounts.html", context)

    return endpoint


routes: list[BaseRoute] = [
    Route("/follow", _form(_follow), methods=["POST"]),
    Route("/unfollow", _form(_unfollow), methods=["POST"]),
    Route("/follow_requests/approve", _form(_approve), methods=["POST"]),
    Route("/follow_requests/reject", _form(_reject), methods=["POST"]),
    Route("/followers/remove", _form(_remove), methods=["POST"]),
    Route(
        "/followers",
        _accounts_page("in", "accepted", N_("Followers"), N_("Nobody follows you yet.")),
        methods=["GET", "HEAD"],
    ),
    Route(
        "/following",
        _accounts_page("out", None, N_("Following"), N_("You do not follow anyone yet.")),
        methods=["GET", "HEAD"],
    ),
    Route(
        "/follow_requests",
        _accounts_page(
            "in", "pending", N_("Follow requests"), N_("No follow requests are waiting.")
        ),
        methods=["GET", "HEAD"],
    ),
]
