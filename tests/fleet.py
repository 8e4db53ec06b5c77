"""Several Solo instances in one process, talking over ASGI transports routed by host name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette

from solo.app import create_app
from solo.config import Settings
from solo.federation.context import Federation
from tests.conftest import initialise_fast, make_settings


class Fleet(httpx.AsyncBaseTransport):
    """Routes each request to the app serving its host; unknown hosts do not connect."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.requests: list[httpx.Request] = []
        # Awaited before each request is routed: a test holds some back with it.
        self.gate: Callable[[httpx.Request], Awaitable[None]] | None = None

    def add(self, domain: str, app: Starlette) -> None:
        self.apps[domain] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.url.netloc.decode()
        transport = self.apps.get(host)
        if transport is None or host in self.down:
            raise httpx.ConnectError(f"{host} is unreachable", request=request)
        if self.gate is not None:
            await self.gate(request)
        return await transport.handle_async_request(request)


@dataclass
class Node:
    settings: Settings
    app: Starlette
    client: httpx.AsyncClient

    @property
    def federation(self) -> Federation:
        federation: Federation = self.app.state.federation
        return federation

    @property
    def actor(self) -> str:
        return f"{self.settings.base_url}/users/{self.settings.username}"


@asynccontextmanager
async def fleet_of(
    root: Path, template_root: Path, *names: str, **values: object
) -> AsyncIterator[tuple[Fleet, dict[str, Node]]]:
    """Instances `name@name.test`, each with its own database, all reachable by host name."""
    fleet = Fleet()
    nodes: dict[str, Node] = {}
    async with AsyncExitStack() as stack:
        for name in names:
            settings = make_settings(root / name, domain=f"{name}.test", username=name, **values)
            await initialise_fast(settings, template_root)
            app = create_app(settings, transport=fleet)
            await stack.enter_async_context(app.router.lifespan_context(app))
            fleet.add(settings.domain, app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=settings.base_url
                )
            )
            nodes[name] = Node(settings, app, client)
        yield fleet, nodes


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, what: str = "condition"
) -> None:
    """Poll `check` until it holds; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
