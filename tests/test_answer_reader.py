"""One answer reader (`solo.net.answer`) under both lean clients: a delivery (`Poster.post`) and
a key fetch (`Fetcher.get_activity(for_key=True)`) read the same odd answers from a bare socket
server on 127.0.0.1 the same way: interim answers skipped, an upgrade ends the exchange, bytes
after a complete answer end the connection, the head and the body are capped."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from solo.federation.poster import Poster
from solo.federation.signatures import HTTPSignatureAuth
from solo.net.answer import AnswerReader
from solo.net.connect import connect
from solo.net.fetch import Fetcher, HTTPStatusError, Limits, TooLarge, Unreachable
from tests.test_fetch import MB, make_settings

AUTH = HTTPSignatureAuth(
    "https://solo.test/users/alice#main-key",
    rsa.generate_private_key(public_exponent=65537, key_size=2048),
)
AS = b"Content-Type: application/activity+json\r\n"


@dataclass
class Server:
    """A bare HTTP/1.1 server: `answer(port)` written to each request; the connection kept open
    after it unless `close`. `connections` counts the connections, `requests` the requests."""

    answer: Callable[[int], bytes]
    close: bool = False
    port: int = 0
    connections: int = 0
    requests: list[int] = field(default_factory=list)  # the connection number of each

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":", 1)[1]))
                self.requests.append(number)
                writer.write(self.answer(self.port))
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def bare(answer: Callable[[int], bytes], *, close: bool = False) -> AsyncIterator[Server]:
    server = Server(answer, close)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        with suppress(TimeoutError):
            async with asyncio.timeout(2):
                await listener.wait_closed()


def note(port: int) -> bytes:
    return b'{"id": "http://raw.test:%d/note", "type": "Note"}' % port


class Clients:
    """Both clients, asked the same URL; each answers (status, body) or raises its error."""

    def __init__(self, tmp_path: Path) -> None:
        limits = Limits(read=2.0, deadline=5.0, key_deadline=5.0)
        self.poster = Poster(make_settings(tmp_path), limits=limits)
        self.fetcher = Fetcher(make_settings(tmp_path), limits=limits)

    async def ask(self, which: str, port: int) -> tuple[int, bytes]:
        url = f"http://raw.test:{port}/note"
        async with asyncio.timeout(4):  # whatever comes, no hang
            if which == "delivery":
                reply = await self.poster.post(url, b"{}", auth=AUTH)
                return reply.status, reply.body
            document = await self.fetcher.get_activity(url, auth=AUTH, for_key=True)
            return 200, str(document["id"]).encode()

    def idle(self, which: str) -> int:
        if which == "delivery":
            return self.poster._idle_count
        return len(self.fetcher._key_client()._idle)  # type: ignore[union-attr]


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[Clients]:
    both = Clients(tmp_path)
    await both.fetcher.open()
    try:
        yield both
    finally:
        await both.poster.aclose()
        await both.fetcher.aclose()


BOTH = pytest.mark.parametrize("which", ["delivery", "key fetch"])


@BOTH
async def test_an_interim_answer_is_skipped(clients: Clients, which: str) -> None:
    def answer(port: int) -> bytes:
        body = note(port)
        return (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            b"HTTP/1.1 200 OK\r\n" + AS + b"Content-Length: %d\r\n\r\n" % len(body) + body
        )

    async with bare(answer) as server:
        for _ in range(2):
            status, body = await clients.ask(which, server.port)
            assert status == 200
            assert b"raw.test" in body
    assert server.requests == [1, 1]  # the connection served both: the answer read to its end


@BOTH
async def test_an_upgrade_ends_the_exchange_and_the_connection(
    clients: Clients, which: str
) -> None:
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
    async with bare(lambda _: upgrade) as server:  # and the connection left open
        started = time.monotonic()
        if which == "delivery":
            assert (await clients.ask(which, server.port))[0] == 101
        else:
            with pytest.raises(HTTPStatusError, match="101"):
                await clients.ask(which, server.port)
        assert time.monotonic() - started < 1.5  # not the read timeout
        assert clients.idle(which) == 0


@BOTH
@pytest.mark.parametrize(
    "extra", [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"SSH-2.0-OpenSSH\r\n\r\n"]
)
async def test_bytes_after_a_complete_answer_end_the_connection(
    clients: Clients, which: str, extra: bytes
) -> None:
    """Another answer, or garbage: the answer read is kept, the connection is not."""

    def answer(port: int) -> bytes:
        body = note(port)
        head = b"HTTP/1.1 200 OK\r\n" + AS + b"Content-Length: %d\r\n\r\n" % len(body)
        return head + body + extra

    async with bare(answer) as server:
        for _ in range(2):
            assert (await clients.ask(which, server.port))[0] == 200
    assert server.requests == [1, 2]  # one answer per request: a new connection for the next


@BOTH
async def test_a_head_over_the_cap_is_refused(clients: Clients, which: str) -> None:
    fields = b"X-Pad: " + b"p" * 1000 + b"\r\n"
    head = b"HTTP/1.1 200 OK\r\n" + fields * 70 + b"Content-Length: 0\r\n\r\n"
    async with bare(lambda _: head) as server:  # in one piece: the head complete but too big
        with pytest.raises(Unreachable, match="head over 65536 bytes"):
            await clients.ask(which, server.port)
        assert clients.idle(which) == 0


@BOTH
async def test_a_close_delimited_body_over_the_cap_is_not_read_on(
    clients: Clients, which: str
) -> None:
    """A delivery keeps the first `max_body` bytes of the answer (an answer is only logged); a
    key fetch refuses the document. Neither reads the rest nor keeps the connection."""
    big = b"HTTP/1.1 200 OK\r\n" + AS + b"Connection: close\r\n\r\n" + b"x" * (3 * MB)
    async with bare(lambda _: big, close=True) as server:
        if which == "delivery":
            status, body = await clients.ask(which, server.port)
            assert (status, len(body)) == (200, MB)
        else:
            with pytest.raises(TooLarge, match="1048576"):
                await clients.ask(which, server.port)
        assert clients.idle(which) == 0


async def test_a_connection_closing_under_a_kept_answer_says_nothing_was_received() -> None:
    """A kept-alive connection whose transport is closing refuses the next request as one that
    received nothing, so the client sends it again on a new connection."""
    answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    async with bare(lambda _: answer) as server:
        reader = await connect(
            lambda: AnswerReader(MB),
            ipaddress.IPv4Address("127.0.0.1"),
            server.port,
            tls=None,
            server_name="raw.test",
            limit=2.0,
        )
        reader.send(b"POST / HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 0\r\n\r\n")
        await reader.answer(2.0)
        assert (reader.status, reader.reusable, reader.received) == (202, True, True)
        assert reader.transport is not None
        reader.transport.close()  # closing; connection_lost not yet called
        with pytest.raises(ConnectionResetError):
            reader.send(b"POST / HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 0\r\n\r\n")
        assert not reader.received
