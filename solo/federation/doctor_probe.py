"""The inbox's answer to `solo doctor`'s probe: proof that a signed POST survives the proxy.

`solo doctor` signs a small `SoloDoctorProbe` activity with the account's own key and POSTs it
to the public inbox URL, as a peer would. The inbox hands such a body here before anything else,
and this answers it without storing, fetching or recording anything:

- Only this server's own actor and key may probe (403 otherwise), at most `PROBES_PER_MINUTE`
  per client address (429); the key is the one in memory, never fetched.
- A probe that verifies as received answers 200 with what the server saw (Host, path, scheme,
  client address), so the doctor can compare it with what it sent.
- A probe that does not verify as received, but does verify once the Host and path it was sent
  to (its `to`) are put back, was signed by us and altered on the way: 200 again, with
  `verified: false` and what arrived, so the doctor can name the proxy's mistake.
- Anything else is 401 with no detail: only the key's holder learns what the proxy does.

A captured probe replayed within the signature's time window gets the same answer again and
changes nothing, so replay gives nothing away.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from solo import urls
from solo.federation.context import Federation
from solo.federation.signatures import SignatureError, prepare, verify
from solo.federation.signers import request_target

PROBE_TYPE: Final = "SoloDoctorProbe"
PROBES_PER_MINUTE: Final = 10
ANSWER_KIND: Final = "solo-doctor-probe"  # names the 200 answer, which no other POST gets


MAX_CLIENTS: Final = 1000


class ProbeLimit:
    """At most `PROBES_PER_MINUTE` probes a minute per client address, for a bounded number
    of addresses (the oldest is forgotten first)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def wait(self, client: str, now: float) -> int | None:
        """Count a probe from `client` and answer None, or the seconds to wait."""
        hits = self._hits.pop(client, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(self._hits) >= MAX_CLIENTS:
            del self._hits[next(iter(self._hits))]
        self._hits[client] = hits
        if len(hits) >= PROBES_PER_MINUTE:
            return max(1, int(hits[0] + 60 - now) + 1)
        hits.append(now)
        return None


def _limit(request: Request) -> ProbeLimit:
    limit: ProbeLimit | None = getattr(request.app.state, "doctor_probes", None)
    if limit is None:
        limit = ProbeLimit()
        request.app.state.doctor_probes = limit
    return limit


def _seen(request: Request, verified: bool) -> dict[str, Any]:
    return {
        "kind": ANSWER_KIND,
        "verified": verified,
        "host": request.headers.get("host", ""),
        "target": request_target(request),
        "scheme": request.url.scheme,
        "client": request.client.host if request.client is not None else "",
    }


def _as_sent(
    request: Request, activity: dict[str, Any]
) -> tuple[str, list[tuple[str, str]]] | None:
    """The target and headers of the probe as the doctor sent them, from its `to`."""
    sent_to = activity.get("to")
    if not isinstance(sent_to, str):
        return None
    parts = urlsplit(sent_to)
    if not parts.netloc or not parts.path:
        return None
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
    headers.append(("host", parts.netloc))
    return parts.path + (f"?{parts.query}" if parts.query else ""), headers


async def answer(
    request: Request, federation: Federation, activity: dict[str, Any], body: bytes
) -> Response:
    settings = federation.settings
    client = request.client.host if request.client is not None else ""
    wait = _limit(request).wait(client, time.monotonic())
    if wait is not None:
        return PlainTextResponse(
            "Too many doctor probes; try again in a minute.",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    if activity.get("actor") != urls.actor(settings):
        return PlainTextResponse(
            "Doctor probes are taken only from this server's own account.", status_code=403
        )
    public_key = federation.instance.user_keys.public_pem
    now = time.time()
    try:
        prepared = prepare(
            request.method, request_target(request), request.headers.items(), body, now=now
        )
    except SignatureError as error:
        return PlainTextResponse(f"The probe's signature is refused: {error}", status_code=401)
    if prepared.key_id != urls.key_id(settings):
        return PlainTextResponse(
            "Doctor probes are taken only from this server's own key.", status_code=403
        )
    try:
        verify(prepared, public_key)
    except SignatureError:
        pass
    else:
        return JSONResponse(_seen(request, True))
    sent = _as_sent(request, activity)
    if sent is not None:
        target, headers = sent
        try:
            verify(prepare(request.method, target, headers, body, now=now), public_key)
        except SignatureError:
            pass
        else:
            return JSONResponse(_seen(request, False))
    return PlainTextResponse("The probe's signature does not verify.", status_code=401)
