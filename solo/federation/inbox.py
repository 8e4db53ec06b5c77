"""POST /inbox and /users/<name>/inbox: verify, store, answer 202 (FEDERATION.md rule 19).

Order of checks: the size (BodyLimit middleware, 413), JSON (400), a Delete or Update of an
unknown actor by itself (202 with no fetch), the signature without the key (401), blocked
domains and, under limited federation, domains outside the allowlist (403), the key from the
cache or fetched, with one refetch on failure (401), the signer is the activity's actor (401),
duplicates dropped, then one durable ingress job and 202.

The hot path touches the database once: blocked domains and hosts with delivery failures are
sets in memory (`_Hosts`, reloaded after a change to them commits), keys come from the
resolver's cache, and the activity with its job is written in a batch with the others arriving
meanwhile (`solo.federation.inbox_writes`). A 202 leaves only after that batch commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import sqlite3
import time
from typing import Any
from urllib.parse import urldefrag

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from solo import json_input, urls
from solo.activitystreams import id_of
from solo.config import Settings
from solo.db import Database
from solo.errors import BadRequest, Forbidden, NotFound, RequestError, Unauthorized
from solo.federation import doctor_probe
from solo.federation.context import Federation, federation_of
from solo.federation.inbox_writes import writes_of
from solo.federation.per_federation import PerFederation
from solo.federation.remote_actors import authority, same_origin
from solo.federation.signatures import prepare_fields
from solo.federation.signers import KeyGone, signing_key
from solo.federation.traffic import traffic_of
from solo.store import actors as actor_store
from solo.store import hosts, refusals
from solo.store import relays as relay_store

ACCEPTED = Response(status_code=202)
RETRY_AFTER_SECONDS = 10
MAX_VERDICTS = 10_000  # sending servers remembered as welcome or not; then forgotten at once
_KEY_ID = re.compile(r'keyId="([^"]*)"')

log = logging.getLogger(__name__)


class _Hosts:
    """Blocked domains and hosts with delivery failures, in memory for the inbox.

    Each set is read once, and again after a transaction changing its table commits; a set read
    while such a change was committing is used once but not kept. So is the verdict on each
    sending server (blocked, outside the allowlist, or welcome), until the blocklist changes."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._blocked: frozenset[str] | None = None
        self._failing: frozenset[str] | None = None
        self._verdicts: dict[str, str | None] = {}
        self._ready: asyncio.Future[None] | None = None

    @classmethod
    async def of(cls, federation: Federation) -> _Hosts:
        slot = _hosts_of(federation)
        if not slot:
            slot.append(cls(federation.db, federation.settings))
        view = slot[0]
        if view._ready is None:
            view._ready = asyncio.ensure_future(view._watch())
        if not view._ready.done():
            await asyncio.shield(view._ready)
        return view

    async def _watch(self) -> None:
        await self.db.watch("domain_blocks", "domain", self._blocks_changed)
        await self.db.watch("hosts", "domain", self._hosts_changed)

    def _blocks_changed(self, _: frozenset[Any]) -> None:
        self._blocked = None
        self._verdicts = {}

    async def refusal(self, domain: str) -> str | None:
        """Why the server at `domain` (host[:port]) may not deliver here, or None."""
        verdicts = self._verdicts
        if domain in verdicts:
            return verdicts[domain]
        if await self.is_blocked(domain.split(":")[0]):
            verdict: str | None = f"{domain} is blocked here."
        elif not self.settings.federates_with(domain):
            verdict = f"{domain} is not among the servers this one federates with."
        else:
            verdict = None
        if self._blocked is not None and verdicts is self._verdicts:  # the blocklist stood
            if len(verdicts) >= MAX_VERDICTS:
                verdicts.clear()
            verdicts[domain] = verdict
        return verdict

    def _hosts_changed(self, _: frozenset[Any]) -> None:
        self._failing = None

    async def _load(self, table: str, sql: str) -> tuple[frozenset[str], bool]:
        version = self.db.version(table)
        rows = await self.db.fetchall(sql)
        return frozenset(row[0] for row in rows), self.db.version(table) == version

    async def is_blocked(self, domain: str) -> bool:
        """As `hosts.is_blocked`: `domain` or a parent domain of it is blocked."""
        blocked = self._blocked
        if blocked is None:
            blocked, current = await self._load("domain_blocks", "SELECT domain FROM domain_blocks")
            if current:
                self._blocked = blocked
        parts = domain.lower().split(".")
        return any(".".join(parts[i:]) in blocked for i in range(len(parts)))

    async def heard_from(self, domain: str) -> None:
        """As `hosts.heard_from`, without a query for a host that has no failures."""
        failing = self._failing
        if failing is None:
            failing, current = await self._load(
                "hosts", "SELECT domain FROM hosts WHERE failure_days > 0 OR unavailable = 1"
            )
            if current:
                self._failing = failing
        if domain in failing:
            await hosts.heard_from(self.db, domain)


