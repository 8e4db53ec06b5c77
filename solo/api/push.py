"""`/api/v1/push/subscription`: an app's Web Push subscription, one per access token, as
Mastodon's (POST creates or replaces, GET reads, PUT changes the alerts and policy, DELETE
removes). Scope `push`.

Parameters are Mastodon's: `subscription[endpoint]`, `subscription[keys][p256dh]`,
`subscription[keys][auth]`, `subscription[standard]`, `data[alerts][<type>]` and `data[policy]`
(`policy` at the top level too, as Mastodon.py sends it).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import push as push_actions
from solo.api.auth import Caller, api, token_from
from solo.api.errors import RecordNotFound, ValidationFailed
from solo.api.params import Params
from solo.federation.context import federation_of
from solo.store import push_subscriptions as store
from solo.store.push_subscriptions import ALERTS, PushSubscription

MAX_KEY_CHARS = 200


def entity(subscription: PushSubscription, server_key: str) -> dict[str, Any]:
    """Mastodon's WebPushSubscription."""
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "standard": subscription.standard,
        "alerts": {name: subscription.alerts.get(name, False) for name in ALERTS},
        "policy": subscription.policy,
        "server_key": server_key,
    }


def _alerts(data: Params) -> dict[str, bool]:
    alerts = data.nested("alerts")
    given: dict[str, bool] = {}
    for name in ALERTS:
        value = alerts.optional_boolean(name)
        if value is not None:
            given[name] = value
    return given


def _policy(params: Params, data: Params) -> str | None:
    return data.string("policy", max_length=20) or params.string("policy", max_length=20)


async def _answer(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    subscription = await store.for_token(federation.db, caller.token.id)
    if subscription is None:
        raise RecordNotFound()
    return JSONResponse(entity(subscription, federation.instance.vapid.public_key))


@api("push")
async def create(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    given = params.nested("subscription")
    keys = given.nested("keys")
    data = params.nested("data")
    new = await push_actions.checked(
        federation.settings,
        endpoint=given.string("endpoint", max_length=push_actions.MAX_ENDPOINT),
        p256dh=keys.string("p256dh", max_length=MAX_KEY_CHARS),
        auth=keys.string("auth", max_length=MAX_KEY_CHARS),
        standard=given.boolean("standard"),
        alerts=push_actions.alerts_from(_alerts(data)),
        policy=push_actions.checked_policy(_policy(params, data)),
    )
    token = token_from(request)
    assert token is not None, "an authenticated request carries its token"
    async with federation.db.transaction() as conn:
        await store.save_for_token(conn, caller.token.id, token, new)
    return await _answer(request, caller)


@api("push")
async def show(request: Request, caller: Caller) -> Response:
    return await _answer(request, caller)


@api("push")
async def change(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    subscription = await store.for_token(federation.db, caller.token.id)
    if subscription is None:
        raise RecordNotFound()
    params = await Params.of(request)
    data = params.nested("data")
    alerts = push_actions.alerts_from(_alerts(data), subscription.alerts)
    try:
        policy = push_actions.checked_policy(_policy(params, data), subscription.policy)
    except push_actions.BadSubscription:
        raise ValidationFailed("policy", "is not all, followed, follower or none") from None
    async with federation.db.transaction() as conn:
        await store.update(conn, subscription.id, alerts, policy)
    return await _answer(request, caller)


@api("push")
async def remove(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    async with federation.db.transaction() as conn:
        await store.delete_for_token(conn, caller.token.id)
    return JSONResponse({})


async def subscription(request: Request) -> Response:
    endpoint = {"POST": create, "GET": show, "HEAD": show, "PUT": change, "DELETE": remove}
    return await endpoint[request.method](request)


routes: list[BaseRoute] = [
    Route(
        "/api/v1/push/subscription",
        subscription,
        methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
    ),
]
