"""The `webpush` worker: encrypt each notification for a subscription and POST it to its push
service (RFC 8030), signed with the instance's VAPID key.

Policy: 2xx done; 404 and 410 mean the subscription is gone (Mastodon drops it, and so do we);
413 and other 4xx but 408/429 are final; 408, 429, 5xx and network failures are retried with
the queue's backoff, honouring Retry-After. A job whose notification was removed, or is one the
user asked not to get (muted, held back), is dropped unsent.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from solo.catalogues import DEFAULT, LANGUAGES, N_, SETTING_KEY, translations
from solo.federation.context import Federation
from solo.federation.delivery import retry_after_seconds
from solo.jobs import Job
from solo.net.fetch import BadDocument, FetchError, ForbiddenAddress
from solo.sanitize import plain_text
from solo.store import account as account_store
from solo.store import actors, statuses
from solo.store import notifications as notification_store
from solo.store import push_subscriptions as subscriptions
from solo.store.push_subscriptions import PushSubscription
from solo.webpush import BadKey, Subscriber, auth_secret, message, p256_point

BODY_CHARS: Final = 140  # Mastodon cuts the body there too
RETRIED_4XX: Final = frozenset({408, 429})
GONE: Final = frozenset({404, 410})

log = logging.getLogger(__name__)

TITLES: Final = {
    "mention": N_("{name} mentioned you"),
    "status": N_("{name} just posted"),
    "reblog": N_("{name} boosted your post"),
    "follow": N_("{name} is now following you"),
    "follow_request": N_("{name} wants to follow you"),
    "favourite": N_("{name} favourited your post"),
    "poll": N_("A poll has ended"),
    "update": N_("{name} edited a post"),
    "admin.report": N_("{name} filed a report"),
    "move": N_("{name} moved to a new account"),
}


class PushSender:
    """The webpush worker's job handler."""

    def __init__(self, federation: Federation) -> None:
        self.federation = federation

    async def __call__(self, job: Job) -> None:
        federation = self.federation
        queue = federation.webpush
        subscription_id = job.payload.get("subscription")
        notification_id = job.payload.get("notification")
        if not isinstance(subscription_id, int) or not isinstance(notification_id, int):
            await queue.drop(job, "malformed push job")
            return
        subscription = await subscriptions.get(federation.db, subscription_id)
        if subscription is None:
            await queue.drop(job, "the subscription is gone")
            return
        found = await notification_store.notifications_by_ids(federation.db, [notification_id])
        if not found or found[0].filtered:
            await queue.drop(job, "the notification is gone or not shown")
            return
        try:
            subscriber = Subscriber(
                subscription.endpoint,
                p256_point(subscription.p256dh),
                auth_secret(subscription.auth),
                subscription.standard,
            )
        except BadKey as error:
            await queue.drop(job, f"the subscription's key {error}")
            return
        payload = await self.payload(subscription, found[0])
        body, headers = message(
            federation.instance.vapid,
            subscriber,
            json.dumps(payload, ensure_ascii=False).encode(),
            contact=federation.settings.base_url,
        )
        try:
            reply = await federation.fetcher.post(
                subscription.endpoint, body, headers=headers, auth=None, federated=False
            )
        except (ForbiddenAddress, BadDocument) as error:
            await queue.drop(job, str(error))
            return
        except FetchError as error:
            await queue.fail(job, str(error))
            return
        status = reply.status
        if 200 <= status < 300:
            await queue.done(job)
        elif status in GONE:
            async with federation.db.transaction() as conn:
                await subscriptions.delete(conn, subscription.id)
            log.info(
                "push subscription %d removed: %s answered %d", subscription.id, reply.url, status
            )
            await queue.drop(job, f"HTTP {status} from the push service: unsubscribed")
        elif 400 <= status < 500 and status not in RETRIED_4XX:
            await queue.drop(job, f"HTTP {status} from the push service")
        else:
            wait = retry_after_seconds(reply.headers.get("retry-after"))
            await queue.fail(job, f"HTTP {status} from the push service", retry_after=wait)

    async def payload(
        self, subscription: PushSubscription, notification: notification_store.Notification
    ) -> dict[str, Any]:
        """Mastodon's push payload: what a service worker or an app shows before it fetches
        anything."""
        federation = self.federation
        settings = federation.settings
        name = settings.username
        icon = f"{settings.base_url}/static/icons/icon-192.png"
        page = "/notifications"
        if notification.actor_id is not None:
            actor = await actors.get_actor_by_id(federation.db, notification.actor_id)
            if actor is not None:
                name = actor.display_name or actor.handle
                page = f"/@{actor.handle}"
                proxied = federation.media.proxy_url(actor.avatar_url)
                if proxied:
                    icon = f"{settings.base_url}{proxied}"
        body = ""
        if notification.status_id is not None:
            status = await statuses.get_status(federation.db, notification.status_id)
            if status is not None:
                body = status.summary or plain_text(status.content_html)
                page = f"/@{settings.username}/{status.id}"  # answered by the post's own page
        if notification.type in ("follow", "follow_request", "move") and not body:
            body = name
        if len(body) > BODY_CHARS:
            body = body[: BODY_CHARS - 1].rstrip() + "…"
        # The owner's language for the web interface, when they chose one (the browser's
        # own is unknown here): English otherwise.
        chosen = await account_store.get_meta(federation.db, SETTING_KEY)
        locale = chosen if chosen in LANGUAGES else DEFAULT
        _ = translations(locale).gettext
        title = _(TITLES.get(notification.type, "{name}")).format(name=name)
        payload: dict[str, Any] = {
            "access_token": subscription.access_token,
            "preferred_locale": locale,
            "notification_id": str(notification.id),
            "notification_type": notification.type,
            "icon": icon,
            "title": title,
            "body": body,
        }
        if subscription.token_id is None:
            # The web interface's service worker opens this page when the notification is
            # clicked (apps get Mastodon's payload exactly, and fetch what they show).
            payload["url"] = f"{settings.base_url}{page}"
        return payload
