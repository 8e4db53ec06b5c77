"""The guarded fetcher against small real servers on 127.0.0.1 (uvicorn), named `*.test`."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from solo.config import Settings
from solo.net.fetch import (
    BadContentType,
    BadDocument,
    Fetcher,
    FetchTimeout,
    ForbiddenAddress,
    HTTPStatusError,
    IdMismatch,
    Limits,
    TooLarge,
    TooManyRedirects,
    Unreachable,
)

AS = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MB = 1024 * 1024


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("allow_private_addresses", True)
    values.setdefault("resolve", "*.test=127.0.0.1")
    return Settings(data_dir=tmp_path, domain="solo.test", username="alice", **values)


@dataclass
class Peer:
    """A fake remote server; `seen` records every request it answered."""

    port: int = 0
    seen: list[Request] = field(default_factory=list)
    posted: list[bytes] = field(default_factory=list)

    def url(self, path: str, host: str = "peer.test", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def peer_app(peer: Peer) -> Starlette:
    def note(request: Request, content_type: str = AS, **fields: Any) -> Response:
        document = {"id": str(request.url), "type": "Note", **fields}
        return Response(json.dumps(document), media_type=content_type)

    def typed(content_type: str) -> Any:
        return lambda request: note(request, content_type)

    def claims(path: str) -> Any:
        return lambda request: note(request, id=peer.url(path))

    async def hops(request: Request) -> Response:
        left = int(request.path_params["left"])
        if left == 0:
            return note(request)
        return RedirectResponse(f"/hops/{left - 1}", status_code=302)

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def trickle(request: Request) -> Response:
        async def drip() -> AsyncIterator[bytes]:
            for _ in range(300):
                yield b" "
                await asyncio.sleep(0.1)

        return StreamingResponse(drip(), media_type=AS)

    async def endless(request: Request) -> Response:
        async def flood() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b" " * 64 * 1024

        return StreamingResponse(flood(), media_type=AS)

    def gzipped(payload: bytes) -> Response:
        return Response(gzip.compress(payload), media_type=AS, headers={"Content-Encoding": "gzip"})

    async def inbox(request: Request) -> Response:
        peer.posted.append(await request.body())
        return Response("accepted", status_code=202)

    async def record(request: Request) -> None:
        peer.seen.append(request)

    routes = [
        Route("/note", note),
        Route("/ld", typed(LD)),
        Route("/ld-plain", typed("application/ld+json")),
        Route("/ld-other", typed('application/ld+json; profile="https://example.com/x"')),
        Route("/html", typed("text/html")),
        Route("/json", typed("application/json")),
        Route("/alias", claims("/note")),
        Route("/liar", claims("/liar-2")),
        Route("/liar-2", claims("/liar-3")),
        Route("/open-redirect", lambda r: RedirectResponse(peer.url("/forged", "forger.test"))),
        Route("/forged", claims("/open-redirect")),
        Route("/no-id", lambda request: JSONResponse({"type": "Note"}, media_type=AS)),
        Route("/list", lambda request: Response("[1, 2]", media_type=AS)),
        Route("/broken", lambda request: Response('{"id": ', media_type=AS)),
        Route("/deep", lambda request: Response("[" * 200_000, media_type="application/json")),
        Route("/nested", lambda r: Response('{"a": ' + "[" * 200 + "]" * 200 + "}", media_type=AS)),
        Route("/status/{code:int}", lambda r: Response("", status_code=r.path_params["code"])),
        Route("/hops/{left:int}", hops),
        Route("/redirect", redirect),
        Route("/trickle", trickle),
        Route("/big", lambda request: Response(b" " * (MB + 1), media_type=AS)),
        Route("/endless", endless),
        Route("/gzip-note", lambda r: gzipped(json.dumps({"id": str(r.url)}).encode())),
        Route("/gzip-bomb", lambda request: gzipped(b" " * 50 * MB)),
        Route("/jrd", typed("application/jrd+json")),
        Route("/cookie", lambda r: JSONResponse({}, headers={"Set-Cookie": "session=x; Path=/"})),
        Route("/inbox", inbox, methods=["POST"]),
        Route("/inbox-moved", lambda r: RedirectResponse("/inbox", 307), methods=["POST"]),
        Route("/inbox-chatty", lambda r: Response(b"x" * 3 * MB, 200), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(Recorder, record=record)
    return app


class Recorder:
    def __init__(self, app: Any, record: Any) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self.record(Request(scope))
        await self.app(scope, receive, send)


@asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[int]:
    """Run `app` with uvicorn on a free port of 127.0.0.1 until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=1,
            **config,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    remote = Peer()
    async with serve(peer_app(remote)) as port:
        remote.port = port
        yield remote


