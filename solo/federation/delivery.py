"""The push side: enqueue one delivery per inbox with the change, then sign and POST them.

Policy (FEDERATION.md, delivery facts): 2xx done; 4xx other than 401/408/429, and 501, are final;
everything else is retried with backoff over about two days, honouring Retry-After. A server
failing on 7 distinct days is unavailable until it is heard from again. Under limited federation a
delivery to a server outside the allowlist is dropped unsent.

Healthy servers cost no database access per delivery: host health is read from the in-memory
view (`hosts.watch_health`), written only when it changes, and acknowledgements are batched by
the queue.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from solo import urls
from solo.federation.audience import Audience, Inbox
from solo.federation.context import Federation
from solo.federation.poster import Sender
from solo.federation.remote_actors import authority
from solo.federation.signatures import HTTPSignatureAuth
from solo.jobs import Job, enqueue, enqueue_select
from solo.net.fetch import (
    BadDocument,
    FetchError,
    ForbiddenAddress,
    Reply,
)
from solo.store import domain_blocks, hosts
from solo.store.follows import FOLLOWER_SERVERS

RETRIED_4XX = frozenset({401, 408, 429})
BODY_CACHE_SIZE = 64
# A push job's `signer`: the user (no key in the payload) or the instance actor, which sends
# what no person should be seen sending, such as a report's Flag (Mastodon does the same).
INSTANCE_SIGNER = "instance"


async def record_activity(
    conn: aiosqlite.Connection, activity: dict[str, Any], object_ap_id: str | None = None
) -> int:
    """Store one of our activities with the body every inbox will get; returns its row id."""
    body = json.dumps(activity, ensure_ascii=False, separators=(",", ":"))
    async with conn.execute(
        "INSERT INTO activities (ap_id, type, local, object_ap_id, body, created_at)"
        " VALUES (?, ?, 1, ?, ?, ?) RETURNING id",
        (activity["id"], activity["type"], object_ap_id, body, time.time()),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def enqueue_delivery(
    conn: aiosqlite.Connection,
    activity: dict[str, Any],
    to: Audience | Iterable[Inbox],
    *,
    object_ap_id: str | None = None,
) -> int:
    """Record `activity` and one push job per distinct inbox of `to` (an `Audience`, or
    inboxes), in the caller's transaction; returns how many jobs."""
    ref = await record_activity(conn, activity, object_ap_id)
    return await enqueue_recorded(conn, ref, to)


async def enqueue_recorded(
    conn: aiosqlite.Connection,
    ref: int,
    to: Audience | Iterable[Inbox],
    *,
    as_instance: bool = False,
) -> int:
    """One push job per distinct inbox of `to` for the recorded activity `ref`; signed as the
    instance actor with `as_instance`. Returns how many.

    The inboxes named come first (a mentioned account's server is not served after 50,000
    others); then, for an audience with followers, one INSERT … SELECT writes a job for each
    other inbox of our followers' servers, without their rows ever coming into Python.
    """
    audience = to if isinstance(to, Audience) else Audience(named=tuple(to))
    unique = dict(audience.named)  # inbox → host; a server's shared inbox appears once
    extra = {"signer": INSTANCE_SIGNER} if as_instance else {}
    # Nothing is ever queued for a blocked domain, whether named by the account or the inbox.
    named = list(unique)
    blocked = await domain_blocks.blocked_hosts(
        conn, [*unique.values(), *(_host_of(inbox) for inbox in unique)]
    )
    if blocked:
        unique = {
            inbox: host
            for inbox, host in unique.items()
            if host not in blocked and _host_of(inbox) not in blocked
        }
    queued = await enqueue(
        conn,
        "push",
        (({"inbox": inbox, **extra}, host) for inbox, host in unique.items()),
        ref=ref,
    )
    if audience.followers:
        # Followers sharing a named inbox are served by its job, or refused with it.
        queued += await enqueue_select(
            conn,
            "push",
            f"SELECT json_set(?, '$.inbox', inbox) AS payload, host FROM ({FOLLOWER_SERVERS})",
            (json.dumps(extra), "in", json.dumps(named)),
            ref=ref,
        )
    return queued


