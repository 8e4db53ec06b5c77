"""The signed POST of `solo doctor`: a probe signed with the account's key, sent to the public
inbox, whose answer (see `solo.federation.doctor_probe`) says what the proxy did to it."""

from __future__ import annotations

import json
import secrets
from typing import Any, Final
from urllib.parse import urlsplit

from solo import urls
from solo.catalogues import N_
from solo.doctor_checks import AS_TYPE, Context, parse_json, through_proxy
from solo.doctor_findings import SIGNED_POST, Finding
from solo.federation.doctor_probe import ANSWER_KIND, PROBE_TYPE
from solo.federation.signatures import sign_headers
from solo.net.addresses import ip_literal

NGINX_HOST: Final = "`proxy_set_header Host $host;`"
FORWARDED: Final = "X-Forwarded-*"


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
            SIGNED_POST,
            "fail",
            N_(
                "signatures fail: the proxy rewrites Host (Solo saw %(seen)s, peers sign"
                " %(signed)s)"
            ),
            N_("pass Host unchanged: nginx: %(directive)s (Caddy's %(caddy)s keeps it)"),
            {
                "seen": repr(seen.get("host")),
                "signed": repr(parts.netloc),
                "directive": NGINX_HOST,
                "caddy": "`reverse_proxy`",
            },
        )
    if seen.get("target") != parts.path:
        return Finding(
            SIGNED_POST,
            "fail",
            N_(
                "signatures fail: the proxy changes the path (Solo saw %(seen)s, peers sign"
                " %(signed)s)"
            ),
            N_("nginx: %(directive)s with no path after the port"),
            {
                "seen": repr(seen.get("target")),
                "signed": repr(parts.path),
                "directive": "`proxy_pass http://127.0.0.1:PORT;`",
            },
        )
    return Finding(
        SIGNED_POST,
        "fail",
        N_("signatures fail: the proxy changes a signed header (Date, Digest or Content-Type)"),
        N_(
            "let the proxy pass requests through untouched (no header rewriting, no body"
            " buffering that re-encodes)"
        ),
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
            401: N_("a signature refused as received: is the clock right? %(answer)s"),
            403: N_(
                "this server refused the probe of its own account: the URL reaches another"
                " instance? %(answer)s"
            ),
            404: N_("the inbox is not found: the proxy changes the path"),
            413: N_("the proxy refuses small POST bodies (nginx %(directive)s)"),
            429: N_("too many doctor runs this minute; run again in a minute"),
        }.get(response.status_code, "")
        return [
            Finding(
                SIGNED_POST,
                "warn" if response.status_code == 429 else "fail",
                N_("a signed POST to %(inbox)s answers %(status)s"),
                hint or N_("is the server behind this URL a Solo of this version?"),
                {
                    "inbox": inbox,
                    "status": str(response.status_code),
                    "answer": response.text[:200],
                    "directive": "`client_max_body_size`",
                },
            )
        ]
    if not seen.get("verified"):
        return [_altered(ctx, inbox, seen)]
    message = N_("a signed POST to %(inbox)s verifies end to end")
    findings = [Finding(SIGNED_POST, "ok", message, "", {"inbox": inbox})]
    findings.append(_forwarded(ctx, seen))
    return findings


def _forwarded(ctx: Context, seen: dict[str, Any]) -> Finding:
    scheme = ctx.settings.scheme
    if seen.get("scheme") != scheme:
        return Finding(
            FORWARDED,
            "warn",
            N_("Solo sees %(seen)s requests, but the public URL is %(scheme)s"),
            N_("nginx: %(directive)s (Caddy sets it by itself)"),
            {
                "seen": repr(seen.get("scheme")),
                "scheme": scheme,
                "directive": "`proxy_set_header X-Forwarded-Proto $scheme;`",
            },
        )
    client = ip_literal(str(seen.get("client", "")))
    reached_loopback = all(ip.is_loopback for ip in ctx.addresses)
    if client is not None and client.is_loopback and not reached_loopback:
        return Finding(
            FORWARDED,
            "warn",
            N_("Solo sees every request coming from the proxy's own address"),
            "nginx: %(directive)s",
            {"directive": "`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`"},
        )
    message = N_("Solo sees %(scheme)s requests from %(client)s")
    return Finding(FORWARDED, "ok", message, "", {"scheme": scheme, "client": str(client)})
