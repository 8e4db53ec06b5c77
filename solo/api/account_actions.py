"""What we do to an account: follow, unfollow, block, unblock, mute, unmute, remove from
followers, and the private note on it. Each answers the Relationship as it stands afterwards;
doing a thing twice is harmless, as on Mastodon. Our own account cannot be the object of any
of them (422)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError, blocks, follows, notes
from solo.api.account_entities import account_by_id, relationships
from solo.api.auth import Caller, api
from solo.api.errors import ValidationFailed
from solo.api.params import Params
from solo.federation.context import Federation, federation_of
from solo.store import follows as follow_store
from solo.store.actors import RemoteActor

Change = Callable[[Federation, RemoteActor, Params], Awaitable[None]]
MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


async def _follow(federation: Federation, actor: RemoteActor, params: Params) -> None:
    # `reblogs`, `notify` and `languages` are accepted; Solo shows every boost and has no
    # per-account notifications of posts.
    params.optional_boolean("reblogs")
    params.optional_boolean("notify")
    await follows.follow(federation, actor.ap_id)


async def _unfollow(federation: Federation, actor: RemoteActor, params: Params) -> None:
    assert actor.id is not None
    if await follow_store.get_follow(federation.db, "out", actor.id) is not None:
        await follows.unfollow(federation, actor.ap_id)


async def _remove_follower(federation: Federation, actor: RemoteActor, params: Params) -> None:
    assert actor.id is not None
    if await follow_store.get_follow(federation.db, "in", actor.id) is not None:
        await follows.remove_follower(federation, actor.ap_id)


async def _block(federation: Federation, actor: RemoteActor, params: Params) -> None:
    await blocks.block(federation, actor)


async def _unblock(federation: Federation, actor: RemoteActor, params: Params) -> None:
    await blocks.unblock(federation, actor)


async def _mute(federation: Federation, actor: RemoteActor, params: Params) -> None:
    await blocks.mute(
        federation,
        actor,
        notifications=params.boolean("notifications", default=True),
        duration=params.integer("duration", 0, minimum=0, maximum=MAX_MUTE_SECONDS),
    )


async def _unmute(federation: Federation, actor: RemoteActor, params: Params) -> None:
    await blocks.unmute(federation, actor)


@api("write:accounts")
async def note(request: Request, caller: Caller) -> Response:
    """POST /api/v1/accounts/:id/note: `comment` (blank or absent: none) as the private note."""
    federation = federation_of(request)
    actor = await account_by_id(federation, str(request.path_params["id"]))
    if actor is None:
        raise ValidationFailed("id", "is your own account, which takes no private note")
    params = await Params.of(request)
    comment = params.string("comment") or ""
    if len(comment.strip()) > notes.MAX_NOTE:
        raise ValidationFailed("comment", f"is too long (maximum is {notes.MAX_NOTE} characters)")
    await notes.set_note(federation, actor, comment)
    (relationship,) = await relationships(federation, [actor])
    return JSONResponse(relationship)


def _change(change: Change, what: str, scope: str) -> Callable[[Request], Awaitable[Response]]:
    @api(scope)
    async def endpoint(request: Request, caller: Caller) -> Response:
        federation = federation_of(request)
        actor = await account_by_id(federation, str(request.path_params["id"]))
        if actor is None:
            raise ValidationFailed("id", f"is your own account, which you cannot {what}")
        params = await Params.of(request)
        try:
            await change(federation, actor, params)
        except ActionError as error:
            raise ValidationFailed("id", error.message) from None
        (relationship,) = await relationships(federation, [actor])
        return JSONResponse(relationship)

    endpoint.__name__ = change.__name__.lstrip("_")
    return endpoint


_CHANGES: tuple[tuple[str, Change, str, str], ...] = (
    ("follow", _follow, "follow", "write:follows"),
    ("unfollow", _unfollow, "unfollow", "write:follows"),
    ("remove_from_followers", _remove_follower, "remove", "write:follows"),
    ("block", _block, "block", "write:blocks"),
    ("unblock", _unblock, "unblock", "write:blocks"),
    ("mute", _mute, "mute", "write:mutes"),
    ("unmute", _unmute, "unmute", "write:mutes"),
)

routes: list[BaseRoute] = [
    *(
        Route(f"/api/v1/accounts/{{id}}/{path}", _change(change, what, scope), methods=["POST"])
        for path, change, what, scope in _CHANGES
    ),
    Route("/api/v1/accounts/{id}/note", note, methods=["POST"]),
]
