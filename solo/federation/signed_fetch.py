"""Signed GETs: who is asking for one of our followers-only or direct posts, and may they read it.

Peers fetch such a post (to show the parent of a reply they received) with an HTTP signature;
Mastodon serves it when the signer may see it (`StatusPolicy#show?`): a followers-only post to
an accepted follower or an addressee, a direct post to an addressee (FEDERATION.md rule 43).

The signature is checked as the inbox checks it (draft-cavage or RFC 9421 through
`signatures.prepare`/`verify`, the key from the resolver's cache, else fetched once), but a
refusal is no answer here: an unsigned request, a bad signature or a key that cannot be had all
make `signer` answer None, and the post's page then answers 404 exactly as for a post that does
not exist, so nothing tells an outsider that it does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request

from solo.errors import Forbidden, Unauthorized
from solo.federation.context import Federation
from solo.federation.notes import ids_in, mentioned
from solo.federation.remote_actors import authority
from solo.federation.signatures import SignatureMissing, prepare
from solo.federation.signers import KeyGone, request_target, signing_key
from solo.store import follows, hosts, interactions
from solo.store.actors import RemoteActor
from solo.store.statuses import Status

log = logging.getLogger(__name__)


async def verified_signer(request: Request, federation: Federation) -> RemoteActor:
    """The remote actor whose key verifies this request's signature, as the inbox checks it.

    Raises SignatureMissing for an unsigned request, Unauthorized (with the reason) for a
    signature refused or a key that cannot be had, Forbidden when the key's domain is blocked.
    A request that was already verified (by `fetch_gate`) is not verified again."""
    known: RemoteActor | None = getattr(request.state, "signer", None)
    if known is not None:
        return known
    settings = federation.settings
    prepared = prepare(
        request.method,
        request_target(request),
        request.headers.items(),
        b"",
        now=time.time(),
        scheme=settings.scheme,
        expected_host=settings.domain,
    )
    key_host = authority(prepared.key_id)
    if key_host is None:
        raise Unauthorized("The keyId is not an http(s) URL.")
    if await hosts.is_blocked(federation.db, key_host.split(":")[0]):
        raise Forbidden(f"{key_host} is blocked here.")
    try:
        actor = (await signing_key(federation, prepared)).actor
    except KeyGone:
        raise Unauthorized(f"The key {prepared.key_id} answers 410 Gone.") from None
    request.state.signer = actor
    return actor


async def signer(request: Request, federation: Federation) -> RemoteActor | None:
    """The remote actor whose key verifies this request's signature; None when it is unsigned,
    the signature is refused, its key cannot be had or its domain is blocked."""
    try:
        return await verified_signer(request, federation)
    except SignatureMissing:
        return None
    except (Unauthorized, Forbidden) as error:  # a refused signature, or no key to be had
        log.info("signed fetch of %s refused: %s", request.url.path, error)
        return None


def addressees(document: dict[str, Any]) -> set[str]:
    """Whom our post names: its `to` and `cc` (mentions among them) and its Mention tags."""
    return ids_in(document.get("to")) | ids_in(document.get("cc")) | mentioned(document)


async def may_read(
    federation: Federation, status: Status, document: dict[str, Any], reader: RemoteActor | None
) -> bool:
    """Whether `reader` (the verified signer, or None) may have our non-public `status`, served
    as `document` (the Note, or the Create wrapping it)."""
    if reader is None or reader.id is None:
        return False
    db = federation.db
    if await interactions.exists(db, "block", actor_id=None, target_actor_id=reader.id):
        return False
    obj = document.get("object")
    named = addressees(document) | (addressees(obj) if isinstance(obj, dict) else set())
    if reader.ap_id in named:
        return True
    if status.visibility != "private":
        return False
    follow = await follows.get_follow(db, "in", reader.id)
    return follow is not None and follow.state == "accepted"
