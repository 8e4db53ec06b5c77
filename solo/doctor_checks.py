"""The checks of `solo doctor`, each asking the public URL what a remote server would ask.

Each check returns `Finding`s (ok, warn or fail, with a one-line fix); `solo.doctor` runs them
in order and stores the report. They talk to the instance only through its public URL, over a
client that may reach a private address (the owner's own server may well live on one: the
address check says whether others can reach it). Their texts are marked with N_ and
translated where a page shows them (`solo.doctor_findings`).
"""

from __future__ import annotations

import asyncio
import email.utils
import fnmatch
import ipaddress
import json
import re
import shutil
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from solo import urls
from solo.catalogues import N_
from solo.config import Settings
from solo.doctor_findings import ACTOR, ADDRESS, CLOCK, DISK, PUBLIC_URL, Finding, Value
from solo.keys import KeyPair
from solo.net.addresses import IPAddress, ip_literal, is_public_address
from solo.net.fetch import is_activity_content_type

AS_TYPE: Final = "application/activity+json"
CERT_MARGIN_DAYS: Final = 14
CLOCK_WARN_SECONDS: Final = 60
CLOCK_FAIL_SECONDS: Final = 3600  # peers refuse signatures about an hour off (rule A.5)
NODEINFO_REL: Final = re.compile(r"http://nodeinfo\.diaspora\.software/ns/schema/2\.[01]")


@dataclass
class Context:
    """What the checks learn on the way: the addresses found, the first Date header seen."""

    settings: Settings
    keys: KeyPair
    client: httpx.AsyncClient
    tls: ssl.SSLContext  # the client's, so both checks trust the same authorities
    addresses: list[IPAddress] = field(default_factory=list)
    server_date: tuple[float, float] | None = None  # (the Date header, local time then)


def host_and_port(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.base_url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.hostname or "").lower(), parts.port or default


async def check_address(ctx: Context) -> Finding:
    settings = ctx.settings
    host, port = host_and_port(settings)
    literal = ip_literal(host)
    if literal is not None:
        found = [literal]
    else:
        mapped = [a for p, a in settings.resolve_map if fnmatch.fnmatchcase(host, p)]
        try:
            if mapped:
                found = [ipaddress.ip_address(mapped[0])]
            else:
                loop = asyncio.get_running_loop()
                async with asyncio.timeout(5):
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found = list(dict.fromkeys(ipaddress.ip_address(i[4][0]) for i in infos))
        except (OSError, TimeoutError, ValueError) as error:
            return Finding(
                ADDRESS,
                "fail",
                N_("%(host)s does not resolve (%(error)s)"),
                N_(
                    "add an A (and AAAA) record for %(host)s pointing at this server's public"
                    " address"
                ),
                {"host": host, "error": str(error) or "timeout"},
            )
    ctx.addresses = found
    values = {"host": host, "addresses": ", ".join(map(str, found))}
    if any(is_public_address(ip) for ip in found):
        return Finding(ADDRESS, "ok", N_("%(host)s resolves to %(addresses)s"), "", values)
    if settings.allow_private_addresses:
        message = N_("%(host)s resolves to %(addresses)s (private: local use only)")
        return Finding(ADDRESS, "ok", message, "", values)
    return Finding(
        ADDRESS,
        "warn",
        N_(
            "%(host)s resolves only to private addresses (%(addresses)s): other servers cannot"
            " reach it"
        ),
        N_("point the DNS record of %(host)s at the public address and forward ports 80 and 443"),
        values,
    )


def _connect(addresses: list[str], port: int) -> socket.socket:
    """A connection to the first of `addresses` that answers (an IPv6 route may be missing)."""
    *others, last = addresses
    for address in others:
        try:
            return socket.create_connection((address, port), timeout=5)
        except OSError:
            continue
    return socket.create_connection((last, port), timeout=5)


