"""`solo doctor` against real `solo serve` processes, directly and behind broken proxies; and the
inbox's answer to its probe, which must be useless to anyone but the instance itself."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from solo import urls
from solo.config import Settings
from solo.doctor import load_report
from solo.federation.doctor_probe import PROBE_TYPE, PROBES_PER_MINUTE
from solo.federation.signatures import sign_headers
from tests.fleet import eventually
from tests.processes import SoloProcess, free_port, submit

AS_TYPE = "application/activity+json"


async def run_doctor(node: SoloProcess, *args: str, **environment: str) -> tuple[int, str, str]:
    """`solo doctor` as its owner runs it: a process of its own, with the server's settings."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "solo",
        "doctor",
        *args,
        env={**os.environ, **node.environment, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def line_of(output: str, check: str) -> str:
    lines = output.splitlines()
    for number, line in enumerate(lines):
        if line[6:].startswith(check + " "):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            return line + ("\n" + following if following.strip().startswith("fix:") else "")
    raise AssertionError(f"no {check} line in:\n{output}")


def rows(node: SoloProcess, sql: str) -> int:
    with sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def proxy(backend_port: int, *, host: str | None = None, proto: str | None = None) -> Any:
    """A reverse proxy to 127.0.0.1:`backend_port` that sets Host to `host` (None: unchanged)
    and X-Forwarded-Proto to `proto` (None: not sent), as a misconfigured nginx would."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.lower() not in (b"host", b"x-forwarded-proto", b"x-forwarded-for")
        ]
        original = dict(scope["headers"])[b"host"].decode("latin-1")
        headers.append(("Host", host or original))
        if proto:
            headers.append(("X-Forwarded-Proto", proto))
        target = scope["raw_path"].decode() + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        async with httpx.AsyncClient() as client:
            try:
                response = await client.request(
                    scope["method"],
                    f"http://127.0.0.1:{backend_port}{target}",
                    headers=headers,
                    content=body,
                )
            except httpx.ConnectError:  # as nginx answers when its upstream is down
                response = httpx.Response(502, text="Bad Gateway")
        skipped = (b"content-length", b"transfer-encoding", b"content-encoding", b"connection")
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in skipped],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    return app


@asynccontextmanager
async def serving(
    app: Any, port: int, tls: tuple[Path, Path] | None = None, *, date_header: bool = True
) -> AsyncIterator[None]:
    """`app` on 127.0.0.1:`port`, over TLS with `tls` (certificate file, key file)."""
    certificate, key = tls if tls is not None else (None, None)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            ssl_certfile=certificate,
            ssl_keyfile=key,
            date_header=date_header,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event for "started"
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_doctor_finds_a_healthy_instance_all_ok(tmp_path: Path, template_root: Path) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        await alice.start()
        before = rows(alice, "SELECT count(*) FROM activities") + rows(
            alice, "SELECT count(*) FROM jobs"
        )
        refusals = rows(alice, "SELECT count(*) FROM refusals")
        code, out, err = await run_doctor(alice)
        assert code == 0, out + err
        assert err == ""
        for check in (
            "Address",
            "TLS",
            "WebFinger",
            "host-meta",
            "NodeInfo",
            "Actor",
            "Signed POST",
            "X-Forwarded-*",
            "Clock",
            "Disk",
        ):
            assert line_of(out, check).startswith("ok "), out
        assert "a signed POST to http://alice.test:" in out
        assert "warn" not in out and "fail" not in out
        # The probe left nothing behind: no activity, no job, no refusal.
        after = rows(alice, "SELECT count(*) FROM activities") + rows(
            alice, "SELECT count(*) FROM jobs"
        )
        assert after == before
        assert rows(alice, "SELECT count(*) FROM refusals") == refusals
        report = load_report(alice.settings)
        assert report is not None and not report.failed and not report.warned
        assert report.url == alice.base_url
        assert report.findings[0].check == "Address"

        # The disk threshold is a parameter: asked for more room than any disk has, it warns
        # (and a warning alone does not fail the run).
        code, out, _ = await run_doctor(alice, "--min-free", str(10**18))
        assert code == 0
        disk = line_of(out, "Disk")
        assert disk.startswith("warn") and "GB free of" in disk and "fix: free some room" in disk


async def test_a_proxy_that_rewrites_host_breaks_signatures_and_doctor_says_how_to_fix_it(
    tmp_path: Path, template_root: Path
) -> None:
    public_port = free_port()
    alice = SoloProcess("alice", tmp_path)
    alice.environment["SOLO_DOMAIN"] = f"alice.test:{public_port}"
    async with alice:
        await alice.initialise(template_root)
        await alice.start()
        backend = f"127.0.0.1:{alice.port}"
        async with serving(proxy(alice.port, host=backend), public_port):
            code, out, err = await run_doctor(alice)
        assert code == 1, out + err
        assert "Traceback" not in err
        # Everything unsigned still works through this proxy; only the signature fails.
        assert line_of(out, "WebFinger").startswith("ok ")
        assert line_of(out, "Actor").startswith("ok ")
        signed = line_of(out, "Signed POST")
        assert signed.startswith("fail")
        assert "the proxy rewrites Host" in signed and repr(backend) in signed
        assert "proxy_set_header Host $host;" in signed
        report = load_report(alice.settings)
        assert report is not None and report.failed

        # A proxy that passes Host but claims https on an http URL: signatures verify, and
        # the scheme Solo sees is pointed out.
        async with serving(proxy(alice.port, proto="https"), public_port):
            code, out, err = await run_doctor(alice)
        assert code == 0, out + err
        assert line_of(out, "Signed POST").startswith("ok ")
        forwarded = line_of(out, "X-Forwarded-*")
        assert forwarded.startswith("warn") and "'https'" in forwarded
        assert "X-Forwarded-Proto $scheme" in forwarded


async def test_a_public_url_where_nothing_listens_is_one_clear_failure(
    tmp_path: Path, template_root: Path
) -> None:
    alice = SoloProcess("alice", tmp_path)
    await alice.initialise(template_root)
    nowhere = free_port()
    code, out, err = await run_doctor(alice, SOLO_DOMAIN=f"alice.test:{nowhere}")
    assert code == 1
    assert "Traceback" not in err and err == ""
    failure = line_of(out, "Public URL")
    assert failure.startswith("fail") and f"cannot reach http://alice.test:{nowhere}" in failure
    assert "fix: is `solo serve` running" in failure
    assert line_of(out, "Disk").startswith("ok ")

    # A proxy listens there, but Solo does not run behind it: one failure, not five 502s.
    async with serving(proxy(free_port()), nowhere):
        code, out, err = await run_doctor(alice, SOLO_DOMAIN=f"alice.test:{nowhere}")
    assert code == 1 and err == ""
    failure = line_of(out, "Public URL")
    assert "answers 502: the proxy cannot reach Solo" in failure
    assert "fix: start `solo serve`" in failure
    assert out.count("fail") == 1

    # Something else there redirects: named, with what to do.
    async def redirect(scope: Scope, receive: Receive, send: Send) -> None:
        location = [(b"location", b"https://www.alice.test/")]
        await send({"type": "http.response.start", "status": 301, "headers": location})
        await send({"type": "http.response.body", "body": b""})

    async with serving(redirect, nowhere):
        code, out, err = await run_doctor(alice, SOLO_DOMAIN=f"alice.test:{nowhere}")
    assert code == 1 and err == ""
    failure = line_of(out, "Public URL")
    assert "redirects to https://www.alice.test/" in failure and "no redirect" in failure
    assert out.count("fail") == 1

    # A server whose clock is two hours behind ours (whatever it serves): peers would refuse
    # our signatures, or we theirs.
    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        date = email.utils.formatdate(time.time() - 7200, usegmt=True).encode()
        await send({"type": "http.response.start", "status": 404, "headers": [(b"date", date)]})
        await send({"type": "http.response.body", "body": b""})

    async with serving(late, nowhere, date_header=False):
        code, out, err = await run_doctor(alice, SOLO_DOMAIN=f"alice.test:{nowhere}")
    assert code == 1 and err == ""
    clock = line_of(out, "Clock")
    assert clock.startswith("fail") and "s ahead of" in clock and "peers refuse" in clock
    assert "set-ntp true" in clock


async def test_doctor_before_init_is_one_line(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "solo",
        "--data-dir",
        str(tmp_path / "none"),
        "doctor",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 1
    assert err.decode().startswith("solo: ") and "Traceback" not in err.decode()


# --- The probe, in process: only the instance's own key gets an answer -------------------------


def probe(
    settings: Settings, key: rsa.RSAPrivateKey, **changes: Any
) -> tuple[bytes, dict[str, str]]:
    activity = {
        "type": PROBE_TYPE,
        "id": f"{urls.actor(settings)}#doctor-probe-1",
        "actor": urls.actor(settings),
        "to": urls.shared_inbox(settings),
        **changes.pop("activity", {}),
    }
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AS_TYPE}
    headers.update(
        sign_headers(
            "POST",
            urls.shared_inbox(settings),
            headers,
            body,
            key_id=changes.pop("key_id", urls.key_id(settings)),
            private_key=key,
        )
    )
    return body, headers


async def stored(app: Starlette) -> tuple[int, ...]:
    db = app.state.federation.db
    counts = []
    for table in ("activities", "jobs", "refusals", "actors"):
        row = await db.fetchone(f"SELECT count(*) FROM {table}")
        counts.append(int(row[0]))
    return tuple(counts)


async def test_the_probe_answers_only_its_own_key_and_stores_nothing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    own = app.state.instance.user_keys.private_key()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    before = await stored(app)

    body, headers = probe(settings, own)
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 200
    seen = response.json()
    assert seen["verified"] is True and seen["host"] == settings.domain
    assert seen["target"] == "/inbox"

    # Another key claiming our key id does not verify, and learns nothing of what arrived.
    body, headers = probe(settings, other)
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401
    assert "host" not in response.text.lower()

    # Someone else's key id, or someone else as the actor: refused before any fetch.
    body, headers = probe(settings, other, key_id="https://evil.example/actor#main-key")
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 403
    evil = {"actor": "https://evil.example/actor"}
    body, headers = probe(settings, other, activity=evil, key_id=evil["actor"] + "#main-key")
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 403

    # Unsigned: 401 with the reason.
    body, _ = probe(settings, own)
    response = await client.post("/inbox", content=body, headers={"Content-Type": AS_TYPE})
    assert response.status_code == 401

    # Our own probe altered on the way (Host rewritten): named as such.
    body, headers = probe(settings, own)
    headers["Host"] = "127.0.0.1:8000"
    response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["verified"] is False
    assert response.json()["host"] == "127.0.0.1:8000"

    assert await stored(app) == before


async def test_probes_are_rate_limited(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    own = app.state.instance.user_keys.private_key()
    answers = []
    for _ in range(PROBES_PER_MINUTE + 2):
        body, headers = probe(settings, own)
        answers.append((await client.post("/inbox", content=body, headers=headers)).status_code)
    assert answers[:PROBES_PER_MINUTE] == [200] * PROBES_PER_MINUTE
    assert answers[PROBES_PER_MINUTE:] == [429, 429]


async def test_the_server_doctor_page_runs_the_check_and_shows_its_result(
    tmp_path: Path, template_root: Path
) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        await alice.start()
        async with alice.client() as anonymous:
            response = await anonymous.get("/server/doctor")
            assert response.status_code == 303 and response.headers["location"] == "/login"
            response = await anonymous.post("/server/doctor", data={"csrf": "x"})
            assert response.status_code in (303, 403)
        async with alice.logged_in() as browser:
            page = await browser.get("/server/doctor")
            assert page.status_code == 200 and "Not checked yet" in page.text
            response = await browser.post("/server/doctor", data={"csrf": "forged"})
            assert response.status_code == 403
            assert load_report(alice.settings) is None
            response = await submit(browser, "/server/doctor", "/server/doctor")
            assert response.status_code == 303

            async def done() -> bool:
                page = await browser.get("/server/doctor")
                return "All good" in page.text

            await eventually(done, within=30, what="the check to finish")
            page = await browser.get("/server/doctor")
            assert 'http-equiv="refresh"' not in page.text
            assert "a signed POST to" in page.text and "verifies end to end" in page.text
            report = load_report(alice.settings)
            assert report is not None and not report.failed


def certificates(folder: Path, name: str, days: int) -> tuple[Path, Path, Path]:
    """A test authority, and a certificate it issued for `name` valid `days` more days: the
    authority's file, the certificate's and its key's."""
    now = datetime.datetime.now(datetime.UTC)

    def issue(
        subject: str, key: rsa.RSAPrivateKey, issuer: str, signer: rsa.RSAPrivateKey, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days if not ca else 365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    authority_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    authority = issue("Doctor test CA", authority_key, "Doctor test CA", authority_key, True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = issue(name, key, "Doctor test CA", authority_key, False)
    files = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    files[0].write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


async def test_tls_behind_a_proxy_that_drops_x_forwarded_proto(
    tmp_path: Path, template_root: Path
) -> None:
    """An https proxy with a certificate expiring in 5 days, which sends no X-Forwarded-Proto:
    both are warnings with their fix; with an authority nobody trusts, TLS fails."""
    public_port = free_port()
    authority, certificate, key = certificates(tmp_path, "alice.test", days=5)
    alice = SoloProcess("alice", tmp_path)
    alice.environment.update(SOLO_DOMAIN=f"alice.test:{public_port}", SOLO_SCHEME="https")
    async with alice:
        await alice.initialise(template_root)
        await alice.start()
        async with serving(proxy(alice.port), public_port, tls=(certificate, key)):
            code, out, err = await run_doctor(alice, SSL_CERT_FILE=str(authority))
            assert code == 0, out + err
            tls = line_of(out, "TLS")
            assert tls.startswith("warn") and "expires soon (days left: 5)" in tls and "fix:" in tls
            assert line_of(out, "Signed POST").startswith("ok ")
            forwarded = line_of(out, "X-Forwarded-*")
            assert forwarded.startswith("warn") and "Solo sees 'http' requests" in forwarded
            assert "proxy_set_header X-Forwarded-Proto $scheme;" in forwarded

            code, out, err = await run_doctor(alice, SSL_CERT_FILE=str(certificate))
            assert code == 1 and "Traceback" not in err
            tls = line_of(out, "TLS")
            assert tls.startswith("fail") and "does not verify" in tls
            assert "unable to get local issuer certificate" in tls
            # Every request would fail the same way: the one failure is enough.
            assert "WebFinger" not in out and "Public URL" not in out


async def test_doctor_passes_in_limited_federation(tmp_path: Path, template_root: Path) -> None:
    """Secure mode serves strangers a minimal actor and limited federation refuses them at the
    inbox: the doctor still reads what a peer reads, and its own probe still gets through."""
    environment = {"SOLO_LIMITED_FEDERATION": "true", "SOLO_FEDERATION_ALLOWLIST": "a.example"}
    async with SoloProcess("alice", tmp_path, **environment) as alice:
        await alice.initialise(template_root)
        await alice.start()
        code, out, err = await run_doctor(alice)
        assert code == 0, out + err
        assert line_of(out, "Actor").startswith("ok ")
        assert line_of(out, "Signed POST").startswith("ok ")
