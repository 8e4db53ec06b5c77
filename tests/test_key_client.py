"""Key fetches go through a lean client of their own (`solo.net.key_client`), under the same
policy as every other fetch: content types, ids, redirects checked hop by hop, private
addresses, the body cap (gzip included), statuses, TLS names. It keeps a connection per host
for the next key of that host, reads answers however they are framed, and signs its GETs on
the signing thread with signatures that verify."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from solo.federation.batch_signing import BatchSigner
from solo.federation.signatures import HTTPSignatureAuth, prepare, sign_headers_off_loop, verify
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
from solo.net.key_client import KeyClient
from tests.test_fetch import Peer, make_certificate, make_settings, peer, peer_app, serve

__all__ = ["peer"]  # the fixture, used by name


@pytest.fixture
async def fetcher(tmp_path: Path) -> AsyncIterator[Fetcher]:
    async with Fetcher(make_settings(tmp_path)) as opened:
        assert isinstance(opened._key_client(), KeyClient)
        yield opened


async def key(fetcher: Fetcher, url: str, auth: httpx.Auth | None = None) -> dict[str, object]:
    return await fetcher.get_activity(url, auth=auth, for_key=True)


@pytest.mark.parametrize("path", ["/note", "/ld", "/ld-plain", "/gzip-note", "/alias"])
async def test_activity_documents_are_read(fetcher: Fetcher, peer: Peer, path: str) -> None:
    document = await key(fetcher, peer.url(path))
    assert document["id"] in (peer.url(path), peer.url("/note"))


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/html", BadContentType, "text/html"),
        ("/json", BadContentType, "application/json"),
        ("/broken", BadDocument, "JSON"),
        ("/list", BadDocument, "object"),
        ("/liar", IdMismatch, "claims to be"),
        ("/no-id", IdMismatch, "without an id"),
        ("/big", TooLarge, "1048576"),
        ("/endless", TooLarge, "1048576"),
        ("/gzip-bomb", TooLarge, "1048576"),
        ("/hops/4", TooManyRedirects, "more than 3 times"),
        ("/status/404", HTTPStatusError, "404"),
        ("/status/410", HTTPStatusError, "410"),
        ("/status/500", HTTPStatusError, "500"),
        ("/redirect?to=http://0.0.0.0:1/note", ForbiddenAddress, "not a public address"),
    ],
)
async def test_the_fetch_policy_holds(
    fetcher: Fetcher, peer: Peer, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await key(fetcher, peer.url(path))


async def test_redirects_are_followed_and_each_hop_signed(fetcher: Fetcher, peer: Peer) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = BatchSigner()
    auth = HTTPSignatureAuth("https://solo.test/actor#main-key", private_key, sign=signer.sign)
    document = await key(fetcher, peer.url("/hops/2"), auth)
    assert document["id"] == peer.url("/hops/0")
    assert len(peer.seen) == 3
    for request in peer.seen:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        prepared = prepare("GET", target, request.headers.items(), b"", now=time.time())
        assert prepared.key_id == "https://solo.test/actor#main-key"
        verify(prepared, private_key.public_key())
    await signer.aclose()


class _Bearer(httpx.Auth):
    """An auth the key client knows nothing of: it runs its flow over an httpx Request."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer kept"
        yield request


async def test_any_other_auth_still_signs_the_key_fetch(fetcher: Fetcher, peer: Peer) -> None:
    await key(fetcher, peer.url("/hops/1"), _Bearer())
    assert [request.headers.get("authorization") for request in peer.seen] == ["Bearer kept"] * 2
    assert {request.headers["host"] for request in peer.seen} == {f"peer.test:{peer.port}"}


async def test_a_connection_is_kept_for_the_next_key_of_its_host(
    fetcher: Fetcher, peer: Peer
) -> None:
    for _ in range(3):
        await key(fetcher, peer.url("/note", "same.test"))
    await key(fetcher, peer.url("/note", "other.test"))
    clients = [(r.client.host, r.client.port) for r in peer.seen if r.client]
    assert len(clients) == 4
    assert len(set(clients[:3])) == 1  # one connection for the three of same.test
    assert clients[3] != clients[0]  # never another host's connection


@asynccontextmanager
async def raw_server(answer: Callable[[int], bytes] | None, *, close: bool) -> AsyncIterator[int]:
    """A bare HTTP/1.1 server on 127.0.0.1 (its port yielded): `answer(port)` to each request
    (None: no answer ever), closing the connection after it if `close`."""
    port = 0
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                if answer is None:
                    await reader.read()
                    break
                writer.write(answer(port))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        await asyncio.sleep(0.05)


NOTE = b'{"id": "http://raw.test:%d/note", "type": "Note"}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"


