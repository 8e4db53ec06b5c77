"""The settings page's backup download: the password again, CSRF, a streamed file that
`solo restore` takes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from starlette.applications import Starlette

from solo.actions import statuses
from solo.config import Settings
from solo.restore import restore
from tests.conftest import PASSWORD
from tests.test_login import csrf_from, login


async def test_the_settings_page_downloads_a_backup_that_restores(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await statuses.post(app.state.federation, "kept in the backup")
    await login(client)
    page = await client.get("/settings")
    assert 'action="/settings/backup#backup"' in page.text
    token = csrf_from(page.text)
    target = tmp_path / "download.tar"
    async with client.stream(
        "POST", "/settings/backup", data={"csrf": token, "password": PASSWORD}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-tar"
        disposition = response.headers["content-disposition"]
        assert re.fullmatch(r'attachment; filename="solo-alice-\d{4}-\d\d-\d\d\.tar"', disposition)
        assert response.headers["cache-control"] == "no-store"
        length = int(response.headers["content-length"])
        with target.open("wb") as file:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
    assert target.stat().st_size == length
    manifest = restore(target, tmp_path / "restored")
    assert manifest.username == "alice"
    assert not list(settings.data_dir.glob(".backup-*")), "the staging folder is left behind"


async def test_a_wrong_password_or_a_missing_token_makes_no_backup(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await login(client)
    token = csrf_from((await client.get("/settings")).text)
    wrong = await client.post("/settings/backup", data={"csrf": token, "password": "guess"})
    assert wrong.status_code == 403
    assert "text/html" in wrong.headers["content-type"]
    assert "The password is not right, so no backup was made." in wrong.text
    forged = await client.post("/settings/backup", data={"password": PASSWORD})
    assert forged.status_code == 403 and "x-tar" not in forged.headers["content-type"]
    assert not list(settings.data_dir.glob(".backup-*"))


async def test_the_backup_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.post("/settings/backup", data={"password": PASSWORD})
    assert response.status_code in (302, 303, 401, 403)
    assert "x-tar" not in response.headers.get("content-type", "")
