"""One process of the fake fleet: thousands of virtual fediverse servers on a few 127.0.0.1 ports.

    python -m bench.fleet CONFIG.json PORT [PORT …]

Requests are routed by their Host header, `hNNNN.test:PORT`. Every virtual server answers
`POST /inbox` (its shared inbox; `/users/uJ/inbox` too) after VERIFYING the HTTP signature with
Solo's public key (solo.federation.signatures.prepare + verify), and `GET /users/uJ` with an
actor document holding a real RSA key. `GET /_stats` (any Host) reports the counters as JSON.

The HTTP/1.1 server is a bare asyncio.Protocol (keep-alive, Content-Length bodies only): the
fleet shares the machine's second core with the load generator, so it must cost little.
`delay` in the config holds every answer back that many seconds, to mimic real network latency.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from bench.world import BAD_KEYS, DRIP, SILENT, actor_document, key_index
from solo.federation.signatures import SignatureError, prepare, verify

HOST_RE = re.compile(r"^h(\d{4,5})\.test:(\d+)$")  # h0000 … h49999
ACTOR_RE = re.compile(r"^/users/u(\d+)$")
REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    410: "Gone",
}  # fmt: skip
DRIP_BYTES = 1000  # announced by a dripping answer, one a second: the total deadline ends it


class Fleet:
    """The virtual servers' shared state: keys, and what they received."""

    def __init__(self, config: dict[str, Any], ports: list[int]) -> None:
        self.ports = set(ports)
        self.public_pems: list[str] = config["public_pems"]
        self.solo_key_id: str = config["solo_key_id"]
        self.solo_key: PublicKeyTypes = serialization.load_pem_public_key(
            config["solo_public_pem"].encode()
        )
        self.delay: float = config.get("delay", 0.0)
        self.first_delivery: dict[int, float] = {}  # host index → time of its first delivery
        self.verified = 0
        self.rejected = 0
        self.errors: dict[str, int] = {}
        self.actor_gets = 0
        # "host/actor" → when its first GET arrived (perf_counter: CLOCK_MONOTONIC, the same
        # clock in every process here), to split a first contact's time at its key fetch.
        self.actor_get_at: dict[str, float] = {}

    def stats(self) -> dict[str, Any]:
        times = self.first_delivery.values()
        return {
            "verified": self.verified,
            "hosts": len(self.first_delivery),
            "first": min(times, default=None),
            "last_new_host": max(times, default=None),
            "rejected": self.rejected,
            "errors": self.errors,
            "actor_gets": self.actor_gets,
            "actor_get_at": self.actor_get_at,
        }

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        """One request → (status, JSON body)."""
        if target == "/_stats":
            return 200, json.dumps(self.stats()).encode()
        host = next((value for name, value in headers if name.lower() == "host"), "")
        match = HOST_RE.match(host)
        if match is None or int(match.group(2)) not in self.ports:
            return 404, b"{}"
        index = int(match.group(1))
        if method == "POST" and (target == "/inbox" or target.endswith("/inbox")):
            return self._inbox(index, host, target, headers, body)
        actor = ACTOR_RE.match(target)
        if method == "GET" and actor is not None:
            self.actor_gets += 1
            j = int(actor.group(1))
            self.actor_get_at.setdefault(f"{index}/{j}", time.perf_counter())
            if j in BAD_KEYS:
                return j, b"{}"  # 404, 410; SILENT and DRIP are answered by the Connection
            document = actor_document(host, j, self.public_pems[key_index(index, j)])
            return 200, json.dumps(document).encode()
        return 404, b"{}"

    def _inbox(
        self, index: int, host: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        try:
            prepared = prepare(
                "POST", target, headers, body, now=time.time(), scheme="http", expected_host=host
            )
            if prepared.key_id != self.solo_key_id:
                raise SignatureError(f"signed by {prepared.key_id}, not Solo")
            verify(prepared, self.solo_key)
        except SignatureError as error:
            self.rejected += 1
            kind = type(error).__name__
            self.errors[kind] = self.errors.get(kind, 0) + 1
            return 401, b"{}"
        self.verified += 1
        self.first_delivery.setdefault(index, time.time())
        return 202, b""


class Connection(asyncio.Protocol):
    """HTTP/1.1 with keep-alive over one TCP connection; requests answered in order."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
            fields = {name.lower(): value for name, value in headers}
            length = int(fields.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            status, payload = self.fleet.handle(method, target, headers, body)
            if status == SILENT:
                continue  # never answered: the client's read limit ends it
            if status == DRIP:
                self._drip(DRIP_BYTES)
                continue
            close = fields.get("connection", "").lower() == "close"
            response = (
                f"HTTP/1.1 {status} {REASONS[status]}\r\n"
                "Content-Type: application/activity+json\r\n"
                f"Content-Length: {len(payload)}\r\n"
                f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
            ).encode() + payload
            if self.fleet.delay and target != "/_stats":
                self.loop.call_later(self.fleet.delay, self._send, response, close)
            else:
                self._send(response, close)

    def _drip(self, left: int) -> None:
        """A 200 whose body comes one byte a second: never quiet long enough for a read limit."""
        if self.transport is None or self.transport.is_closing():
            return
        if left == DRIP_BYTES:
            self.transport.write(
                "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                f"Content-Length: {DRIP_BYTES}\r\n\r\n".encode()
            )
        self.transport.write(b" ")
        if left > 1:
            self.loop.call_later(1.0, self._drip, left - 1)

    def _send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(config: dict[str, Any], ports: list[int]) -> None:
    fleet = Fleet(config, ports)
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(
            lambda: Connection(fleet), "127.0.0.1", port, backlog=4096, reuse_address=True
        )
        for port in ports
    ]
    # The parent kills us; the hard limit only guards against an orphaned fleet.
    await asyncio.sleep(float(config.get("lifetime", 900)))
    for server in servers:
        server.close()


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(serve(config, [int(port) for port in sys.argv[2:]]))


if __name__ == "__main__":
    main()