def framed(framing: str, body: bytes) -> bytes:
    if framing == "length":
        return HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    if framing == "chunked":
        parts = body[: len(body) // 2], body[len(body) // 2 :]
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
        return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    # No length, no chunks: the body ends with the connection.
    return HEAD + b"Connection: close\r\n\r\n" + body


@pytest.mark.parametrize("framing", ["length", "chunked", "until-close"])
async def test_answers_are_read_however_they_are_framed(fetcher: Fetcher, framing: str) -> None:
    answer = lambda port: framed(framing, NOTE % port)  # noqa: E731
    async with raw_server(answer, close=framing == "until-close") as port:
        document = await key(fetcher, f"http://raw.test:{port}/note")
        assert document["id"] == f"http://raw.test:{port}/note"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", "not an HTTP/1.x status line"),
        (HEAD + b"Content-Length: 100\r\n\r\n{", "closed within the answer"),
        (b"", "closed before an answer"),
        (HEAD + b"X-Padding: 0123456789\r\n" * 4000, "head over 65536 bytes"),
    ],
)
async def test_broken_answers_are_unreachable(
    fetcher: Fetcher, answer: bytes, message: str
) -> None:
    async with raw_server(lambda _: answer, close=True) as port:
        with pytest.raises(Unreachable, match=message):
            await key(fetcher, f"http://raw.test:{port}/note")


async def test_silence_and_refusals_have_their_limits(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    limits = Limits(read=0.3, key_deadline=5.0)
    async with (
        raw_server(None, close=False) as port,
        Fetcher(make_settings(tmp_path), limits=limits) as fetcher,
    ):
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match=r"went quiet for 0\.3 s"):
            await key(fetcher, f"http://mute.test:{port}/note")
        assert time.monotonic() - started < 2.0
        with pytest.raises(Unreachable, match="could not be reached"):
            await key(fetcher, f"http://gone.test:{closed_port}/note")


async def test_private_addresses_are_refused_before_connecting(tmp_path: Path, peer: Peer) -> None:
    settings = make_settings(tmp_path, allow_private_addresses=False)
    async with Fetcher(settings) as fetcher:
        for url in (
            f"https://anything.test:{peer.port}/note",  # refused when resolved
            f"https://127.0.0.1:{peer.port}/note",  # refused as soon as parsed
            f"https://localhost:{peer.port}/note",  # from the system resolver
        ):
            with pytest.raises(ForbiddenAddress, match="not a public address"):
                await key(fetcher, url)
    assert peer.seen == []


async def test_tls_checks_the_name_while_connecting_to_the_pinned_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certificate, private = make_certificate(tmp_path, "secure.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    remote = Peer()
    async with serve(
        peer_app(remote), ssl_certfile=str(certificate), ssl_keyfile=str(private)
    ) as port:
        remote.port = port
        async with Fetcher(make_settings(tmp_path)) as fetcher:
            url = remote.url("/note", host="secure.test", scheme="https")
            assert (await key(fetcher, url))["id"] == url
            with pytest.raises(Unreachable):
                await key(fetcher, remote.url("/note", host="other.test", scheme="https"))
    assert [r.headers["host"] for r in remote.seen] == [f"secure.test:{port}"]


async def signatures_at_once(count: int, threads: int) -> list[dict[str, str]]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    urls = [f"https://h{n}.test/users/u{n}" for n in range(count)]
    signer = BatchSigner(threads)
    signed = await asyncio.gather(
        *(
            sign_headers_off_loop(
                "GET",
                url,
                {},
                b"",
                key_id="https://s.test/a#k",
                private_key=private_key,
                sign=signer.sign,
            )
            for url in urls
        )
    )
    await signer.aclose()
    for url, headers in zip(urls, signed, strict=True):
        target = httpx.URL(url)
        prepared = prepare("GET", target.raw_path.decode(), headers.items(), b"", now=time.time())
        verify(prepared, private_key.public_key())
    return signed


@pytest.mark.parametrize("threads", [1, 2])
async def test_signatures_made_on_the_signing_threads_verify(threads: int) -> None:
    assert len(await signatures_at_once(50, threads)) == 50


async def test_a_signing_failure_reaches_its_caller_alone() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = BatchSigner()

    class Broken:
        def sign(self, *_: object) -> bytes:
            raise ValueError("no such key")

    good: Callable[[], Awaitable[bytes]] = lambda: signer.sign(private_key, b"x")  # noqa: E731
    results = await asyncio.gather(
        good(),
        signer.sign(Broken(), b"x"),  # type: ignore[arg-type]
        good(),
        return_exceptions=True,
    )
    await signer.aclose()
    assert isinstance(results[0], bytes) and isinstance(results[2], bytes)
    assert isinstance(results[1], ValueError)


async def test_opening_the_fetcher_reads_no_certificates(tmp_path: Path) -> None:
    """The TLS context (the system's certificates: about 1.4 MB) is made at the first https
    connection, not at start; the key client shares the fetcher's."""
    async with Fetcher(make_settings(tmp_path)) as fetcher:
        assert fetcher._tls is None
        client = fetcher._key_client()
        assert isinstance(client, KeyClient) and client.tls() is fetcher.tls()
