"""Lists on the web: the Lists page (with the hashtags followed), a list's timeline, and the
page that renames it, sets its replies policy and exclusivity, and manages its members.

    GET  /lists                      the lists and followed hashtags; a form for a new list
    POST /lists                      create
    GET  /lists/{id}                 the list's timeline
    GET  /lists/{id}/edit            its settings and members
    POST /lists/{id}                 save the settings
    POST /lists/{id}/delete          delete it
    POST /lists/{id}/add             add an account we follow (`account`: @user@host or URL)
    POST /lists/add                  the same, the list named by the form (a profile's menu)
    POST /lists/{id}/remove          take one off

Forms answer with a redirect back and a message; a refusal (an account not followed, a list
past its size) says why on the page it came from and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError
from solo.actions import follows as follow_actions
from solo.actions import lists as actions
from solo.catalogues import N_
from solo.edge.i18n import gettext_for, ngettext_for
from solo.edge.sessions import checked_form
from solo.edge.templating import flash, render
from solo.errors import NotFound, RequestError
from solo.federation.context import Federation, federation_of
from solo.store import actors as actor_store
from solo.store import lists as store
from solo.store import tag_follows
from solo.store.account import Account
from solo.store.lists import List
from solo.web.common import Cursor, id_from, login_required, older_link, page_loader, safe_back
from solo.web.relationships import relationships

POLICIES: Final = {
    "followed": N_("Replies to anyone you follow"),
    "list": N_("Replies to members of the list"),
    "none": N_("No replies to others"),
}


@dataclass(frozen=True)
class _Older:
    """A web cursor as the store's paging window: what is older than `max_id`."""

    max_id: int | None
    limit: int

    def sql(self, column: str) -> tuple[str, list[int], str]:
        if self.max_id is None:
            return "1", [], "DESC"
        return f"{column} < ?", [self.max_id], "DESC"


async def _list(request: Request, raw: str | None = None) -> List:
    list_id = id_from(str(request.path_params["id"]) if raw is None else raw, "list")
    found = None if list_id is None else await store.get_list(federation_of(request).db, list_id)
    if found is None:
        raise NotFound("There is no such list: it may have been deleted.")
    return found


@login_required
async def index(request: Request, account: Account) -> Response:
    db = federation_of(request).db
    lists = await store.all_lists(db)
    followed = await tag_follows.followed_page(db, _Older(None, 1000))
    context = {
        "lists": lists,
        "max_lists": actions.MAX_LISTS,
        "policies": POLICIES,
        "followed_tags": [row.name for row in followed],
    }
    return render(request, "lists.html", context)


@login_required
async def create(request: Request, account: Account) -> Response:
    form = await checked_form(request)
    try:
        created = await actions.create(
            federation_of(request),
            str(form.get("title", "")),
            str(form.get("replies_policy", "list")),
            bool(form.get("exclusive")),
        )
    except actions.InvalidList as error:
        flash(request, error.message)
        return RedirectResponse("/lists#new", status_code=303)
    flash(request, "List “%(title)s” made. Add accounts you follow to it.", title=created.title)
    return RedirectResponse(f"/lists/{created.id}/edit", status_code=303)


@login_required
async def timeline(request: Request, account: Account) -> Response:
    found = await _list(request)
    db = federation_of(request).db
    cursor = Cursor.of(request)
    ids, more = cursor.split(
        await store.timeline(db, found.id, _Older(cursor.max_id, cursor.fetch))
    )
    members = await store.count_members(db, found.id)
    _, ngettext = gettext_for(request), ngettext_for(request)
    intro = ngettext(
        "Posts by the %(num)s account on this list.",
        "Posts by the %(num)s accounts on this list.",
        members,
    ) % {"num": members}
    if found.exclusive:
        intro += " " + _("They are kept out of home.")
    context = {
        "title": found.title,
        "intro": intro,
        "empty": _("No posts from this list’s accounts yet.")
        if members
        else _("Nobody is on this list yet: add accounts you follow."),
        "manage": f"/lists/{found.id}/edit",
        "statuses": await page_loader(request, account).statuses(ids, "home"),
        "older": older_link(request, ids[-1]) if more else None,
    }
    return render(request, "timeline.html", context)


