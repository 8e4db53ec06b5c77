"""Who may GET our ActivityPub documents: authorized fetch ("secure mode") and its gate.

Every ActivityPub answer (the actor, its posts and their activities, the outbox and the other
collections) passes `admit` first:

- A request signed with a key of a blocked domain gets 403, in any mode (FEDERATION.md rule 10:
  the keyId's host is checked before any key is fetched); so does one from a domain outside the
  allowlist under limited federation.
- In secure mode (`authorized_fetch`, or `limited_federation` which implies it, as in Mastodon)
  anything but the actor document needs a signature that verifies (401 with the reason).
- The actor document stays readable unsigned, or nobody could fetch our key to verify what we
  sign: unsigned (or unverified) requesters get the minimal actor Mastodon serves in secure
  mode. The instance actor is always whole, and never asks for a signature, so a peer checking
  our signed fetch never has to sign a fetch of its own that we would check in turn.

Web pages for browsers are not ActivityPub answers and never come here; nor do WebFinger and
NodeInfo, which stay open.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from solo.errors import Forbidden, Unauthorized
from solo.federation import signed_fetch
from solo.federation.context import Federation
from solo.federation.remote_actors import authority
from solo.federation.signatures import SignatureMissing
from solo.store import hosts
from solo.store.actors import RemoteActor

# draft-cavage names it keyId (in Signature), RFC 9421 keyid (in Signature-Input).
_KEY_ID: Final = re.compile(r'keyid="([^"]*)"', re.IGNORECASE)
# What Mastodon shows unsigned requesters of an actor in secure mode (`restrict_fields_to`).
MINIMAL_ACTOR_FIELDS: Final = frozenset(
    {"@context", "id", "type", "preferredUsername", "inbox", "outbox", "publicKey", "endpoints"}
)
UNSIGNED = (
    "This server answers only signed requests (authorized fetch): sign the GET with an HTTP"
    " signature from your server's actor."
)


def _claimed_key_host(request: Request) -> str | None:
    """The host of the keyId the request names, before anything is verified; None if none."""
    for header in ("signature-input", "signature"):
        match = _KEY_ID.search(request.headers.get(header, ""))
        if match:
            return authority(match.group(1)) or ""
    return None


async def check_domain(request: Request, federation: Federation) -> str | None:
    """Forbidden for a keyId of a blocked domain, or of one outside the allowlist (limited
    federation); checked on the claim alone, so no key is ever fetched for them. Returns the
    claimed key's host ('' for a keyId that is no http(s) URL), None for an unsigned request."""
    key_host = _claimed_key_host(request)
    if not key_host:
        return key_host
    settings = federation.settings
    if await hosts.is_blocked(federation.db, key_host.split(":")[0]):
        raise Forbidden(f"{key_host} is blocked here.")
    if not settings.federates_with(key_host):
        raise Forbidden(f"{key_host} is not among the servers this one federates with.")
    return key_host


async def admit(
    request: Request, federation: Federation, *, open_to_all: bool = False
) -> RemoteActor | None:
    """Let this GET of an ActivityPub document through, or raise Forbidden or Unauthorized.

    Returns the verified signer when there is one to know: in secure mode always (unless
    `open_to_all` and the signature failed); otherwise None, since public documents do not
    depend on who asks (and verifying would cost a key fetch for nothing). `open_to_all` is for
    the actor document, readable by anyone not blocked."""
    key_host = await check_domain(request, federation)
    if not federation.settings.secure_fetch:
        return None
    if key_host is None and open_to_all:
        return None
    try:
        return await signed_fetch.verified_signer(request, federation)
    except SignatureMissing:
        if open_to_all:
            return None
        raise Unauthorized(UNSIGNED) from None
    except Unauthorized:
        if open_to_all:
            return None
        raise


def private(response: Response, federation: Federation) -> Response:
    """Mark an answer that depends on who signed for it: never kept in shared caches."""
    response.headers["Vary"] = "Accept, Signature"
    if federation.settings.secure_fetch:
        response.headers["Cache-Control"] = "private"
    return response


def minimal_actor(document: dict[str, Any]) -> dict[str, Any]:
    """The actor as secure mode shows it to requesters it does not know: enough to verify our
    signatures and to deliver to us, nothing of the person."""
    return {key: value for key, value in document.items() if key in MINIMAL_ACTOR_FIELDS}