@pytest.fixture
async def fetcher(tmp_path: Path, peer: Peer) -> AsyncIterator[Fetcher]:
    async with Fetcher(make_settings(tmp_path)) as opened:
        yield opened


class SignedBy(httpx.Auth):
    """Stands in for HTTP signatures: marks each request with the URL it was made for."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Signed-For"] = str(request.url)
        yield request


@pytest.mark.parametrize("path", ["/note", "/ld", "/ld-plain", "/gzip-note"])
async def test_activity_with_an_activitystreams_type(
    fetcher: Fetcher, peer: Peer, path: str
) -> None:
    document = await fetcher.get_activity(peer.url(path), auth=None)
    assert document["id"] == peer.url(path)
    request = peer.seen[0]
    assert request.headers["accept"].startswith("application/activity+json, application/ld+json")
    assert request.headers["user-agent"] == "Solo/0.1.0 (+https://solo.test)"
    assert request.headers["host"] == f"peer.test:{peer.port}"  # the name, not the pinned IP


@pytest.mark.parametrize("path", ["/html", "/json", "/ld-other"])
async def test_other_content_types_are_refused(fetcher: Fetcher, peer: Peer, path: str) -> None:
    with pytest.raises(BadContentType, match="not 'application/activity"):
        await fetcher.get_activity(peer.url(path), auth=None)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/list", "not an object"),
        ("/broken", "valid JSON"),
        ("/deep", "JSON"),
        ("/nested", "nested deeper than 64 levels"),
    ],
)
async def test_bodies_that_are_not_json_objects(
    fetcher: Fetcher, peer: Peer, path: str, error: str
) -> None:
    with pytest.raises(BadDocument, match=error):
        if path == "/deep":
            await fetcher.get_json(peer.url(path))
        else:
            await fetcher.get_activity(peer.url(path), auth=None)


async def test_a_different_id_is_refetched_and_accepted_when_it_matches(
    fetcher: Fetcher, peer: Peer
) -> None:
    document = await fetcher.get_activity(peer.url("/alias"), auth=SignedBy())
    assert document["id"] == peer.url("/note")
    assert [r.url.path for r in peer.seen] == ["/alias", "/note"]
    assert [r.headers["x-signed-for"] for r in peer.seen] == [str(r.url) for r in peer.seen]


async def test_an_id_that_still_differs_after_the_refetch_is_refused(
    fetcher: Fetcher, peer: Peer
) -> None:
    with pytest.raises(IdMismatch, match="liar"):
        await fetcher.get_activity(peer.url("/liar"), auth=None)
    assert [r.url.path for r in peer.seen] == ["/liar", "/liar-2"]  # one refetch, no more
    with pytest.raises(IdMismatch, match="without an id"):
        await fetcher.get_activity(peer.url("/no-id"), auth=None)


async def test_a_document_claiming_its_url_but_served_elsewhere_is_refused(
    fetcher: Fetcher, peer: Peer
) -> None:
    # An open redirect on the victim must not let another server speak for the victim's URL.
    with pytest.raises(IdMismatch, match="open-redirect"):
        await fetcher.get_activity(peer.url("/open-redirect"), auth=None)
    assert [(r.url.hostname, r.url.path) for r in peer.seen] == [
        ("peer.test", "/open-redirect"),
        ("forger.test", "/forged"),
        ("peer.test", "/open-redirect"),
        ("forger.test", "/forged"),
    ]


async def test_three_redirects_are_followed_and_four_refused(fetcher: Fetcher, peer: Peer) -> None:
    document = await fetcher.get_activity(peer.url("/hops/3"), auth=SignedBy())
    assert document["id"] == peer.url("/hops/0")
    assert len(peer.seen) == 4
    assert [r.headers["x-signed-for"] for r in peer.seen] == [str(r.url) for r in peer.seen]
    peer.seen.clear()
    with pytest.raises(TooManyRedirects, match="more than 3 times"):
        await fetcher.get_activity(peer.url("/hops/4"), auth=None)
    assert len(peer.seen) == 4  # the fifth URL is never asked for


@pytest.mark.parametrize("target", ["http://0.0.0.0:{port}/note", "http://[::]:{port}/note"])
async def test_redirect_targets_are_checked_again(
    fetcher: Fetcher, peer: Peer, target: str
) -> None:
    url = peer.url("/redirect?to=" + target.format(port=peer.port))
    with pytest.raises(ForbiddenAddress, match="not a public address"):
        await fetcher.get_activity(url, auth=None)
    assert len(peer.seen) == 1


@pytest.mark.parametrize(
    "location",
    [
        "https://10.0.0.1/users/bob",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/users/bob",
        "https://[::ffff:127.0.0.1]/users/bob",
        "http://social.example/users/bob",  # a downgrade to plain http
        "https://admin@social.example/users/bob",
    ],
)
async def test_redirects_to_private_addresses_are_refused(tmp_path: Path, location: str) -> None:
    asked: list[str] = []

    def public_server(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    settings = make_settings(tmp_path, allow_private_addresses=False)
    async with Fetcher(settings, transport=httpx.MockTransport(public_server)) as fetcher:
        with pytest.raises(ForbiddenAddress):
            await fetcher.get_activity("https://social.example/@bob", auth=None)
    assert asked == ["https://social.example/@bob"]


async def test_private_addresses_are_refused_before_connecting(tmp_path: Path, peer: Peer) -> None:
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    settings = make_settings(tmp_path, allow_private_addresses=False)
    try:
        async with Fetcher(settings) as fetcher:
            for url in [
                f"https://anything.test:{port}/note",  # refused when resolved, at connect time
                f"https://127.0.0.1:{port}/note",  # refused as soon as parsed
                f"https://anything.test:{peer.port}/note",
                f"https://localhost:{peer.port}/note",  # from the system resolver
            ]:
                with pytest.raises(ForbiddenAddress, match="not a public address"):
                    await fetcher.get_activity(url, auth=None)
            with pytest.raises(ForbiddenAddress, match="only https"):
                await fetcher.get_activity(peer.url("/note"), auth=None)
            with pytest.raises(ForbiddenAddress, match="only https"):
                await fetcher.post(peer.url("/inbox"), b"{}", auth=None)
    finally:
        listener.close()
        await listener.wait_closed()
    assert connections == 0
    assert peer.seen == []


async def test_the_resolve_setting_sends_any_test_name_to_127_0_0_1(
    fetcher: Fetcher, peer: Peer
) -> None:
    url = peer.url("/note", host="anything.test")
    assert (await fetcher.get_activity(url, auth=None))["id"] == url
    assert peer.seen[0].headers["host"] == f"anything.test:{peer.port}"


@pytest.mark.parametrize("path", ["/big", "/endless", "/gzip-bomb"])
async def test_bodies_over_one_megabyte_are_refused(
    fetcher: Fetcher, peer: Peer, path: str
) -> None:
    with pytest.raises(TooLarge, match="1048576"):
        await fetcher.get_activity(peer.url(path), auth=None)


async def test_a_slow_server_hits_the_total_deadline(tmp_path: Path, peer: Peer) -> None:
    # Each byte arrives well within the read timeout; only the total deadline stops it.
    async with Fetcher(make_settings(tmp_path), limits=Limits(deadline=1.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="time limits"):
            await fetcher.get_activity(peer.url("/trickle"), auth=None)
    assert 0.9 < time.monotonic() - started < 2.5


async def test_status_other_than_200_is_an_error_with_the_status(
    fetcher: Fetcher, peer: Peer
) -> None:
    for status in (404, 410, 500, 204):
        with pytest.raises(HTTPStatusError) as caught:
            await fetcher.get_activity(peer.url(f"/status/{status}"), auth=None)
        assert caught.value.status == status


async def test_get_json_takes_plain_json_types(fetcher: Fetcher, peer: Peer) -> None:
    assert (await fetcher.get_json(peer.url("/json")))["id"] == peer.url("/json")
    assert (await fetcher.get_json(peer.url("/jrd")))["type"] == "Note"
    with pytest.raises(BadContentType):
        await fetcher.get_json(peer.url("/html"))
    with pytest.raises(BadContentType):
        await fetcher.get_json(peer.url("/note"))


async def test_post_returns_the_answer_without_following_redirects(
    fetcher: Fetcher, peer: Peer
) -> None:
    reply = await fetcher.post(
        peer.url("/inbox"), b'{"type": "Follow"}', headers={"X-Extra": "1"}, auth=SignedBy()
    )
    assert (reply.status, reply.body, reply.url) == (202, b"accepted", peer.url("/inbox"))
    assert peer.posted == [b'{"type": "Follow"}']
    sent = peer.seen[0].headers
    assert sent["content-type"] == AS
    assert sent["x-extra"] == "1"
    assert sent["x-signed-for"] == peer.url("/inbox")

    moved = await fetcher.post(peer.url("/inbox-moved"), b"{}", auth=None)
    assert moved.status == 307
    assert len(peer.posted) == 1

    chatty = await fetcher.post(peer.url("/inbox-chatty"), b"{}", auth=None)
    assert (chatty.status, len(chatty.body)) == (200, MB)


async def test_cookies_are_never_sent_back(fetcher: Fetcher, peer: Peer) -> None:
    await fetcher.get_json(peer.url("/cookie"))
    await fetcher.get_json(peer.url("/cookie"))
    assert "cookie" not in peer.seen[1].headers


async def test_proxy_variables_are_ignored(
    tmp_path: Path, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    async with Fetcher(make_settings(tmp_path)) as fetcher:
        assert (await fetcher.get_activity(peer.url("/note"), auth=None))["type"] == "Note"


async def test_connection_failures_are_unreachable(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    async with Fetcher(make_settings(tmp_path)) as fetcher:
        with pytest.raises(Unreachable, match="could not be reached"):
            await fetcher.get_activity(f"http://gone.test:{port}/note", auth=None)


async def test_a_fetcher_must_be_opened(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="open"):
        await Fetcher(make_settings(tmp_path)).get_json("https://example.com/")


def make_certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for `host` signed by it: (ca, certificate, key)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Solo test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def test_tls_checks_the_name_while_connecting_to_the_pinned_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certificate, key = make_certificate(tmp_path, "secure.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    remote = Peer()
    async with serve(peer_app(remote), ssl_certfile=str(certificate), ssl_keyfile=str(key)) as port:
        remote.port = port
        async with Fetcher(make_settings(tmp_path)) as fetcher:
            url = remote.url("/note", host="secure.test", scheme="https")
            assert (await fetcher.get_activity(url, auth=None))["id"] == url
            # Same address, another name: the certificate does not match, so no answer is read.
            with pytest.raises(Unreachable):
                await fetcher.get_activity(
                    remote.url("/note", host="other.test", scheme="https"), auth=None
                )
    assert [r.headers["host"] for r in remote.seen] == [f"secure.test:{port}"]
