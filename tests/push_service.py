"""A push service (RFC 8030) on 127.0.0.1 for Web Push tests, and a subscriber's keys.

The service records every message; the subscriber decrypts them with its private key, as a
browser does, and checks the VAPID token against the server's public key.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from py_vapid.jwt import decode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.remote import free_port, serving


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """A browser's side of a subscription: its key pair and authentication secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def decrypt(self, message: Received) -> bytes:
        """The plaintext of a standard (aes128gcm) message."""
        assert message.headers["content-encoding"] == "aes128gcm"
        return bytes(
            http_ece.decrypt(
                message.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
            )
        )


def vapid_claims(message: Received, server_key: str) -> dict[str, object]:
    """The claims of a standard message's VAPID token, once its signature verifies against
    `server_key` (and its `k` is that key)."""
    scheme, _, rest = message.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.split("=", 1) for part in rest.split(","))
    assert parts["k"] == server_key
    assert Vapid02.verify(message.headers["authorization"])
    claims: dict[str, object] = decode(parts["t"], server_key)
    return claims


class PushService:
    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.statuses: dict[str, int] = {}  # path → status to answer (201 otherwise)
        self.arrived = asyncio.Event()
        self.app = Starlette(routes=[Route("/push/{name}", self.push, methods=["POST"])])

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"

    async def push(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(request.url.path, dict(request.headers), body))
        self.arrived.set()
        return Response(status_code=self.statuses.get(request.url.path, 201))

    async def message(self, number: int, within: float = 10.0) -> Received:
        """The `number`th message received (from 1), once it has arrived."""
        async with asyncio.timeout(within):
            while len(self.received) < number:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received[number - 1]


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    service = PushService(free_port())
    async with serving(service.app, service.port):
        yield service