def _certificate_expiry(
    context: ssl.SSLContext, host: str, addresses: list[str], port: int
) -> float:
    with (
        _connect(addresses, port) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        certificate = tls.getpeercert()
    not_after = certificate.get("notAfter") if certificate else None
    if not isinstance(not_after, str):
        raise ssl.SSLError("the certificate has no expiry date")
    return ssl.cert_time_to_seconds(not_after)


async def check_tls(ctx: Context) -> Finding:
    settings = ctx.settings
    host, port = host_and_port(settings)
    if settings.scheme != "https":
        if settings.allow_private_addresses:
            return Finding("TLS", "ok", N_("plain http: fine for local tests only"))
        return Finding(
            "TLS",
            "fail",
            N_("the public URL is plain http; other servers only deliver over https"),
            N_("put Caddy (or nginx with certbot) in front and set %(setting)s"),
            {"setting": '`scheme = "https"`'},
        )
    addresses = [str(ip) for ip in ctx.addresses[:3]] or [host]
    try:
        expires = await asyncio.to_thread(_certificate_expiry, ctx.tls, host, addresses, port)
    except ssl.SSLCertVerificationError as error:
        return Finding(
            "TLS",
            "fail",
            N_("the certificate of %(host)s does not verify: %(error)s"),
            N_("serve a certificate for this name from a public CA (Caddy gets one by itself)"),
            {"host": host, "error": str(error.verify_message)},
        )
    except (OSError, ssl.SSLError) as error:
        return Finding(
            "TLS",
            "fail",
            N_("no TLS on %(host)s:%(port)s (%(error)s)"),
            N_("is the reverse proxy running and listening on port %(port)s?"),
            {"host": host, "port": str(port), "error": str(error)},
        )
    days = round((expires - time.time()) / 86400)
    if days < CERT_MARGIN_DAYS:
        return Finding(
            "TLS",
            "warn",
            N_("the certificate of %(host)s expires soon (days left: %(days)s)"),
            N_("renewal seems stuck: check %(command)s or Caddy's log"),
            {"host": host, "days": days, "command": "`certbot renew --dry-run`"},
        )
    message = N_("the certificate of %(host)s verifies (days left: %(days)s)")
    return Finding("TLS", "ok", message, "", {"host": host, "days": days})


class Unusable(Exception):
    """An answer every other request would get too (the proxy has no upstream, or redirects
    everything): its finding ends the HTTP checks."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def through_proxy(settings: Settings, response: httpx.Response) -> httpx.Response:
    url = response.request.url
    if response.status_code in (502, 503, 504):
        raise Unusable(
            Finding(
                PUBLIC_URL,
                "fail",
                N_("%(url)s answers %(status)s: the proxy cannot reach Solo"),
                N_(
                    "start %(command)s (it listens on %(address)s) and point the proxy's upstream"
                    " there"
                ),
                {
                    "url": str(url),
                    "status": str(response.status_code),
                    "command": "`solo serve`",
                    "address": f"{settings.host}:{settings.port}",
                },
            )
        )
    if response.is_redirect:
        raise Unusable(
            Finding(
                PUBLIC_URL,
                "fail",
                N_("%(url)s redirects to %(location)s"),
                N_(
                    "peers ask this exact URL: serve Solo at the configured `domain` and"
                    " `scheme`, with no redirect (to www, https or another port) in between"
                ),
                {"url": str(url), "location": response.headers.get("location", "—")},
            )
        )
    return response


async def _get(ctx: Context, url: str, accept: str) -> httpx.Response:
    response = await ctx.client.get(url, headers={"Accept": accept})
    response = through_proxy(ctx.settings, response)
    if ctx.server_date is None and "date" in response.headers:
        parsed = email.utils.parsedate_to_datetime(response.headers["date"])
        ctx.server_date = (parsed.timestamp(), time.time())
    return response


def parse_json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = json.loads(response.content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _unexpected(check: str, url: str, response: httpx.Response) -> Finding:
    return Finding(
        check,
        "fail",
        N_("%(url)s answers %(status)s"),
        N_("the proxy must pass every path to Solo unchanged (%(directive)s in nginx)"),
        {"url": url, "status": str(response.status_code), "directive": "`location /`"},
    )


async def check_webfinger(ctx: Context) -> Finding:
    settings = ctx.settings
    actor = urls.actor(settings)
    resource = f"acct:{settings.username}@{settings.domain}"
    url = f"{settings.base_url}/.well-known/webfinger?resource={resource}"
    response = await _get(ctx, url, "application/jrd+json")
    document = parse_json(response) if response.status_code == 200 else None
    if response.status_code != 200:
        return _unexpected("WebFinger", url, response)
    if document is None:
        return Finding(
            "WebFinger",
            "fail",
            N_("%(url)s is not JSON"),
            N_("is Solo behind this URL?"),
            {"url": url},
        )
    links = document.get("links")
    selves = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("type") == AS_TYPE
    ]
    if not selves:
        message = N_("the answer has no self link of type %(type)s")
        return Finding("WebFinger", "fail", message, "", {"type": AS_TYPE})
    if selves[0].get("href") != actor:
        return Finding(
            "WebFinger",
            "fail",
            N_("the self link is %(found)s, not %(actor)s"),
            N_(
                "the server behind this URL runs with another domain or scheme: check `domain`"
                " and `scheme` in solo.toml and the proxy's upstream"
            ),
            {"found": str(selves[0].get("href")), "actor": actor},
        )
    handle = f"@{settings.username}@{settings.domain}"
    return Finding(
        "WebFinger", "ok", "%(handle)s → %(actor)s", "", {"handle": handle, "actor": actor}
    )


async def check_host_meta(ctx: Context) -> Finding:
    url = f"{ctx.settings.base_url}/.well-known/host-meta"
    response = await _get(ctx, url, "application/xrd+xml")
    if response.status_code != 200:
        return _unexpected("host-meta", url, response)
    template = re.search(r'rel="lrdd"[^>]*template="([^"]+)"', response.text)
    expected = f"{ctx.settings.base_url}/.well-known/webfinger?resource={{uri}}"
    if template is None or template.group(1).replace("&amp;", "&") != expected:
        values = {"found": template.group(1) if template else "—", "expected": expected}
        message = N_("the lrdd template is %(found)s, not %(expected)s")
        return Finding("host-meta", "fail", message, "", values)
    message = N_("points WebFinger at %(expected)s")
    return Finding("host-meta", "ok", message, "", {"expected": expected})


async def check_nodeinfo(ctx: Context) -> Finding:
    base = ctx.settings.base_url
    url = f"{base}/.well-known/nodeinfo"
    response = await _get(ctx, url, "application/json")
    if response.status_code != 200:
        return _unexpected("NodeInfo", url, response)
    links = (parse_json(response) or {}).get("links")
    hrefs = [
        link.get("href")
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and NODEINFO_REL.fullmatch(str(link.get("rel")))
    ]
    href = next((h for h in reversed(hrefs) if isinstance(h, str)), None)
    if href is None:
        message = N_("%(url)s links no 2.0 or 2.1 document")
        return Finding("NodeInfo", "fail", message, "", {"url": url})
    if not href.startswith(base + "/"):
        return Finding(
            "NodeInfo",
            "fail",
            N_("%(url)s links %(href)s, outside %(base)s"),
            N_("check `domain` in solo.toml"),
            {"url": url, "href": href, "base": base},
        )
    document_response = await _get(ctx, href, "application/json")
    if document_response.status_code != 200:
        return _unexpected("NodeInfo", href, document_response)
    document = parse_json(document_response) or {}
    software = document.get("software")
    software = software if isinstance(software, dict) else {}
    name = software.get("name")
    protocols = document.get("protocols")
    if (
        not isinstance(name, str)
        or not isinstance(protocols, list)
        or "activitypub" not in protocols
    ):
        message = N_("%(href)s names no software or no activitypub")
        return Finding("NodeInfo", "fail", message, "", {"href": href})
    named = f"{name} {software.get('version', '')}".rstrip()
    return Finding(
        "NodeInfo", "ok", "%(href)s: %(software)s", "", {"href": href, "software": named}
    )


async def check_actor(ctx: Context) -> Finding:
    settings = ctx.settings
    actor = urls.actor(settings)
    response = await _get(ctx, actor, f'{AS_TYPE}, application/ld+json; profile="x"')
    if response.status_code != 200:
        return _unexpected("Actor", actor, response)
    content_type = response.headers.get("content-type", "")
    if not is_activity_content_type(content_type):
        return Finding(
            ACTOR,
            "fail",
            N_("%(actor)s answers %(found)s, not %(type)s"),
            N_("the proxy must pass the `Accept` header and not rewrite `Content-Type`"),
            {"actor": actor, "found": content_type or "—", "type": AS_TYPE},
        )
    document = parse_json(response) or {}
    key = document.get("publicKey")
    key = key if isinstance(key, dict) else {}
    # What differs, named as the JSON names it (the same in every language).
    differing = []
    if document.get("type") != "Person":
        differing.append(f"`type` {document.get('type')!r}")
    if document.get("id") != actor:
        differing.append(f"`id` {document.get('id')!r}")
    if key.get("owner") != actor or key.get("id") != urls.key_id(settings):
        differing.append("`publicKey`")
    elif str(key.get("publicKeyPem", "")).strip() != ctx.keys.public_pem.strip():
        differing.append("`publicKeyPem`")
    if differing:
        return Finding(
            ACTOR,
            "fail",
            N_("%(actor)s is not this account's actor (it differs in %(fields)s)"),
            N_("the URL reaches another server or instance: check the proxy's upstream port"),
            {"actor": actor, "fields": ", ".join(differing)},
        )
    message = N_("%(actor)s answers as %(type)s, a Person with its own key")
    return Finding(ACTOR, "ok", message, "", {"actor": actor, "type": AS_TYPE})


def check_clock(ctx: Context) -> Finding:
    if ctx.server_date is None:
        return Finding(CLOCK, "warn", N_("the public URL sent no Date header to compare with"))
    server, local = ctx.server_date
    skew = local - server
    values: dict[str, Value] = {
        "seconds": round(abs(skew)),
        "command": "`sudo timedatectl set-ntp true`",
    }
    fix = N_("keep the clock synchronised: %(command)s")
    if abs(skew) <= 1:  # a Date header counts whole seconds
        return Finding(CLOCK, "ok", N_("this clock agrees with the public answer's Date"))
    if abs(skew) > CLOCK_FAIL_SECONDS:
        message = (
            N_(
                "this clock is %(seconds)s s ahead of the public answer's Date: peers refuse"
                " signatures"
            )
            if skew > 0
            else N_(
                "this clock is %(seconds)s s behind the public answer's Date: peers refuse"
                " signatures"
            )
        )
        return Finding(CLOCK, "fail", message, fix, values)
    message = (
        N_("this clock is %(seconds)s s ahead of the public answer's Date")
        if skew > 0
        else N_("this clock is %(seconds)s s behind the public answer's Date")
    )
    return Finding(CLOCK, "warn" if abs(skew) > CLOCK_WARN_SECONDS else "ok", message, fix, values)


def check_disk(data_dir: Path, min_free_bytes: int, min_free_fraction: float) -> Finding:
    usage = shutil.disk_usage(data_dir)
    values: dict[str, Value] = {
        "path": str(data_dir),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
    }
    if usage.free < min_free_bytes or usage.free < usage.total * min_free_fraction:
        return Finding(
            DISK,
            "warn",
            N_("%(path)s: only %(free_bytes)s free of %(total_bytes)s"),
            N_("free some room (%(command)s, old backups) or move the data to a bigger disk"),
            {**values, "command": "`solo media prune`"},
        )
    return Finding(DISK, "ok", N_("%(path)s: %(free_bytes)s free of %(total_bytes)s"), "", values)
