"""The connect of Solo's lean clients (deliveries and key fetches): one checked address, one
socket, TLS checking the host's name, under the connect limit.

`loop.create_connection(host, port)` resolves the address it is given (twice: once itself, once
in `sock_connect`), walks its list of candidates with their exceptions, and is wrapped in an
`asyncio.timeout` by its caller; a fan-out to thousands of servers paid for all of it on every
connection. The addresses here are resolved and checked already (`addresses.resolve`), so the
socket is made and connected directly: a non-blocking `connect()`, one wait for writability
that carries its own timer, then `create_connection(sock=…)` for the transport (and the TLS
handshake, bounded by what is left of the connect limit).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Callable
from typing import TypeVar

from solo.net.addresses import IPAddress

P = TypeVar("P", bound=asyncio.Protocol)


async def connect(
    factory: Callable[[], P],
    address: IPAddress,
    port: int,
    *,
    tls: ssl.SSLContext | None,
    server_name: str,
    limit: float,
) -> P:
    """A protocol from `factory` connected to `address`:`port` (TLS with `tls`, the certificate
    checked against `server_name`) within `limit` seconds; else `TimeoutError` or `OSError`
    (`ssl.SSLError` is one)."""
    loop = asyncio.get_running_loop()
    due = loop.time() + limit
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    # The protocol named, as getaddrinfo names it: the transport then sets TCP_NODELAY (it does
    # only for IPPROTO_TCP sockets), so a request after the TLS handshake is not held back.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    connected = False
    try:
        sock.setblocking(False)
        try:
            sock.connect((str(address), port))
        except BlockingIOError:
            await _writable(loop, sock, due, limit)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                reason = f"connect to {address} port {port}: {os.strerror(error)}"
                raise OSError(error, reason) from None
        if tls is None:
            _, protocol = await loop.create_connection(factory, sock=sock)
        else:
            async with asyncio.timeout_at(due):
                _, protocol = await loop.create_connection(
                    factory, sock=sock, ssl=tls, server_hostname=server_name
                )
        connected = True
        return protocol
    finally:
        if not connected:
            sock.close()  # (the transport's, once made: closed twice does no harm)


async def _writable(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, due: float, limit: float
) -> None:
    """Until `sock`'s connect is done (or failed: the caller reads SO_ERROR); TimeoutError at
    `due`."""
    waiter: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    loop.add_writer(fd, _wake, waiter)
    timer = loop.call_at(due, _time_out, waiter, limit)
    try:
        await waiter
    finally:
        timer.cancel()
        loop.remove_writer(fd)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _time_out(waiter: asyncio.Future[None], limit: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no connection within {limit:g} s"))
