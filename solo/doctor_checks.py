"""The checks of `solo doctor`, each asking the public URL what a remote server would ask.

Each check returns `Finding`s (ok, warn or fail, with a one-line fix); `solo.doctor` runs them
in order and stores the report. They talk to the instance only through its public URL, over a
client that may reach a private address (the owner's own server may well live on one: the
address check says whether others can reach it).
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
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx

from solo import urls
from solo.config import Settings
from solo.keys import KeyPair
from solo.net.addresses import IPAddress, ip_literal, is_public_address
from solo.net.fetch import is_activity_content_type

Level = Literal["ok", "warn", "fail"]
AS_TYPE: Final = "application/activity+json"
CERT_MARGIN_DAYS: Final = 14
CLOCK_WARN_SECONDS: Final = 60
CLOCK_FAIL_SECONDS: Final = 3600  # peers refuse signatures about an hour off (rule A.5)
GB: Final = 1024**3
NODEINFO_REL: Final = re.compile(r"http://nodeinfo\.diaspora\.software/ns/schema/2\.[01]")


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    message: str
    fix: str = ""


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
                "Address",
                "fail",
                f"{host} does not resolve ({error or 'timed out'})",
                f"add an A (and AAAA) record for {host} pointing at this server's public address",
            )
    ctx.addresses = found
    shown = ", ".join(map(str, found))
    if any(is_public_address(ip) for ip in found):
        return Finding("Address", "ok", f"{host} resolves to {shown}")
    if settings.allow_private_addresses:
        return Finding("Address", "ok", f"{host} resolves to {shown} (private: local use only)")
    return Finding(
        "Address",
        "warn",
        f"{host} resolves only to private addresses ({shown}): other servers cannot reach it",
        f"point the DNS record of {host} at the public address and forward ports 80 and 443",
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
            return Finding("TLS", "ok", "plain http: fine for local tests only")
        return Finding(
            "TLS",
            "fail",
            "the public URL is plain http; other servers only deliver over https",
            'put Caddy (or nginx with certbot) in front and set `scheme = "https"`',
        )
    addresses = [str(ip) for ip in ctx.addresses[:3]] or [host]
    try:
        expires = await asyncio.to_thread(_certificate_expiry, ctx.tls, host, addresses, port)
    except ssl.SSLCertVerificationError as error:
        return Finding(
            "TLS",
            "fail",
            f"the certificate of {host} does not verify: {error.verify_message}",
            "serve a certificate for this name from a public CA (Caddy gets one by itself)",
        )
    except (OSError, ssl.SSLError) as error:
        return Finding(
            "TLS",
            "fail",
            f"no TLS on {host}:{port} ({error})",
            f"is the reverse proxy running and listening on port {port}?",
        )
    days = (expires - time.time()) / 86400
    if days < CERT_MARGIN_DAYS:
        return Finding(
            "TLS",
            "warn",
            f"the certificate of {host} expires in {days:.0f} days",
            "renewal seems stuck: check `certbot renew --dry-run` or Caddy's log",
        )
    return Finding("TLS", "ok", f"the certificate of {host} verifies, {days:.0f} days left")


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
                "Public URL",
                "fail",
                f"{url} answers {response.status_code}: the proxy cannot reach Solo",
                f"start `solo serve` (it listens on {settings.host}:{settings.port}) and point"
                " the proxy's upstream there",
            )
        )
    if response.is_redirect:
        raise Unusable(
            Finding(
                "Public URL",
                "fail",
                f"{url} redirects to {response.headers.get('location', 'nowhere')}",
                "peers ask this exact URL: serve Solo at the configured `domain` and `scheme`,"
                " with no redirect (to www, https or another port) in between",
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
    fix = "the proxy must pass every path to Solo unchanged (`location /` in nginx)"
    return Finding(check, "fail", f"{url} answers {response.status_code}", fix)


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
        return Finding("WebFinger", "fail", f"{url} is not JSON", "is Solo behind this URL?")
    links = document.get("links")
    selves = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("type") == AS_TYPE
    ]
    if not selves:
        return Finding("WebFinger", "fail", "the answer has no self link of type " + AS_TYPE, "")
    if selves[0].get("href") != actor:
        return Finding(
            "WebFinger",
            "fail",
            f"the self link is {selves[0].get('href')}, not {actor}",
            "the server behind this URL runs with another domain or scheme: check `domain`"
            " and `scheme` in solo.toml and the proxy's upstream",
        )
    return Finding("WebFinger", "ok", f"@{settings.username}@{settings.domain} → {actor}")


async def check_host_meta(ctx: Context) -> Finding:
    url = f"{ctx.settings.base_url}/.well-known/host-meta"
    response = await _get(ctx, url, "application/xrd+xml")
    if response.status_code != 200:
        return _unexpected("host-meta", url, response)
    template = re.search(r'rel="lrdd"[^>]*template="([^"]+)"', response.text)
    expected = f"{ctx.settings.base_url}/.well-known/webfinger?resource={{uri}}"
    if template is None or template.group(1).replace("&amp;", "&") != expected:
        found = template.group(1) if template else "none"
        return Finding("host-meta", "fail", f"the lrdd template is {found}, not {expected}", "")
    return Finding("host-meta", "ok", "points WebFinger at " + expected)


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
        return Finding("NodeInfo", "fail", f"{url} links no 2.0 or 2.1 document", "")
    if not href.startswith(base + "/"):
        return Finding("NodeInfo", "fail", f"{url} links {href}, outside {base}", "check `domain`")
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
        return Finding("NodeInfo", "fail", f"{href} names no software or no activitypub", "")
    return Finding("NodeInfo", "ok", f"{href}: {name} {software.get('version', '')}".rstrip())


async def check_actor(ctx: Context) -> Finding:
    settings = ctx.settings
    actor = urls.actor(settings)
    response = await _get(ctx, actor, f'{AS_TYPE}, application/ld+json; profile="x"')
    if response.status_code != 200:
        return _unexpected("Actor", actor, response)
    content_type = response.headers.get("content-type", "")
    if not is_activity_content_type(content_type):
        return Finding(
            "Actor",
            "fail",
            f"{actor} answers {content_type or 'no content type'}, not {AS_TYPE}",
            "the proxy must pass the `Accept` header and not rewrite `Content-Type`",
        )
    document = parse_json(response) or {}
    key = document.get("publicKey")
    key = key if isinstance(key, dict) else {}
    problems = []
    if document.get("type") != "Person":
        problems.append(f"type is {document.get('type')!r}, not 'Person'")
    if document.get("id") != actor:
        problems.append(f"id is {document.get('id')!r}, not the URL fetched")
    if key.get("owner") != actor or key.get("id") != urls.key_id(settings):
        problems.append("publicKey's owner or id is not this actor's")
    elif str(key.get("publicKeyPem", "")).strip() != ctx.keys.public_pem.strip():
        problems.append("its public key is not the one in this data directory")
    if problems:
        return Finding(
            "Actor",
            "fail",
            f"{actor}: " + "; ".join(problems),
            "the URL reaches another server or instance: check the proxy's upstream port",
        )
    return Finding("Actor", "ok", f"{actor} answers as {AS_TYPE}, a Person with its own key")


def check_clock(ctx: Context) -> Finding:
    if ctx.server_date is None:
        return Finding("Clock", "warn", "the public URL sent no Date header to compare with", "")
    server, local = ctx.server_date
    skew = local - server
    shown = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the public answer's Date"
    fix = "keep the clock synchronised: `sudo timedatectl set-ntp true`"
    if abs(skew) > CLOCK_FAIL_SECONDS:
        return Finding("Clock", "fail", f"this clock is {shown}: peers refuse signatures", fix)
    if abs(skew) > CLOCK_WARN_SECONDS:
        return Finding("Clock", "warn", f"this clock is {shown}", fix)
    if abs(skew) <= 1:  # a Date header counts whole seconds
        return Finding("Clock", "ok", "this clock agrees with the public answer's Date")
    return Finding("Clock", "ok", f"this clock is {shown}")


def check_disk(data_dir: Path, min_free_bytes: int, min_free_fraction: float) -> Finding:
    usage = shutil.disk_usage(data_dir)
    free = f"{usage.free / GB:.1f} GB free of {usage.total / GB:.1f} GB"
    if usage.free < min_free_bytes or usage.free < usage.total * min_free_fraction:
        return Finding(
            "Disk",
            "warn",
            f"{data_dir}: only {free}",
            "free some room (`solo media prune`, old backups) or move the data to a bigger disk",
        )
    return Finding("Disk", "ok", f"{data_dir}: {free}")
