"""The delivery client against real servers on 127.0.0.1: uvicorn, and bare asyncio ones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from solo.federation.poster import Poster
from solo.federation.signatures import HTTPSignatureAuth, prepare, verify
from solo.net.fetch import FetchTimeout, ForbiddenAddress, Limits, Unreachable
from tests.test_fetch import AS, MB, Peer, make_certificate, make_settings, peer_app, serve

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
AUTH = HTTPSignatureAuth("https://solo.test/users/alice#main-key", KEY)

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


@asynccontextmanager
async def bare_server(answer: Answer) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A keep-alive HTTP/1.1 server; `answer(request, writer)` replies, False ends the connection.

    Yields its port and the requests it read, each prefixed by a connection number.
    """
    seen: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                request = head + await reader.readexactly(length)
                seen.append(b"%d " % number + request)
                if not await answer(request, writer):
                    return
        except ConnectionError:
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


def accepted(extra: bytes = b"") -> Answer:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n" + extra + b"\r\nok")
        await writer.drain()
        return b"connection: close" not in extra.lower()

    return answer


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    remote = Peer()
    async with serve(peer_app(remote)) as port:
        remote.port = port
        yield remote


@pytest.fixture
async def poster(tmp_path: Path) -> AsyncIterator[Poster]:
    opened = Poster(make_settings(tmp_path))
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_a_signed_post_is_answered_and_redirects_are_not_followed(
    poster: Poster, peer: Peer
) -> None:
    body = b'{"type": "Follow"}'
    reply = await poster.post(peer.url("/inbox"), body, headers={"X-Extra": "1"}, auth=AUTH)
    assert (reply.status, reply.body, reply.url) == (202, b"accepted", peer.url("/inbox"))
    assert peer.posted == [body]
    sent = peer.seen[0].headers
    assert (sent["content-type"], sent["x-extra"]) == (AS, "1")
    assert sent["host"] == f"peer.test:{peer.port}"
    prepared = prepare(
        "POST",
        "/inbox",
        sent.items(),
        body,
        now=time.time(),
        expected_host=f"peer.test:{peer.port}",
    )
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verify(prepared, pem)

    moved = await poster.post(peer.url("/inbox-moved"), b"{}", auth=AUTH)
    assert (moved.status, moved.headers["location"]) == (307, "/inbox")
    assert len(peer.posted) == 1


async def test_private_addresses_are_refused_before_connecting(tmp_path: Path, peer: Peer) -> None:
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    poster = Poster(make_settings(tmp_path, allow_private_addresses=False))
    try:
        for url in [
            f"https://anything.test:{port}/inbox",  # refused when resolved, before connecting
            f"https://127.0.0.1:{port}/inbox",  # refused as soon as parsed
            f"https://[::ffff:127.0.0.1]:{port}/inbox",
            f"https://localhost:{peer.port}/inbox",  # from the system resolver
        ]:
            with pytest.raises(ForbiddenAddress, match="not a public address"):
                await poster.post(url, b"{}", auth=AUTH)
        with pytest.raises(ForbiddenAddress, match="only https"):
            await poster.post(peer.url("/inbox"), b"{}", auth=AUTH)
        with pytest.raises(ForbiddenAddress, match="user name"):
            await poster.post(f"https://peer.test@127.0.0.1:{port}/inbox", b"{}", auth=AUTH)
    finally:
        await poster.aclose()
        listener.close()
        await listener.wait_closed()
    assert connections == 0
    assert peer.seen == []


