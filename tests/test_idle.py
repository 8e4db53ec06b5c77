"""An idle server stays small (issue 15): what `solo serve` leaves unimported until it is needed,
the routes loaded at the first request that reaches them, and the shared idle wakeup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from solo import ticks
from solo.config import Settings
from solo.db import Database
from solo.instance import VAPID_KEY
from solo.lazy import LazyRoutes, lazy
from solo.store import account as account_store
from solo.webpush import VapidKey
from tests.conftest import initialise_fast

# Imported by a fresh process as `solo serve` runs: the app started, two federation requests
# answered, then a page.
CHILD = """
import asyncio, json, sys
from pathlib import Path
import httpx
import solo.cli
from solo.app import create_app
from solo.config import Settings
from solo.db import Database
from solo.instance import VAPID_KEY

HEAVY = ("cryptography", "jinja2", "babel", "nh3", "markdown_it", "py_vapid", "http_ece",
         "solo.app_routes", "solo.api.routes", "solo.web.pages", "solo.edge.templating",
         "solo.archive_cli", "solo.backup", "solo.doctor")

def loaded():
    return sorted(name for name in HEAVY if name in sys.modules)

async def main():
    settings = Settings(data_dir=Path(sys.argv[1]), domain="solo.test", username="alice")
    seen = {"imported": loaded()}
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        seen["started"] = loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            assert (await client.get("/.well-known/nodeinfo")).status_code == 200
            actor = await client.get(
                "/users/alice", headers={"Accept": "application/activity+json"}
            )
            assert actor.status_code == 200, actor.status_code
            seen["federated"] = loaded()
            page = await client.get("/users/alice", headers={"Accept": "text/html"})
            assert page.status_code == 200, page.status_code
            seen["page"] = loaded()
    print(json.dumps(seen))

asyncio.run(main())
"""


async def test_serve_leaves_heavy_modules_until_they_are_needed(
    settings: Settings, template_root: Path
) -> None:
    await initialise_fast(settings, template_root)
    # As at every start but the first, which makes the Web Push key (with cryptography).
    db = Database(settings.db_path)
    await db.open()
    async with db.transaction() as conn:
        await account_store.set_meta(conn, VAPID_KEY, VapidKey.generate().private_pem)
    await db.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(settings.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["imported"] == []
    assert seen["started"] == []
    # Answering peers (nodeinfo, the actor) needs no page, template or signature.
    assert seen["federated"] == []
    # The profile page loads the pages, the API and the templates.
    assert {"solo.app_routes", "solo.api.routes", "solo.web.pages", "jinja2"} <= set(seen["page"])


def _endpoint(name: str) -> Route:
    async def answer(request: Request) -> Response:
        return PlainTextResponse(name)

    return Route(f"/{name}", answer, methods=["GET"], name=name)


def _lazy_app(loads: list[int]) -> Starlette:
    def load() -> list[BaseRoute]:
        loads.append(1)
        return [_endpoint("b"), _endpoint("c")]

    return Starlette(routes=[_endpoint("a"), LazyRoutes(load), _endpoint("d")])


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_lazy_routes_load_at_the_first_request_that_reaches_them() -> None:
    loads: list[int] = []
    async with _client(_lazy_app(loads)) as client:
        assert (await client.get("/a")).text == "a"
        assert loads == []  # answered before them
        assert (await client.get("/b")).text == "b"
        assert (await client.get("/c")).text == "c"
        assert (await client.get("/d")).text == "d"  # the routes after them still answer
        assert loads == [1]  # loaded once


async def test_lazy_routes_answer_as_their_routes_would() -> None:
    loads: list[int] = []
    app = _lazy_app(loads)
    async with _client(app) as client:
        assert (await client.post("/c")).status_code == 405  # a partial match, as before
        assert (await client.get("/nowhere")).status_code == 404
    assert app.url_path_for("c") == "/c"


def test_lazy_module_imports_at_first_attribute() -> None:
    sys.modules.pop("colorsys", None)  # a module nothing here uses
    module = lazy("colorsys")
    assert "colorsys" not in sys.modules
    assert module.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules


@pytest.mark.parametrize(
    ("now", "at_most", "expected"),
    [
        (1000 * 60 + 0.5, 60.0, 60.0),  # on the tick: the next one
        (1000 * 60 + 10.5, 60.0, 50.0),
        (1000 * 60 + 59.9, 60.0, 60.6),  # a moment before a tick: the one after it
        (1000 * 60 + 10.5, 300.0, 290.0),  # several minutes: the last tick within them
        (1000 * 60 + 10.5, 30.0, 30.0),  # under a minute: as it is
    ],
)
def test_next_tick_is_shared_by_every_idle_timer(
    monkeypatch: pytest.MonkeyPatch, now: float, at_most: float, expected: float
) -> None:
    monkeypatch.setattr(time, "time", lambda: now)
    assert ticks.next_tick(at_most) == pytest.approx(expected)
