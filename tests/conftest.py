"""Shared fixtures: a fresh instance per test in tmp_path, driven through the real app."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from solo.app import create_app
from solo.config import Settings
from solo.instance import initialise

PASSWORD = "correct horse battery"

try:  # in the test tools where PyPI has a wheel; Solo's optional `solo[fast]`
    import uvloop
except ImportError:  # pragma: no cover - depends on the platform
    uvloop = None

# The `solo serve` processes tests start run on asyncio's loop, as `make run` installs them, even
# though the test tools include uvloop; tests/test_processes.py federates on uvloop's as well.
os.environ.setdefault("SOLO_EVENT_LOOP", "asyncio")

# The lean clients speak to the event loop's transports directly, where uvloop's differ from
# asyncio's (their classes, their sockets): their tests run on both loops, every other test on
# asyncio's alone (pytest-asyncio asks this of every async test, and hides a lone loop's name).
ON_BOTH_LOOPS = {"test_answer_reader.py", "test_connect.py", "test_key_client.py", "test_poster.py"}


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if uvloop is None or item.path.name not in ON_BOTH_LOOPS:
        return {"asyncio": asyncio.new_event_loop}
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


FIXTURES = Path(__file__).parent / "fixtures"


def make_settings(data_dir: Path, **values: object) -> Settings:
    defaults: dict[str, object] = {
        "data_dir": data_dir,
        "domain": "solo.test",
        "username": "alice",
    }
    defaults.update(values)
    return Settings(**defaults)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


_templates: dict[str, Path] = {}


async def initialise_fast(settings: Settings, template_root: Path) -> None:
    """`initialise`, once per username per session; later instances copy that database.

    Two RSA key generations and an Argon2 hash per test would triple the suite's time. The
    copies share keys, which no test relies on being distinct.
    """
    template = _templates.get(settings.username)
    if template is None:
        template_settings = make_settings(
            template_root / settings.username, username=settings.username
        )
        await initialise(template_settings, PASSWORD)
        template = _templates[settings.username] = template_settings.db_path
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.db_path)


@pytest.fixture(scope="session")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("templates")


@pytest.fixture
async def app(settings: Settings, template_root: Path) -> AsyncIterator[Starlette]:
    await initialise_fast(settings, template_root)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
        yield http
