"""The signed POST of `solo doctor`: a probe signed with the account's key, sent to the public
inbox, whose answer (see `solo.federation.doctor_probe`) says what the proxy did to it."""

from __future__ import annotations

import json
import secrets
from typing import Any, Final
from urllib.parse import urlsplit

from solo import urls
from solo.doctor_checks import AS_TYPE, Context, Finding, parse_json, through_proxy
from solo.federation.doctor_probe import ANSWER_KIND, PROBE_TYPE
from solo.federation.signatures import sign_headers
from solo.net.addresses import ip_literal

NGINX_HOST: Final = "nginx: `proxy_set_header Host $host;` (Caddy's `reverse_proxy` keeps it)"


def _probe(ctx: Context, inbox: str) -> tuple[bytes, dict[str, str]]:
    settings = ctx.settings
    body = json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{urls.actor(settings)}#doctor-probe-{secrets.token_hex(8)}",
            "type": PROBE_TYPE,
            "actor": urls.actor(settings),
            "to": inbox,
        }
    ).encode()
    headers = {"Content-Type": AS_TYPE}
    headers.update(
        sign_headers(
            "POST",
            inbox,
            headers,
            body,
            key_id=urls.key_id(settings),
            private_key=ctx.keys.private_key(),
        )
    )
    return body, headers


def _altered(ctx: Context, inbox: str, seen: dict[str, Any]) -> Finding:
    parts = urlsplit(inbox)
    if str(seen.get("host", "")).lower() != parts.netloc.lower():
        return Finding(
            "Signed POST",
            "fail",
            f"signatures fail: the proxy rewrites Host (Solo saw {seen.get('host')!r},"
            f" peers sign {parts.netloc!r})",
            "pass Host unchanged: " + NGINX_HOST,
        )
    if seen.get("target") != parts.path:
        return Finding(
            "Signed POST",
            "fail",
            f"signatures fail: the proxy changes the path (Solo saw {seen.get('target')!r},"
            f" peers sign {parts.path!r})",
            "nginx: `proxy_pass http://127.0.0.1:PORT;` with no path after the port",
        )
    return Finding(
        "Signed POST",
        "fail",
        "signatures fail: the proxy changes a signed header (Date, Digest or Content-Type)",
        "let the proxy pass requests through untouched (no header rewriting, no body buffering"
        " that re-encodes)",
    )


async def check_signed_post(ctx: Context) -> list[Finding]:
    settings = ctx.settings
    inbox = urls.shared_inbox(settings)
    body, headers = _probe(ctx, inbox)
    response = await ctx.client.post(inbox, content=body, headers=headers)
    response = through_proxy(settings, response)
    seen = parse_json(response) if response.status_code == 200 else None
    if seen is None or seen.get("kind") != ANSWER_KIND:
        hint = {
            401: "a signature refused as received: is the clock right? " + response.text[:200],
            403: "this server refused the probe of its own account: the URL reaches another"
            " instance? " + response.text[:200],
            404: "the inbox is not found: the proxy changes the path",
            413: "the proxy refuses small POST bodies (nginx `client_max_body_size`)",
            429: "too many doctor runs this minute; run again in a minute",
        }.get(response.status_code, "")
        return [
            Finding(
                "Signed POST",
                "warn" if response.status_code == 429 else "fail",
                f"a signed POST to {inbox} answers {response.status_code}",
                hint or "is the server behind this URL a Solo of this version?",
            )
        ]
    if not seen.get("verified"):
        return [_altered(ctx, inbox, seen)]
    findings = [Finding("Signed POST", "ok", f"a signed POST to {inbox} verifies end to end")]
    findings.append(_forwarded(ctx, seen))
    return findings


def _forwarded(ctx: Context, seen: dict[str, Any]) -> Finding:
    scheme = ctx.settings.scheme
    if seen.get("scheme") != scheme:
        return Finding(
            "X-Forwarded-*",
            "warn",
            f"Solo sees {seen.get('scheme')!r} requests, but the public URL is {scheme}",
            "nginx: `proxy_set_header X-Forwarded-Proto $scheme;` (Caddy sets it by itself)",
        )
    client = ip_literal(str(seen.get("client", "")))
    reached_loopback = all(ip.is_loopback for ip in ctx.addresses)
    if client is not None and client.is_loopback and not reached_loopback:
        return Finding(
            "X-Forwarded-*",
            "warn",
            "Solo sees every request coming from the proxy's own address",
            "nginx: `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`",
        )
    return Finding("X-Forwarded-*", "ok", f"Solo sees {scheme} requests from {client}")
