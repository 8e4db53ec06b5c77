"""Flag: another server reports our account or our posts (Mastodon sends these from its
instance actor, an Application). It becomes a report on the Reports page and an
`admin.report` notification: on a single-user server the user is the admin.

Objects that are not ours are ignored. What a server may send is bounded: at most
`MAX_OBJECTS` objects in one Flag, at most `FLAGS_PER_HOUR` reports from one host an hour, and
a comment of at most `MAX_COMMENT` characters (the rest is cut, with a mark).
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any, Final

from solo import urls
from solo.activitystreams import as_list, id_of
from solo.federation.context import Federation
from solo.federation.handlers import Ignored, own_id
from solo.sanitize import plain_text
from solo.store import notifications
from solo.store import reports as report_store
from solo.store.actors import RemoteActor
from solo.store.reports import NewReport

MAX_OBJECTS: Final = 100
FLAGS_PER_HOUR: Final = 10
MAX_COMMENT: Final = 5000


def _comment(activity: dict[str, Any]) -> str:
    """The comment as plain text (Mastodon sends text; HTML from others is read as text)."""
    content = activity.get("content")
    if not isinstance(content, str):
        return ""
    text = content[: MAX_COMMENT * 4]
    if "<" in text:
        text = plain_text(text)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) not in ("Cc", "Cs"))
    text = text.strip()
    return text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT] + "…"


async def on_flag(federation: Federation, activity: dict[str, Any], actor: RemoteActor) -> None:
    assert actor.id is not None
    objects = as_list(activity.get("object"))
    if len(objects) > MAX_OBJECTS:
        raise Ignored(f"a Flag naming {len(objects)} objects; at most {MAX_OBJECTS} are taken")
    ids = [found for item in objects if (found := id_of(item)) is not None]
    about_us = urls.actor(federation.settings) in ids
    posts = await report_store.own_posts_by_ap_id(federation.db, ids)
    if not about_us and not posts:
        raise Ignored("a Flag about no account or post of ours")
    hour_ago = time.time() - 3600
    if await report_store.received_since(federation.db, actor.domain, hour_ago) >= FLAGS_PER_HOUR:
        raise Ignored(f"{actor.domain} sent more than {FLAGS_PER_HOUR} reports in the last hour")
    notification = None
    async with federation.db.transaction() as conn:
        report_id = await report_store.add(
            conn,
            NewReport(
                direction="in",
                actor_id=actor.id,
                ap_id=own_id(activity, actor),
                comment=_comment(activity),
                status_ids=posts,
                forwarded=True,
            ),
        )
        if report_id is not None:  # else the same Flag came twice
            notification = await notifications.add(conn, "admin.report", actor.id)
            if notification is not None:  # the notification policy never holds reports back
                await report_store.set_notification(conn, report_id, notification)
    if notification is not None:
        await federation.feeds.notification_added(notification)