async def test_connections_are_kept_alive_per_host_and_a_stale_one_replaced(
    poster: Poster,
) -> None:
    async with bare_server(accepted()) as (port, seen):
        for _ in range(3):
            reply = await poster.post(f"http://a.test:{port}/inbox", b"{}", auth=AUTH)
            assert (reply.status, reply.body) == (202, b"ok")
        await poster.post(f"http://b.test:{port}/inbox", b"{}", auth=AUTH)
    assert [request.split(b" ")[0] for request in seen] == [b"1", b"1", b"1", b"2"]

    async with bare_server(accepted(b"Connection: close\r\n")) as (port, seen):
        for _ in range(2):
            assert (await poster.post(f"http://a.test:{port}/", b"{}", auth=AUTH)).status == 202
    assert [request.split(b" ")[0] for request in seen] == [b"1", b"2"]

    # The server drops a kept-alive connection just as the next request goes out: the request
    # is sent again on a new connection, once.
    answers = 0

    async def flaky(request: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal answers
        answers += 1
        if answers == 2:
            return False  # hangs up without answering
        return await accepted()(request, writer)

    async with bare_server(flaky) as (port, seen):
        for _ in range(2):
            assert (
                await poster.post(f"http://c.test:{port}/inbox", b"{}", auth=AUTH)
            ).status == 202
    assert [request.split(b" ")[0] for request in seen] == [b"1", b"1", b"2"]


@pytest.mark.parametrize("framing", ["content-length", "chunked", "close"])
async def test_an_oversized_answer_is_cut(poster: Poster, framing: str) -> None:
    big = b"x" * (3 * MB)

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if framing == "content-length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
        elif framing == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(48):
                writer.write(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + big)
        with contextlib.suppress(ConnectionError):  # we hung up once we had enough
            await writer.drain()
        return False

    async with bare_server(answer) as (port, _):
        reply = await poster.post(f"http://big.test:{port}/inbox", b"{}", auth=AUTH)
    assert (reply.status, len(reply.body)) == (200, MB)
    assert poster._idle_count == 0  # a connection with unread bytes is not reused


async def test_chunked_answers_are_read_and_the_connection_reused(poster: Poster) -> None:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4;ext=1\r\nnope\r\n3\r\n...\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        await writer.drain()
        return True

    async with bare_server(answer) as (port, seen):
        for _ in range(2):
            reply = await poster.post(f"http://c.test:{port}/inbox", b"{}", auth=AUTH)
            assert (reply.status, reply.body) == (401, b"nope...")
    assert [request.split(b" ")[0] for request in seen] == [b"1", b"1"]


async def test_a_slow_server_hits_the_total_deadline(tmp_path: Path) -> None:
    async def trickle(request: bytes, writer: asyncio.StreamWriter) -> bool:
        # Each byte well within the read timeout; only the total deadline stops it.
        writer.write(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(300):
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.1)
        return False

    poster = Poster(make_settings(tmp_path), limits=Limits(deadline=1.0))
    try:
        async with bare_server(trickle) as (port, _):
            started = time.monotonic()
            with pytest.raises(FetchTimeout, match="time limits"):
                await poster.post(f"http://slow.test:{port}/inbox", b"{}", auth=AUTH)
            assert 0.9 < time.monotonic() - started < 2.5
    finally:
        await poster.aclose()


async def test_broken_answers_and_closed_ports_are_unreachable(poster: Poster) -> None:
    async def garbage(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()
        return False

    async with bare_server(garbage) as (port, _):
        with pytest.raises(Unreachable, match="status line"):
            await poster.post(f"http://odd.test:{port}/inbox", b"{}", auth=AUTH)
    with pytest.raises(Unreachable, match="could not be reached"):
        await poster.post(f"http://gone.test:{port}/inbox", b"{}", auth=AUTH)


async def test_tls_checks_the_name_while_connecting_to_the_pinned_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certificate, key = make_certificate(tmp_path, "secure.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    remote = Peer()
    async with serve(peer_app(remote), ssl_certfile=str(certificate), ssl_keyfile=str(key)) as port:
        remote.port = port
        poster = Poster(make_settings(tmp_path))
        try:
            url = remote.url("/inbox", host="secure.test", scheme="https")
            assert (await poster.post(url, b"{}", auth=AUTH)).status == 202
            # Same address, another name: the certificate does not match, nothing is sent.
            with pytest.raises(Unreachable):
                await poster.post(
                    remote.url("/inbox", host="other.test", scheme="https"), b"{}", auth=AUTH
                )
        finally:
            await poster.aclose()
    assert [r.headers["host"] for r in remote.seen] == [f"secure.test:{port}"]
    assert remote.posted == [b"{}"]


def sends(*parts: bytes, pause: float = 0.0, then_close: bool = True) -> Answer:
    """An answer written in `parts`, `pause` seconds apart; the connection closed after it."""

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> bool:
        for number, part in enumerate(parts):
            if number and pause:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        return not then_close

    return answer


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"HTTP/1.1 2x2 Accepted\r\n\r\n", "status line"),
        (b"HTTP/1.1\r\n\r\n", "status line"),
        (b"ICY 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 202 Accepted\r\nno colon here\r\n\r\n", "status line"),
        (b"HTTP/1.1 202 Accepted\r\nContent-Length: ten\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nX-Pad: " + b"p" * (70 * 1024) + b"\r\n\r\n", "head over 65536"),
        (b"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nabc", "closed within the answer"),
        (b"HTTP/1.1 202 Accep", "closed within the answer"),
        (b"", "closed before an answer"),
    ],
)
async def test_bad_and_broken_answers_are_unreachable_with_their_reason(
    poster: Poster, answer: bytes, error: str
) -> None:
    async with bare_server(sends(answer)) as (port, _):
        with pytest.raises(Unreachable, match=error):
            await poster.post(f"http://odd.test:{port}/inbox", b"{}", auth=AUTH)
    assert poster._idle_count == 0


async def test_a_silent_server_hits_the_read_timeout_and_a_slow_one_is_waited_for(
    tmp_path: Path,
) -> None:
    poster = Poster(make_settings(tmp_path), limits=Limits(read=0.5, deadline=5.0))
    try:
        silent = sends(b"HTTP/1.1 202 Acc", b"epted\r\n\r\n", pause=3.0)
        async with bare_server(silent) as (port, _):
            started = time.monotonic()
            with pytest.raises(FetchTimeout, match="time limits"):
                await poster.post(f"http://silent.test:{port}/inbox", b"{}", auth=AUTH)
            assert 0.4 < time.monotonic() - started < 1.5
        # Bytes every 0.3 s, under the 0.5 s of silence allowed, for 1.5 s in all.
        pieces = [b"HTTP/1.1 202 Accepted\r\n", b"Content-Length: 3\r\n", b"\r\n", b"o", b"k", b"!"]
        async with bare_server(sends(*pieces, pause=0.3, then_close=False)) as (port, _):
            reply = await poster.post(f"http://slow.test:{port}/inbox", b"{}", auth=AUTH)
            assert (reply.status, reply.body) == (202, b"ok!")
            assert poster._idle_count == 1  # complete and kept alive: kept for the next
    finally:
        await poster.aclose()


async def test_an_upgrade_or_bytes_nobody_asked_for_end_the_connection(poster: Poster) -> None:
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
    async with bare_server(sends(upgrade, then_close=False)) as (port, _):
        reply = await poster.post(f"http://up.test:{port}/inbox", b"{}", auth=AUTH)
    assert reply.status == 101
    assert poster._idle_count == 0

    extra = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"
    async with bare_server(sends(extra, then_close=False)) as (port, seen):
        for _ in range(2):
            reply = await poster.post(f"http://extra.test:{port}/inbox", b"{}", auth=AUTH)
            assert (reply.status, reply.body) == (202, b"ok")
    assert [request.split(b" ")[0] for request in seen] == [b"1", b"2"]