_hosts_of: PerFederation[list[_Hosts]] = PerFederation(list)  # one _Hosts per federation


def _parse(body: bytes) -> tuple[dict[str, Any], str, str]:
    """The activity, its actor and the actor's host[:port]."""
    try:
        activity = json_input.parse_object(body)
    except json_input.BadJSON as error:
        raise BadRequest(f"The body {error}.") from None
    if not isinstance(activity.get("type"), str):
        raise BadRequest("The activity has no type.")
    actor = id_of(activity.get("actor"))
    host = None if actor is None else authority(actor)
    if actor is None or host is None:
        raise BadRequest("The activity has no http(s) actor.")
    return activity, actor, host


def authority_under(url: str, base: str, base_authority: str) -> str | None:
    """`authority(url)`, given `base_authority`, which is `authority(base)`: the same answer
    without parsing `url` again when it is `base` followed by a path, a query or a fragment
    (a keyId `actor#main-key`, an activity `actor#likes/1`), whose host ends where base's does."""
    if url.startswith(base) and url[len(base) : len(base) + 1] in ("/", "?", "#"):
        return base_authority
    return authority(url)


def activity_key(
    activity: dict[str, Any], body: bytes, signer: str, signer_host: str | None = None
) -> str:
    """What deduplicates an activity: its id when it lives on the signer's host, else the id,
    or the type and object (GoToSocial's Delete has no id), prefixed with the signer; else a
    hash of the bytes (which name the actor, who is the signer).

    A key another server could write first is scoped by signer: a forger claiming the author's
    predictable id (`…#delete`, or a bare `object#Delete`) would otherwise make the author's
    own activity a "duplicate", never applied (rule 39). Spaces never occur in a URL, so a
    scoped key cannot collide with an activity's id. `signer_host`: `authority(signer)`, when
    the caller has it."""
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and activity_id:
        if signer_host is None:
            ours = same_origin(activity_id, signer)
        else:
            ours = authority_under(activity_id, signer, signer_host) == signer_host
        return activity_id if ours else f"{signer} {activity_id}"
    object_id = id_of(activity.get("object"))
    if object_id:
        return f"{signer} {activity['type']} {object_id}"
    return "sha256:" + hashlib.sha256(body).hexdigest()


async def _actor_gone(federation: Federation, actor_id: str, key_id: str) -> bool:
    """Whether the actor's own document answers 410 (rule 38). The keyId's 410 proves only that
    document gone: any other gone URL on the actor's host would otherwise delete the actor."""
    if urldefrag(key_id).url == actor_id:
        return True  # the 410 just seen was the actor's own document
    return await federation.resolver.is_gone(actor_id)


