"""Account endpoints: our own (verify_credentials, update_credentials), any account by id or
handle, an account's statuses, followers and following, relationships and account search.

Account ids: ours is `entities.local_account_id`, a remote one its `actors` row id. What we
do to an account (follow, block, mute…) is in `solo.api.account_actions`.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo import hashtags
from solo.actions import ActionError, profile
from solo.actions.follows import HANDLE_RE
from solo.api.account_entities import (
    account_by_id,
    is_us,
    own_account,
    own_account_id,
    own_relationship,
    relationships,
    render_account,
    render_accounts,
)
from solo.api.auth import Caller, api
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.ids import id_of
from solo.api.paging import PageRequest, paged
from solo.api.params import Params
from solo.api.search import search_accounts
from solo.api.status_entities import render_statuses
from solo.federation import backfill
from solo.federation.context import Federation, federation_of
from solo.store import actors as actor_store
from solo.store import listings, pins
from solo.store.account import get_account

MAX_IDS = 40
# The one account owns the server: Mastodon's Owner role, with every permission bit.
OWNER_ROLE: Final = {
    "id": "3",
    "name": "Owner",
    "color": "",
    "permissions": "1048575",
    "highlighted": True,
}


@api("read:accounts", "profile")
async def verify_credentials(request: Request, caller: Caller) -> Response:
    entity = await own_account(federation_of(request), source=True)
    entity["role"] = OWNER_ROLE
    return JSONResponse(entity)


async def _account_entity(federation: Federation, raw_id: str) -> dict[str, Any]:
    actor = await account_by_id(federation, raw_id)
    if actor is None:
        return await own_account(federation)
    return await render_account(federation, actor)


@api("read:accounts", public=True)
async def account(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    return JSONResponse(await _account_entity(federation, str(request.path_params["id"])))


@api("read:accounts", public=True)
async def lookup(request: Request, caller: Caller | None) -> Response:
    """An account by its `acct` (`user` for ours, `user@host`), among those we know."""
    federation = federation_of(request)
    acct = (await Params.of(request)).required("acct", max_length=500).strip().lstrip("@")
    if is_us(federation.settings, acct):
        return JSONResponse(await own_account(federation))
    match = HANDLE_RE.match(acct)
    if match is None:
        raise RecordNotFound()
    actor = await actor_store.get_actor_by_handle(federation.db, match.group(1), match.group(2))
    if actor is None:
        raise RecordNotFound()
    return JSONResponse(await render_account(federation, actor))


@api("read:statuses", public=True)
async def statuses(request: Request, caller: Caller | None) -> Response:
    """An account's posts and boosts, with Mastodon's filters; visitors see public and
    unlisted ones only."""
    federation = federation_of(request)
    actor = await account_by_id(federation, str(request.path_params["id"]))
    params = await Params.of(request)
    page = PageRequest.of(params)
    actor_id = None if actor is None else actor.id
    if actor is not None and caller is not None and caller.user and "max_id" not in params:
        # As the web profile does: their recent posts (and totals), as far as their server
        # answers within the wait.
        await backfill.profile(federation, actor.ap_id)
    if params.boolean("pinned"):
        ids = page.window(await pins.pinned_ids(federation.db, actor_id))
    else:
        given = (params.string("tagged", max_length=100) or "").strip()
        tagged = hashtags.parse(given) if given else None
        # As Mastodon: a `tagged` that is no hashtag matches nothing.
        ids = (
            []
            if given and tagged is None
            else page.arrange(
                await listings.account_posts(
                    federation.db,
                    actor_id,
                    page,
                    public_only=caller is None or not caller.user,
                    exclude_reblogs=params.boolean("exclude_reblogs"),
                    exclude_replies=params.boolean("exclude_replies"),
                    only_media=params.boolean("only_media"),
                    tagged=tagged,
                )
            )
        )
    return paged(request, await render_statuses(federation, ids, caller, "account"), ids)


def _follows_list(direction: str) -> Any:
    @api("read:accounts", public=True)
    async def endpoint(request: Request, caller: Caller | None) -> Response:
        """Our followers or the accounts we follow; other servers' lists are not ours to
        show (Mastodon shows what it knows: for a remote account, often nothing)."""
        federation = federation_of(request)
        actor = await account_by_id(federation, str(request.path_params["id"]))
        page = PageRequest.of(await Params.of(request), default=40, maximum=80)
        if actor is not None:
            return paged(request, [], [])
        rows = page.arrange(
            await listings.follows(
                federation.db, "in" if direction == "in" else "out", "accepted", page
            )
        )
        found = await render_accounts(federation, [row.actor_id for row in rows])
        return paged(request, found, [row.id for row in rows])

    endpoint.__name__ = "followers" if direction == "in" else "following"
    return endpoint


@api("read:follows")
async def relationships_of(request: Request, caller: Caller) -> Response:
    """`id[]=…`: where we stand with each account, in the order asked; unknown ids left out."""
    federation = federation_of(request)
    raw_ids = (await Params.of(request)).strings("id", max_items=MAX_IDS)
    own = await own_account_id(federation)
    wanted = (id_of(raw) for raw in raw_ids if raw != own)
    actors = await actor_store.actors_by_ids(federation.db, (i for i in wanted if i is not None))
    found = {
        entity["id"]: entity for entity in await relationships(federation, list(actors.values()))
    }
    answer = [
        own_relationship(own) if raw == own else found[raw]
        for raw in dict.fromkeys(raw_ids)
        if raw == own or raw in found
    ]
    return JSONResponse(answer)


@api("read:accounts")
async def search(request: Request, caller: Caller) -> Response:
    """Accounts by handle or name; `resolve` looks a handle up on its server (as v2 search)."""
    federation = federation_of(request)
    params = await Params.of(request)
    query = params.required("q", max_length=500).strip()
    limit = min(max(params.integer("limit", 40), 1), 80)
    offset = params.integer("offset", 0, minimum=0)
    found = await search_accounts(
        federation, query, resolve=params.boolean("resolve"), limit=limit, offset=offset
    )
    return JSONResponse(found)


def _fields(params: Params) -> list[tuple[str, str]] | None:
    """`fields_attributes`, as a list or as an object keyed by index; None when not sent."""
    raw = params.raw("fields_attributes")
    if raw is None:
        return None
    if isinstance(raw, dict):
        indexes = {key: id_of(key) for key in raw}
        if None in indexes.values():
            raise ValidationFailed("fields_attributes", "is malformed")
        raw = [raw[key] for key in sorted(raw, key=lambda k: indexes[k] or 0)]
    if not isinstance(raw, list):
        raise ValidationFailed("fields_attributes", "must be a list")
    pairs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationFailed(f"fields_attributes[{index}]", "must be an object")
        field = Params(item, f"fields_attributes[{index}]")
        pairs.append((field.string("name") or "", field.string("value") or ""))
    if len(pairs) > profile.MAX_FIELDS:
        raise ValidationFailed("fields_attributes", f"has more than {profile.MAX_FIELDS} items")
    return pairs


async def _image(params: Params, name: str, limit: int) -> profile.ImageUpload | None:
    upload = params.file(name)
    if upload is None:
        return None
    if upload.size is not None and upload.size > limit:
        raise ValidationFailed(name, f"is larger than {limit // 1048576} MB")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed(name, f"is larger than {limit // 1048576} MB")
    return profile.ImageUpload(data, upload.filename or "", upload.content_type or "")


@api("write:accounts")
async def update_credentials(request: Request, caller: Caller) -> Response:
    """Change the profile: what is not sent stays. `source[…]`, `discoverable`, `bot` and
    the like are accepted and kept as Solo has them (public posts, not a bot)."""
    federation = federation_of(request)
    params = await Params.of(request)
    account = await get_account(federation.db)
    assert account is not None
    display_name = params.string("display_name")
    note = params.string("note")
    if display_name is not None and len(" ".join(display_name.split())) > profile.MAX_NAME:
        raise ValidationFailed("display_name", f"is too long (maximum is {profile.MAX_NAME})")
    if note is not None and len(note.strip()) > profile.MAX_BIO:
        raise ValidationFailed("note", f"is too long (maximum is {profile.MAX_BIO})")
    locked = params.optional_boolean("locked")
    params.nested("source")  # accepted; its values are Solo's own
    fields = _fields(params)
    limit = federation.settings.max_upload_bytes
    avatar = await _image(params, "avatar", limit)
    header = await _image(params, "header", limit)
    try:
        await profile.update_profile(
            federation,
            display_name=account.display_name if display_name is None else display_name,
            bio=account.summary_source if note is None else note,
            fields=[(f.name, f.value) for f in account.fields] if fields is None else fields,
            locked=account.locked if locked is None else locked,
            avatar=avatar,
            header=header,
        )
    except ActionError as error:
        # The profile's checks say which file or field they refuse in words: find it there.
        field = next(
            (
                name
                for name, upload in (("avatar", avatar), ("header", header))
                if upload is not None
                and (
                    name in error.message.lower()
                    or (upload.filename and upload.filename in error.message)
                )
            ),
            "fields_attributes",
        )
        raise ValidationFailed(field, error.message) from None
    return JSONResponse(await own_account(federation, source=True))


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/relationships", relationships_of, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/search", search, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/{id}", account, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/{id}/statuses", statuses, methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/{id}/followers", _follows_list("in"), methods=["GET", "HEAD"]),
    Route("/api/v1/accounts/{id}/following", _follows_list("out"), methods=["GET", "HEAD"]),
]
