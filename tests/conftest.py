"""Shared fixtures: a fresh instance per test in tmp_path, driven through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from solo.app import create_app
from solo.config import Settings
from solo.instance import initialise

PASSWORD = "correct horse battery"
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


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    await initialise(settings, PASSWORD)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
        yield http