async def _relayed(
    federation: Federation, activity: dict[str, Any], signer: str
) -> dict[str, Any] | None:
    """A Create forwarded by one of our accepted relays (signed by the relay, not by the
    author), as the relay's share of the object: its copy is not believed, the object is
    fetched from its origin as for an Announce. None for anything else."""
    if activity.get("type") != "Create":
        return None
    object_id = id_of(activity.get("object"))
    relay = await relay_store.by_actor(federation.db, signer)
    if object_id is None or relay is None or relay.state != "accepted":
        return None
    share: dict[str, Any] = {"type": "Announce", "actor": signer, "object": object_id}
    if isinstance(activity.get("id"), str):
        share["id"] = activity["id"]
    return share


def job_payload(body: bytes | None, activity: dict[str, Any], actor: str) -> str:
    """The ingress job `{"activity": …, "actor": actor}` as JSON text. With the `body` that
    parsed as `activity` (by `json_input`, which refuses anything `json.loads` would read
    differently), the activity is that text as received: encoding the parsed dict again cost
    the hot path more than the rest of the job. A body in another encoding than UTF-8 (or with
    a BOM) is encoded again, as is an activity Solo made up (`_relayed`)."""
    actor_text = json.dumps(actor)
    if body is not None and json.detect_encoding(body) == "utf-8":
        try:
            text = body.decode()
        except UnicodeDecodeError:
            pass  # lone surrogates, which `json_input` reads as escapes would be
        else:
            return '{"activity":' + text + ',"actor":' + actor_text + "}"
    return json.dumps({"activity": activity, "actor": actor}, separators=(",", ":"))


def fields_of(scope: Scope) -> dict[str, list[str]]:
    """The request's header fields as `header_fields` collects them: values by lowercased name,
    as text (Latin-1, as Starlette decodes them)."""
    fields: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        text = name.decode("latin-1").lower()
        if text in fields:
            fields[text].append(value.decode("latin-1"))
        else:
            fields[text] = [value.decode("latin-1")]
    return fields


def target_of(scope: Scope) -> str:
    """The request target as received (path and query), which the signature covers."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (raw_path + b"?" + query if query else raw_path).decode("latin-1")


def username_of(scope: Scope) -> str | None:
    """NAME of `/users/NAME/inbox`; None for the shared inbox and the instance actor's."""
    path: str = scope["path"]
    return path.split("/")[2] if path.startswith("/users/") else None


async def receive(request: Request) -> Response:
    """The inbox as a Starlette endpoint; `solo.federation.inbox_lane` serves the same POSTs
    without Starlette's request and response objects."""
    federation = federation_of(request)
    traffic = traffic_of(federation)
    traffic.arrived()  # the ingress worker stands aside meanwhile (solo.federation.traffic)
    try:
        body = await request.body()
        fields = fields_of(request.scope)
        try:
            return await accept(request.scope, federation, fields, body)
        except RequestError as error:
            await record_refusal(federation, request.scope, fields, body, error)
            raise
    finally:
        traffic.answered()


async def record_refusal(
    federation: Federation,
    scope: Scope,
    fields: dict[str, list[str]],
    body: bytes,
    error: RequestError,
) -> None:
    """Keep who was refused and why, for `solo queue`; a failing database only logs it."""
    try:
        activity = json_input.parse_object(body)
    except json_input.BadJSON:
        activity = {}
    sender = id_of(activity.get("actor")) or ""
    raw_type = activity.get("type")
    kind = raw_type if isinstance(raw_type, str) else ""
    if not sender:
        signature = fields.get("signature", [""])[0]
        match = _KEY_ID.search(signature)
        sender = match.group(1) if match else ""
    client = scope.get("client")
    if not sender and client is not None:
        sender = client[0]
    try:
        await refusals.record(federation.db, sender, kind, error.message, status=error.status)
    except sqlite3.Error as failure:
        log.warning("could not record a refused activity: %s", failure)


