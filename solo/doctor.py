"""`solo doctor`: check a live instance from outside, the way a remote server would.

The checks (in `solo.doctor_checks`) run in order against the public URL: the address, TLS,
WebFinger, host-meta, NodeInfo, the actor, a signed POST to the inbox (the proxy's handling of
Host, the path and X-Forwarded-*), the clock, then the disk. The report goes to
`<data dir>/doctor.json`, which the owner's `/server/doctor` page shows.
"""

from __future__ import annotations

import dataclasses
import json
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from solo.catalogues import N_
from solo.config import Settings
from solo.doctor_checks import (
    Context,
    Unusable,
    check_actor,
    check_address,
    check_clock,
    check_disk,
    check_host_meta,
    check_nodeinfo,
    check_tls,
    check_webfinger,
)
from solo.doctor_findings import GB, PUBLIC_URL, Finding
from solo.doctor_signed import check_signed_post
from solo.keys import KeyPair
from solo.net.addresses import AddressRefused, PinnedTransport, is_public_address

REPORT_NAME: Final = "doctor.json"
MIN_FREE_BYTES: Final = GB
MIN_FREE_FRACTION: Final = 0.05
TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)

__all__ = ["Finding", "Report", "examine", "load_report", "save_report"]


@dataclass(frozen=True)
class Report:
    url: str
    at: float  # when the run started (Unix time)
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(finding.level == "fail" for finding in self.findings)

    @property
    def warned(self) -> bool:
        return any(finding.level == "warn" for finding in self.findings)

    def lines(self) -> list[str]:
        """The report as `solo doctor` prints it: one line per finding, one per fix."""
        out = [f"Checking {self.url} as another server would:"]
        for finding in self.findings:
            out.append(f"{finding.level:4}  {finding.check:14} {finding.text}")
            if finding.fix and finding.level != "ok":
                out.append(f"{'':20}fix: {finding.fix_text}")
        return out


def _client(settings: Settings, tls: ssl.SSLContext) -> httpx.AsyncClient:
    # The owner's own server may sit on a private address; the address check reports that.
    reach_any = dataclasses.replace(settings, allow_private_addresses=True)
    return httpx.AsyncClient(
        transport=PinnedTransport(reach_any, tls, connections=4),
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": "solo-doctor"},
    )


def _unreachable(ctx: Context, error: Exception) -> Finding:
    settings = ctx.settings
    fix = N_("is %(command)s running (port %(port)s) and the proxy forwarding to it?")
    if any(is_public_address(ip) for ip in ctx.addresses):
        fix = N_(
            "is %(command)s running (port %(port)s) and the proxy forwarding to it? (Behind a"
            " home router, check from outside too: some cannot loop back.)"
        )
    return Finding(
        PUBLIC_URL,
        "fail",
        N_("cannot reach %(url)s: %(error)s"),
        fix,
        {
            "command": "`solo serve`",
            "port": str(settings.port),
            "url": settings.base_url,
            "error": str(error) or type(error).__name__,
        },
    )


async def examine(
    settings: Settings,
    keys: KeyPair,
    *,
    min_free_bytes: int = MIN_FREE_BYTES,
    min_free_fraction: float = MIN_FREE_FRACTION,
) -> Report:
    """Run every check against `settings.base_url`; never raises for what it finds."""
    started = time.time()
    findings: list[Finding] = []
    # The authorities of every outgoing request of Solo (certifi, or SSL_CERT_FILE).
    tls = httpx.create_ssl_context()
    async with _client(settings, tls) as client:
        ctx = Context(settings, keys, client, tls)
        findings.append(await check_address(ctx))
        if ctx.addresses:
            findings.append(await check_tls(ctx))
        if findings[-1].level != "fail":  # else every request would fail the same way
            http_checks: list[Callable[[Context], Awaitable[Finding | list[Finding]]]] = [
                check_webfinger,
                check_host_meta,
                check_nodeinfo,
                check_actor,
                check_signed_post,
            ]
            for check in http_checks:
                try:
                    found = await check(ctx)
                except (httpx.HTTPError, AddressRefused) as error:
                    findings.append(_unreachable(ctx, error))
                    break
                except Unusable as error:
                    findings.append(error.finding)
                    break
                findings.extend(found if isinstance(found, list) else [found])
            else:
                findings.append(check_clock(ctx))
    findings.append(check_disk(settings.data_dir, min_free_bytes, min_free_fraction))
    return Report(settings.base_url, started, tuple(findings))


def report_path(settings: Settings) -> Path:
    return settings.data_dir / REPORT_NAME


def save_report(settings: Settings, report: Report) -> None:
    """Write the report beside the database, whole or not at all (a rename)."""
    path = report_path(settings)
    data = {
        "url": report.url,
        "at": report.at,
        "findings": [finding.as_json() for finding in report.findings],
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)


def load_report(settings: Settings) -> Report | None:
    """The last stored report, or None when there is none (or it cannot be read)."""
    try:
        data: Any = json.loads(report_path(settings).read_text())
        findings = (Finding.from_json(f) for f in data["findings"])
        return Report(
            str(data["url"]),
            float(data["at"]),
            tuple(finding for finding in findings if finding is not None),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
