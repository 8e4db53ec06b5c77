"""POST /api/v1/reports and the Report entity (also the `report` of an `admin.report`
notification).

A report names a remote account (`account_id`), posts of that account (`status_ids[]`), a
`comment` of at most 1,000 characters, a `category` (spam, legal, violation, other) and
`rule_ids[]`; with `forward` it is also sent to the account's server. Posts of another account,
our own account, or a comment too long are refused with 422, and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import reports
from solo.api.account_entities import account_by_id, own_account, render_accounts
from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.errors import ValidationFailed
from solo.api.ids import id_of
from solo.api.params import Params
from solo.api.refusals import refusals
from solo.federation.context import Federation, federation_of
from solo.store.reports import Report


async def render_reports(federation: Federation, found: Sequence[Report]) -> list[dict[str, Any]]:
    """Report entities: `target_account` is the account reported (ours for a report we
    received). A fixed number of queries."""
    targets = [r.actor_id for r in found if r.direction == "out"]
    accounts = {int(a["id"]): a for a in await render_accounts(federation, targets)}
    own = await own_account(federation) if any(r.direction == "in" for r in found) else None
    entities = []
    for report in found:
        target = own if report.direction == "in" else accounts.get(report.actor_id)
        if target is None:
            continue  # the account reported is gone
        entities.append(
            {
                "id": str(report.id),
                "action_taken": False,
                "action_taken_at": None,
                "category": report.category,
                "comment": report.comment,
                "forwarded": report.forwarded,
                "created_at": iso(report.created_at),
                "status_ids": [str(i) for i in report.status_ids],
                "rule_ids": list(report.rule_ids),
                "target_account": target,
            }
        )
    return entities


def _status_ids(params: Params) -> list[int]:
    raw = params.strings("status_ids", max_items=reports.MAX_POSTS)
    ids = []
    for item in raw:
        found = id_of(item)
        if found is None:
            raise ValidationFailed("status_ids", f"has {item[:40]!r}, which is no post id")
        ids.append(found)
    return ids


@api("write:reports")
async def create_report(request: Request, caller: Caller) -> Response:
    federation = federation_of(request)
    params = await Params.of(request)
    account_id = params.required("account_id", max_length=40)
    comment = params.string("comment") or ""
    if len(comment) > reports.MAX_COMMENT:
        raise ValidationFailed(
            "comment", f"is too long (maximum is {reports.MAX_COMMENT} characters)"
        )
    wanted = reports.ReportRequest(
        comment=comment,
        status_ids=_status_ids(params),
        forward=params.boolean("forward"),
        category=params.string("category", max_length=40) or "other",
        rule_ids=params.strings("rule_ids", max_items=reports.MAX_RULES),
    )
    actor = await account_by_id(federation, account_id)
    if actor is None:
        raise ValidationFailed("account_id", "is your own account, which you cannot report")
    with refusals():
        report = await reports.report(federation, actor, wanted)
    (entity,) = await render_reports(federation, [report])
    return JSONResponse(entity)


routes: list[BaseRoute] = [Route("/api/v1/reports", create_report, methods=["POST"])]