async def accept(
    scope: Scope, federation: Federation, fields: dict[str, list[str]], body: bytes
) -> Response:
    """Verify and store one inbox POST (its body read, within the size limit; `fields` as
    `fields_of` gives them): `ACCEPTED`, or another answer; a refusal raises RequestError."""
    settings = federation.settings
    username = username_of(scope)
    if username is not None and username != settings.username:
        raise NotFound(f"There is no account called {username} here.")
    activity, actor_id, actor_host = _parse(body)
    kind = activity["type"]
    if kind == doctor_probe.PROBE_TYPE:
        # Answered apart, never stored nor recorded as a refusal (see doctor_probe).
        return await doctor_probe.answer(Request(scope), federation, activity, body)
    if (
        kind in ("Delete", "Update")
        and id_of(activity.get("object")) == actor_id
        # Asked first: once its fetch is over, the actor's row is committed and read below.
        and not federation.resolver.fetching(actor_id)
        and await actor_store.get_actor(federation.db, actor_id) is None
    ):
        # An account we never knew deleting or updating itself: nothing to do, nothing to fetch.
        # (Not one whose first activity is being verified: its Follow would outlive the Delete.)
        return ACCEPTED
    prepared = prepare_fields(
        scope["method"],
        target_of(scope),
        fields,
        body,
        now=time.time(),
        scheme=settings.scheme,
        expected_host=settings.domain,
    )
    key_host = authority_under(prepared.key_id, actor_id, actor_host)
    if key_host is None:
        raise Unauthorized("The keyId is not an http(s) URL.")
    known_hosts = await _Hosts.of(federation)
    for domain in (key_host,) if key_host == actor_host else (key_host, actor_host):
        refusal = await known_hosts.refusal(domain)
        if refusal is not None:
            raise Forbidden(refusal)
    try:
        # Not waiting for the signer's row: our write of the activity is queued after it.
        signing = await signing_key(federation, prepared, stored=False)
    except KeyGone:
        if (
            kind == "Delete"
            and id_of(activity.get("object")) == actor_id
            and key_host == actor_host  # only the actor's own server can say it is gone
            and await _actor_gone(federation, actor_id, prepared.key_id)
        ):
            # Rule 20: the account is gone (410) and says so; forget everything of theirs.
            async with federation.db.transaction() as conn:
                await actor_store.delete_actor(conn, actor_id)
            await federation.feeds.rebuild()
            return ACCEPTED
        raise Unauthorized(
            f"The key {prepared.key_id} answers 410 Gone, so the signature cannot be checked;"
            f" unsigned, only a Delete of {actor_id} is taken, when {actor_id} answers 410 too."
        ) from None
    signer = signing.actor
    received: bytes | None = body  # what the job carries: these bytes, or `activity` encoded
    if signer.ap_id != actor_id:
        relayed = await _relayed(federation, activity, signer.ap_id)
        if relayed is None:
            raise Unauthorized(f"Signed by {signer.ap_id}, but the activity's actor is {actor_id}.")
        activity, kind, received = relayed, relayed["type"], None
    await known_hosts.heard_from(signer.domain)
    job = job_payload(received, activity, signer.ap_id)
    # A relay signs what it forwards: then the signer's host is not the actor's.
    signer_host = actor_host if signer.ap_id == actor_id else None
    try:
        key = activity_key(activity, body, signer.ap_id, signer_host)
        added = await writes_of(federation).store(
            federation.db, key, kind, job, time.time(), after=signing.row_queued
        )
    except sqlite3.OperationalError:
        # Not stored (the disk is full, the database locked too long…): the sender retries.
        return Response(
            "Cannot store the activity now; try again later.",
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if added:
        federation.ingress.wake.set()
    return ACCEPTED


routes: list[BaseRoute] = [
    Route("/inbox", receive, methods=["POST"]),
    # The instance actor's own: relays deliver there (it follows them).
    Route(f"{urls.INSTANCE_ACTOR_PATH}/inbox", receive, methods=["POST"]),
    Route("/users/{username}/inbox", receive, methods=["POST"]),
]
