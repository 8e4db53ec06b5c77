"""The lean clients' connect (`solo.net.connect`) against real sockets on 127.0.0.1: it connects,
a refusal is an OSError at once, a server that never completes the handshake hits the limit.
(TLS names: tests/test_poster.py and tests/test_key_client.py, through both clients.)"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time

import pytest

from solo.net.connect import connect

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


class Made(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


async def test_a_connection_is_made_to_the_address() -> None:
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("peername")[1])
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        made = await connect(Made, LOOPBACK, port, tls=None, server_name="x.test", limit=2.0)
        assert made.transport is not None
        sock = made.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # as create_connection
        ours = made.transport.get_extra_info("sockname")[1]
        made.transport.close()
        await asyncio.sleep(0.05)
        assert accepted == [ours]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_refusal_is_an_oserror() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(OSError) as refused:
        await connect(Made, LOOPBACK, port, tls=None, server_name="x.test", limit=2.0)
    assert refused.value.errno == errno.ECONNREFUSED
    assert "Connection refused" in str(refused.value)


async def test_a_handshake_that_never_completes_hits_the_limit() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once the queue is full, SYNs are dropped
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            started = time.monotonic()
            with pytest.raises(TimeoutError, match=r"no connection within 0\.5 s"):
                await connect(Made, LOOPBACK, port, tls=None, server_name="x", limit=0.5)
            assert 0.4 < time.monotonic() - started < 2.0
        finally:
            for filler in fillers:
                filler.close()
