"""Solo instances as real `solo serve` processes on 127.0.0.1, reached as `name.test:port`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from tests.conftest import PASSWORD, initialise_fast, make_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SoloProcess:
    """One instance: `start`, `kill` (SIGKILL) and `start` again on the same data."""

    def __init__(self, name: str, root: Path, **environment: str) -> None:
        self.name = name
        self.port = free_port()
        self.domain = f"{name}.test:{self.port}"
        self.settings = make_settings(root / name, domain=self.domain, username=name, scheme="http")
        self.base_url = f"http://{self.domain}"
        self.actor = f"{self.base_url}/users/{name}"
        self.environment = {
            "SOLO_DATA_DIR": str(self.settings.data_dir),
            "SOLO_DOMAIN": self.domain,
            "SOLO_SCHEME": "http",
            "SOLO_USERNAME": name,
            "SOLO_PORT": str(self.port),
            "SOLO_ALLOW_PRIVATE_ADDRESSES": "true",
            "SOLO_RESOLVE": "*.test=127.0.0.1",
            **environment,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / f"{name}.log"
        self.command = ["-m", "solo", "serve"]  # what `start` runs with this Python

    async def initialise(self, template_root: Path) -> None:
        await initialise_fast(self.settings, template_root)

    async def start(self) -> None:
        env = {**os.environ, **self.environment}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.command], env=env, stdout=log, stderr=log
            )
        async with httpx.AsyncClient(timeout=1) as client:
            for _ in range(400):
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()}")
                try:
                    await client.get(f"http://127.0.0.1:{self.port}/.well-known/nodeinfo")
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer within 20 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing, as a power cut or the OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def client(self) -> httpx.AsyncClient:
        """A client for this instance, as a browser would reach it (Host: name.test:port)."""
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Host": self.domain},
            timeout=10,
        )

    @asynccontextmanager
    async def logged_in(self) -> AsyncIterator[httpx.AsyncClient]:
        """A browser-like client, logged in through the login form."""
        async with self.client() as client:
            page = await client.get("/login")
            token = _csrf(page.text)
            response = await client.post(
                "/login", data={"csrf": token, "username": self.name, "password": PASSWORD}
            )
            if response.status_code != 303:
                raise RuntimeError(f"cannot log in to {self.name}: {response.status_code}")
            yield client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF field on the page")
    return match.group(1)


async def submit(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """Fill and send a form of `page`, as a browser would: with the page's CSRF token."""
    token = _csrf((await client.get(page)).text)
    return await client.post(action, data={"csrf": token, **fields})