@login_required
async def edit(request: Request, account: Account) -> Response:
    found = await _list(request)
    federation = federation_of(request)
    cursor = Cursor.of(request)
    rows, more = cursor.split(
        await store.members_page(federation.db, found.id, _Older(cursor.max_id, cursor.fetch))
    )
    actors = await actor_store.actors_by_ids(federation.db, [actor_id for _, actor_id in rows])
    members = await relationships(federation, [actors[a] for _, a in rows if a in actors])
    context = {
        "list": found,
        "policies": POLICIES,
        "members": members,
        "count": await store.count_members(federation.db, found.id),
        "max_members": actions.MAX_MEMBERS,
        "older": older_link(request, rows[-1][0]) if more else None,
    }
    return render(request, "list_edit.html", context)


@login_required
async def update(request: Request, account: Account) -> Response:
    found = await _list(request)
    form = await checked_form(request)
    try:
        await actions.change(
            federation_of(request),
            found,
            title=str(form.get("title", "")),
            policy=str(form.get("replies_policy", "")),
            exclusive=bool(form.get("exclusive")),
        )
    except actions.InvalidList as error:
        flash(request, error.message)
    else:
        flash(request, "List saved.")
    return RedirectResponse(f"/lists/{found.id}/edit", status_code=303)


@login_required
async def delete(request: Request, account: Account) -> Response:
    found = await _list(request)
    await checked_form(request)
    await actions.delete(federation_of(request), found)
    flash(request, "List “%(title)s” deleted.", title=found.title)
    return RedirectResponse("/lists", status_code=303)


async def _account_id(federation: Federation, target: str) -> tuple[int, str]:
    """A member by actor URL or handle: known accounts as stored, others looked up."""
    actor = await actor_store.get_actor(federation.db, target) or (
        await follow_actions.find_account(federation, target)
    )
    assert actor.id is not None
    return actor.id, actor.handle


def _membership(add: bool) -> Callable[[Request], Awaitable[Response]]:
    async def change(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        # The profile's menu names the list in the form; the list's own page in the path.
        found = await _list(request, None if "id" in request.path_params else str(form.get("list")))
        back = safe_back(form, f"/lists/{found.id}/edit")
        federation = federation_of(request)
        try:
            actor_id, handle = await _account_id(federation, str(form.get("account", "")).strip())
            if add:
                await actions.add_members(federation, found, [actor_id])
                flash(
                    request, "@%(handle)s added to “%(title)s”.", handle=handle, title=found.title
                )
            else:
                await actions.remove_members(federation, found, [actor_id])
                flash(
                    request,
                    "@%(handle)s removed from “%(title)s”.",
                    handle=handle,
                    title=found.title,
                )
        except (ActionError, RequestError) as error:
            if isinstance(error, NotFound):
                raise
            flash(request, error.message)
        return RedirectResponse(back, status_code=303)

    change.__name__ = "add" if add else "remove"
    return login_required(change)


routes: list[BaseRoute] = [
    Route("/lists", index, methods=["GET", "HEAD"]),
    Route("/lists", create, methods=["POST"]),
    Route("/lists/add", _membership(True), methods=["POST"]),
    Route("/lists/{id}/add", _membership(True), methods=["POST"]),
    Route("/lists/{id}/remove", _membership(False), methods=["POST"]),
    Route("/lists/{id}", timeline, methods=["GET", "HEAD"]),
    Route("/lists/{id}", update, methods=["POST"]),
    Route("/lists/{id}/edit", edit, methods=["GET", "HEAD"]),
    Route("/lists/{id}/delete", delete, methods=["POST"]),
]
