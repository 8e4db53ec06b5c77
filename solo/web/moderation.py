"""Blocking, muting and private notes from the web: the confirmation pages the post menu and
the profile link to, the forms they post, and the settings lists of blocked and muted
accounts with their undo buttons.

The forms call the same actions as the client API (`solo.actions.blocks`, `solo.actions.notes`)
and, without a script, go back where they came from with what happened shown there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, blocks, follows, notes
from solo.catalogues import N_, Message
from solo.edge.sessions import checked_form
from solo.edge.templating import flash, render
from solo.federation.context import Federation, federation_of
from solo.store import actors as actor_store
from solo.store import listings
from solo.store import mutes as mute_store
from solo.store.account import Account
from solo.store.actors import RemoteActor
from solo.web.common import Cursor, login_required, older_link, safe_back, safe_path
from solo.web.relationships import relationship, relationships

# Mastodon's choices of how long a mute lasts, in seconds (0: until unmuted).
DURATIONS: Final = (
    (0, N_("Indefinitely")),
    (300, N_("5 minutes")),
    (1800, N_("30 minutes")),
    (3600, N_("1 hour")),
    (21600, N_("6 hours")),
    (86400, N_("1 day")),
    (259200, N_("3 days")),
    (604800, N_("7 days")),
)
_DURATION_VALUES: Final = frozenset(seconds for seconds, _ in DURATIONS)


async def _account(federation: Federation, target: str) -> RemoteActor:
    """The account a form names (its actor URL): stored ones as stored, so that blocking an
    account whose server is down works; others looked up."""
    target = target.strip()
    if not target:
        raise ActionError("Say which account.")
    found = await actor_store.get_actor(federation.db, target)
    return found if found is not None else await follows.find_account(federation, target)


def _back(form: FormData, actor: RemoteActor) -> str:
    return safe_back(form, f"/@{actor.handle}")


@dataclass(frozen=True)
class _Window:
    """A settings list's page (`listings.Window`): older than `max_id`, newest first."""

    max_id: int | None
    limit: int

    def sql(self, column: str) -> tuple[str, list[int], str]:
        if self.max_id is None:
            return "1", [], "DESC"
        return f"{column} < ?", [self.max_id], "DESC"


@login_required
async def confirm(request: Request, account: Account) -> Response:
    """`/block?account=…` and `/mute?account=…`: what the choice means, and its form."""
    what = request.url.path.strip("/")
    federation = federation_of(request)
    actor = await _account(federation, request.query_params.get("account", ""))
    context: dict[str, Any] = {
        "what": what,
        "relationship": await relationship(federation, actor),
        "back": safe_path(request.query_params.get("back", ""), f"/@{actor.handle}"),
        "durations": DURATIONS,
    }
    return render(request, "moderate.html", context)


Change = Callable[[Federation, RemoteActor, FormData], Awaitable[str]]


async def _block(federation: Federation, actor: RemoteActor, form: FormData) -> str:
    await blocks.block(federation, actor)
    return Message("You blocked @%(handle)s.", handle=actor.handle)


async def _unblock(federation: Federation, actor: RemoteActor, form: FormData) -> str:
    await blocks.unblock(federation, actor)
    return Message("You unblocked @%(handle)s.", handle=actor.handle)


def _duration(form: FormData) -> int:
    raw = str(form.get("duration", "0")).strip() or "0"
    if not raw.isdigit() or int(raw) not in _DURATION_VALUES:
        raise ActionError("Choose how long the mute lasts from the list.")
    return int(raw)


async def _mute(federation: Federation, actor: RemoteActor, form: FormData) -> str:
    duration = _duration(form)
    hide = form.get("notifications") == "1"
    await blocks.mute(federation, actor, notifications=hide, duration=duration)
    handle = actor.handle
    if duration == 0:
        if hide:
            return Message("You muted @%(handle)s and their notifications.", handle=handle)
        return Message("You muted @%(handle)s.", handle=handle)
    length = Message(dict(DURATIONS)[duration])
    if hide:
        return Message(
            "You muted @%(handle)s and their notifications for %(length)s.",
            handle=handle,
            length=length,
        )
    return Message("You muted @%(handle)s for %(length)s.", handle=handle, length=length)


async def _unmute(federation: Federation, actor: RemoteActor, form: FormData) -> str:
    await blocks.unmute(federation, actor)
    return Message("You unmuted @%(handle)s.", handle=actor.handle)


async def _note(federation: Federation, actor: RemoteActor, form: FormData) -> str:
    kept = await notes.set_note(federation, actor, str(form.get("comment", "")))
    return N_("Note saved.") if kept else N_("Note removed.")


def _form(change: Change) -> Callable[[Request], Awaitable[Response]]:
    @login_required
    async def endpoint(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        federation = federation_of(request)
        try:
            actor = await _account(federation, str(form.get("account", "")))
            message = await change(federation, actor, form)
        except ActionError as error:
            return await _refused(request, federation, form, error)
        flash(request, message)
        return RedirectResponse(_back(form, actor), status_code=303)

    endpoint.__name__ = change.__name__.lstrip("_")
    return endpoint


async def _refused(
    request: Request, federation: Federation, form: FormData, error: ActionError
) -> Response:
    """A refused form is shown again as it was sent, with the reason: nothing typed is lost."""
    what = request.url.path.strip("/")
    target = str(form.get("account", "")).strip()
    actor = await actor_store.get_actor(federation.db, target) if target else None
    if actor is None:
        flash(request, error.message)
        return RedirectResponse(safe_back(form), status_code=303)
    context: dict[str, Any] = {
        "what": what if what in ("block", "mute", "note") else "mute",
        "relationship": await relationship(federation, actor),
        "back": _back(form, actor),
        "durations": DURATIONS,
        "error": error.message,
        "comment": str(form.get("comment", "")),
    }
    return render(request, "moderate.html", context, status=error.status)


def _list_page(kind: str) -> Callable[[Request], Awaitable[Response]]:
    @login_required
    async def endpoint(request: Request, account: Account) -> Response:
        federation = federation_of(request)
        db = federation.db
        cursor = Cursor.of(request)
        window = _Window(cursor.max_id, cursor.fetch)
        if kind == "blocks":
            rows = await listings.our_interactions(db, "block", window)
            pairs = [(row_id, actor_id) for row_id, actor_id in rows]
        else:
            where, args, order = window.sql("actor_id")
            found = await mute_store.mutes_page(db, where, args, order, window.limit)
            pairs = [(mute.actor_id, mute.actor_id) for mute in found]
        shown, more = cursor.split(pairs)
        actors = await actor_store.actors_by_ids(db, (actor_id for _, actor_id in shown))
        context = {
            "kind": kind,
            "accounts": await relationships(
                federation, [actors[i] for _, i in shown if i in actors]
            ),
            "older": older_link(request, shown[-1][0]) if more else None,
        }
        return render(request, "blocklist.html", context)

    endpoint.__name__ = f"{kind}_page"
    return endpoint


routes: list[BaseRoute] = [
    Route("/block", confirm, methods=["GET", "HEAD"]),
    Route("/mute", confirm, methods=["GET", "HEAD"]),
    Route("/block", _form(_block), methods=["POST"]),
    Route("/unblock", _form(_unblock), methods=["POST"]),
    Route("/mute", _form(_mute), methods=["POST"]),
    Route("/unmute", _form(_unmute), methods=["POST"]),
    Route("/note", _form(_note), methods=["POST"]),
    Route("/settings/blocks", _list_page("blocks"), methods=["GET", "HEAD"]),
    Route("/settings/mutes", _list_page("mutes"), methods=["GET", "HEAD"]),
]
