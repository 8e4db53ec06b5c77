"""Reporting a remote account, and chosen posts of it, as Mastodon does.

Every report is kept here. Only with `forward` does it also go to the account's server: a
`Flag` from the instance actor (so the reported person does not learn who reported them) with
the comment in `content` and `object` = [the account, the posts…], delivered through the push
queue like any other activity (FEDERATION.md rule 30).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from solo import urls
from solo.actions import ActionError
from solo.activitystreams import AS_CONTEXT
from solo.federation import vocab
from solo.federation.audience import inbox_of
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_recorded, record_activity
from solo.store import reports as report_store
from solo.store.actors import RemoteActor
from solo.store.reports import CATEGORIES, NewReport, Report

MAX_COMMENT: Final = 1000  # Mastodon's limit for a report's comment
MAX_POSTS: Final = 100
MAX_RULES: Final = 20


@dataclass(frozen=True)
class ReportRequest:
    comment: str = ""
    status_ids: Sequence[int] = ()
    forward: bool = False
    category: str = "other"
    rule_ids: Sequence[str] = ()


def _check(request: ReportRequest) -> None:
    if len(request.comment) > MAX_COMMENT:
        raise ActionError(
            "The comment is %(count)s characters long; at most %(max_comment)s are allowed.",
            count=len(request.comment),
            max_comment=MAX_COMMENT,
        )
    if request.category not in CATEGORIES:
        raise ActionError(
            "The category %(category)s is not one of %(choices)s.",
            category=repr(request.category[:40]),
            choices=", ".join(CATEGORIES),
        )
    if len(request.status_ids) > MAX_POSTS:
        raise ActionError("A report can name at most %(max_posts)s posts.", max_posts=MAX_POSTS)
    if request.rule_ids:
        # Mastodon checks the rules named against the server's own; Solo has none.
        raise ActionError("This server has no rules, so a report cannot name any.")


async def _check_posts(
    federation: Federation, actor: RemoteActor, status_ids: Sequence[int]
) -> list[int]:
    """The posts named, once each, when every one is a post of `actor`'s; else ActionError."""
    wanted = list(dict.fromkeys(status_ids))
    found = await report_store.named_posts(federation.db, wanted)
    for status_id in wanted:
        post = found.get(status_id)
        if post is None:
            raise ActionError("There is no post %(status_id)s here.", status_id=status_id)
        if post.actor_id != actor.id:
            raise ActionError(
                "Post %(status_id)s is not by @%(handle)s: report its author.",
                status_id=status_id,
                handle=actor.handle,
            )
        if post.is_boost:
            raise ActionError(
                "Post %(status_id)s is a boost: report the post it boosts.", status_id=status_id
            )
    return wanted


def flag(
    federation: Federation, flag_id: str, actor: RemoteActor, posts: Sequence[str], comment: str
) -> vocab.Document:
    return {
        "@context": AS_CONTEXT,
        "id": flag_id,
        "type": "Flag",
        "actor": urls.instance_actor(federation.settings),
        "content": comment,
        "object": [actor.ap_id, *posts],
    }


async def report(federation: Federation, actor: RemoteActor, request: ReportRequest) -> Report:
    """Keep a report about `actor`, and with `request.forward` send it to their server."""
    assert actor.id is not None
    _check(request)
    status_ids = await _check_posts(federation, actor, request.status_ids)
    posts = await report_store.named_posts(federation.db, status_ids)
    snowflake = federation.ids.next()
    flag_id = f"{urls.instance_actor(federation.settings)}#flags/{snowflake}"
    async with federation.db.transaction() as conn:
        ref = None
        if request.forward:
            document = flag(
                federation, flag_id, actor, [posts[i].ap_id for i in status_ids], request.comment
            )
            ref = await record_activity(conn, document)
            await enqueue_recorded(conn, ref, [inbox_of(actor)], as_instance=True)
        report_id = await report_store.add(
            conn,
            NewReport(
                direction="out",
                actor_id=actor.id,
                ap_id=flag_id,
                comment=request.comment,
                category=request.category,
                status_ids=status_ids,
                rule_ids=request.rule_ids,
                forwarded=request.forward,
                activity_ref=ref,
            ),
        )
    if request.forward:
        federation.push.wake.set()
    assert report_id is not None
    stored = await report_store.get_report(federation.db, report_id)
    assert stored is not None
    return stored
