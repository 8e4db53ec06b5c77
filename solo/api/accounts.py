"""Account endpoints. Part 1 of the client API has the one every client calls after logging
in: `GET /api/v1/accounts/verify_credentials`, our account with its `source`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.api import entities
from solo.api.auth import Caller, api
from solo.instance import instance_of
from solo.store.account import get_account
from solo.store.counts import account_counts


@api("read:accounts", "profile")
async def verify_credentials(request: Request, caller: Caller) -> Response:
    instance = instance_of(request)
    account = await get_account(instance.db)
    assert account is not None, "an open instance has its account"
    counts = await account_counts(instance.db)
    return JSONResponse(entities.local_account(instance.settings, account, counts, source=True))


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET", "HEAD"]),
]