# The common shape of an inbox URL, whose host is read without urlsplit (once per delivery).
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?::[0-9]{1,5})?(?=[/?#]|\Z)")


def _host_of(url: str) -> str:
    """The host name of `url`, as `urlsplit(url).hostname`; "" when it has none."""
    plain = _PLAIN_HOST.match(url)
    if plain is not None:
        return plain.group(1)
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (now or time.time()))


class Deliverer:
    """The push worker's job handler."""

    def __init__(self, federation: Federation, sender: Sender | None = None) -> None:
        self.federation = federation
        self.sender: Sender = sender if sender is not None else federation.fetcher
        self._bodies: OrderedDict[int, bytes] = OrderedDict()
        instance = federation.instance
        self._instance_auth = HTTPSignatureAuth(
            urls.instance_key_id(instance.settings), instance.instance_keys
        )

    async def _body(self, ref: int) -> bytes | None:
        # A fan-out sends one body to thousands of inboxes: keep the recent ones in memory.
        body = self._bodies.get(ref)
        if body is None:
            text = await self.federation.db.fetchval(
                "SELECT body FROM activities WHERE id = ?", (ref,)
            )
            if text is None:
                return None
            body = str(text).encode()
            self._bodies[ref] = body
            if len(self._bodies) > BODY_CACHE_SIZE:
                self._bodies.popitem(last=False)
        else:
            self._bodies.move_to_end(ref)
        return body

    async def __call__(self, job: Job) -> None:
        federation = self.federation
        queue = federation.push
        inbox = job.payload.get("inbox")
        body = await self._body(job.ref) if job.ref is not None else None
        if not isinstance(inbox, str) or body is None:
            await queue.drop(job, "malformed delivery job")
            return
        host = job.host or ""
        settings = federation.settings
        # Under limited federation only: the URL is not read again for every delivery otherwise.
        if settings.limited_federation and not settings.federates_with(
            target := authority(inbox) or ""
        ):
            await queue.drop(job, f"{target} is not among the servers this one federates with")
            return
        blocked = federation.fetcher.blocked
        if blocked is not None and (domain := blocked(host) or blocked(_host_of(inbox))):
            await queue.drop(job, f"{domain} is a blocked domain")
            return
        if host and await hosts.is_unavailable(federation.db, host):
            await queue.drop(job, f"{host} is unavailable")
            return
        started = time.monotonic()
        try:
            auth = (
                self._instance_auth
                if job.payload.get("signer") == INSTANCE_SIGNER
                else federation.user_auth
            )
            reply = await self.sender.post(inbox, body, auth=auth)
        except (ForbiddenAddress, BadDocument) as error:
            await queue.drop(job, str(error))
            return
        except FetchError as error:
            if host:
                federation.delivery_times.record(host, time.monotonic() - started)
            await self._failed(job, host, str(error), None)
            return
        if host:
            federation.delivery_times.record(host, time.monotonic() - started)
        await self._settle(job, host, reply)

    async def _settle(self, job: Job, host: str, reply: Reply) -> None:
        queue = self.federation.push
        status = reply.status
        if 200 <= status < 300:
            await queue.done(job)
            if host:
                await hosts.delivered(self.federation.db, host)
        elif (400 <= status < 500 and status not in RETRIED_4XX) or status == 501:
            await queue.drop(job, f"HTTP {status} from {reply.url}")
        else:
            wait = retry_after_seconds(reply.headers.get("retry-after"))
            await self._failed(job, host, f"HTTP {status} from {reply.url}", wait)

    async def _failed(self, job: Job, host: str, error: str, wait: float | None) -> None:
        # The host's failure first: whoever sees the job retrying sees the host's count too.
        if host:
            await hosts.record_failure(self.federation.db, host)
        await self.federation.push.fail(job, error, retry_after=wait)
