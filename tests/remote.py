"""Fake remote servers for process tests: many virtual hosts in one uvicorn server.

Each `hN.test:port` serves actors `/users/<name>` (all sharing one RSA key, each with its own
keyId) and inboxes that record what they receive. Served on 127.0.0.1 by a real uvicorn, so
real `solo serve` processes reach them over sockets (with SOLO_RESOLVE="*.test=127.0.0.1").
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from solo.federation.signatures import sign_headers

AS_TYPE = "application/activity+json"


class RemoteServers:
    def __init__(self, port: int, *, inbox_delay: float = 0.0) -> None:
        self.port = port
        self.inbox_delay = inbox_delay
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.received: Counter[str] = Counter()  # host → deliveries
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/users/{name}", self.actor_endpoint),
                Route("/inbox", self.inbox, methods=["POST"]),
                Route("/users/{name}/inbox", self.inbox, methods=["POST"]),
            ]
        )

    def host(self, n: int) -> str:
        return f"h{n}.test:{self.port}"

    def actor_id(self, host: str, name: str) -> str:
        return f"http://{host}/users/{name}"

    def actor(self, host: str, name: str) -> dict[str, Any]:
        actor = self.actor_id(host, name)
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{actor}/inbox",
            "endpoints": {"sharedInbox": f"http://{host}/inbox"},
            "publicKey": {
                "id": f"{actor}#main-key",
                "owner": actor,
                "publicKeyPem": self.public_pem,
            },
        }

    async def actor_endpoint(self, request: Request) -> Response:
        host = request.headers["host"]
        body = json.dumps(self.actor(host, request.path_params["name"]))
        return Response(body, media_type=AS_TYPE)

    async def inbox(self, request: Request) -> Response:
        body = await request.body()
        if self.inbox_delay:
            await asyncio.sleep(self.inbox_delay)
        self.received[request.headers["host"]] += 1
        self.bodies.append(json.loads(body))
        return Response(status_code=202)

    def signed_post(
        self, actor: str, url: str, activity: dict[str, Any], host: str
    ) -> tuple[bytes, dict[str, str]]:
        """A POST body and headers signed by `actor` (whose key is ours), for `url` at `host`."""
        body = json.dumps(activity).encode()
        headers = {"Content-Type": AS_TYPE, "Host": host}
        headers.update(
            sign_headers(
                "POST", url, headers, body, key_id=f"{actor}#main-key", private_key=self.key
            )
        )
        return body, headers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(app: ASGIApp, port: int) -> AsyncIterator[None]:
    """`app` under uvicorn on 127.0.0.1:`port`, from when it answers until the block ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@asynccontextmanager
async def remote_servers(*, inbox_delay: float = 0.0) -> AsyncIterator[RemoteServers]:
    servers = RemoteServers(free_port(), inbox_delay=inbox_delay)
    async with serving(servers.app, servers.port):
        yield servers


async def post_all(
    requests: list[tuple[str, bytes, dict[str, str]]], *, concurrency: int = 16
) -> list[int | None]:
    """POST each (url, body, headers); the status, or None when the connection failed."""
    results: list[int | None] = [None] * len(requests)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(index: int, url: str, body: bytes, headers: dict[str, str]) -> None:
            async with slots:
                try:
                    response = await client.post(url, content=body, headers=headers)
                    results[index] = response.status_code
                except httpx.TransportError:
                    results[index] = None

        await asyncio.gather(*(one(i, *request) for i, request in enumerate(requests)))
    return results
