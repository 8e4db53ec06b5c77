"""The Archive settings page: download, upload, progress, refusals (issue 12, items 5 and 6)."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import httpx
from starlette.applications import Starlette

from solo.actions.archive_jobs import ArchiveImports
from solo.app import create_app
from solo.config import Settings
from tests.archive_helpers import archive_of, federation_of_app, fixture_archive
from tests.conftest import initialise_fast
from tests.test_login import csrf_from, login


def imports(app: Starlette) -> ArchiveImports:
    found: ArchiveImports = app.state.archive_imports
    return found


async def _upload(client: httpx.AsyncClient, data: bytes, name: str = "a.zip") -> httpx.Response:
    page = await client.get("/settings/archive")
    return await client.post(
        "/settings/archive/import",
        data={"csrf": csrf_from(page.text)},
        files={"archive": (name, data, "application/zip")},
    )


async def test_the_page_needs_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/settings/archive", "/settings/archive/export"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_upload_imports_in_the_background_and_shows_the_outcome(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client)
    settings_page = await client.get("/settings")
    assert 'href="/settings/archive"' in settings_page.text
    response = await _upload(client, fixture_archive(tmp_path).read_bytes())
    assert response.status_code == 303
    await imports(app).wait()
    page = await client.get("/settings/archive")
    assert "Imported 4 of 4 posts" in page.text and "skipped 1 boosts" in page.text
    assert "My first post" in (await client.get("/@alice")).text
    # The uploaded file is not kept once imported.
    folder = federation_of_app(app).settings.data_dir / "imports"
    assert list(folder.iterdir()) == []


async def test_a_refused_upload_says_why_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client)
    response = await _upload(client, b"this is not a zip at all")
    assert response.status_code == 422
    assert "not a zip archive" in response.text
    traversal = archive_of(tmp_path / "evil.zip", {"outbox.json": {}, "../../etc/x": b"x"})
    response = await _upload(client, traversal.read_bytes())
    assert response.status_code == 422 and "points outside it" in response.text
    db = federation_of_app(app).db
    assert await db.fetchval("SELECT COUNT(*) FROM archive_imports") == 0
    folder = federation_of_app(app).settings.data_dir / "imports"
    assert list(folder.iterdir()) == []


async def test_a_bad_outbox_fails_on_the_page_with_nothing_imported(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client)
    broken = archive_of(tmp_path / "b.zip", {"outbox.json": b'{"orderedItems": [{"type": '})
    assert (await _upload(client, broken.read_bytes())).status_code == 303
    await imports(app).wait()
    page = await client.get("/settings/archive")
    assert "was not imported" in page.text and "not valid JSON" in page.text
    db = federation_of_app(app).db
    assert await db.fetchval("SELECT COUNT(*) FROM statuses") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM archive_posts") == 0


async def test_the_download_is_a_mastodon_archive_that_imports_again(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client)
    await _upload(client, fixture_archive(tmp_path).read_bytes())
    await imports(app).wait()
    response = await client.get("/settings/archive/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        assert {"actor.json", "outbox.json", "likes.json", "bookmarks.json"} <= names
        outbox = json.loads(archive.read("outbox.json"))
        assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 4
        creates = [item for item in outbox["orderedItems"] if item["type"] == "Create"]
        assert len(creates) == 4
        photo = next(c for c in creates if c["object"]["attachment"])["object"]["attachment"][0]
        assert photo["url"].startswith("media_attachments/files/") and photo["url"] in names
        assert photo["name"] == "Tomatoes on the vine"
        actor = json.loads(archive.read("actor.json"))
        assert actor["outbox"] == "outbox.json" and actor["preferredUsername"] == "alice"


async def test_a_server_started_after_a_crash_resumes_the_unfinished_import(
    settings: Settings, template_root: Path, tmp_path: Path
) -> None:
    """The row still says running and the upload is in imports/: as after a kill -9."""
    await initialise_fast(settings, template_root)
    folder = settings.data_dir / "imports"
    folder.mkdir()
    kept = fixture_archive(tmp_path).rename(folder / "archive-left.zip")
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute(
            "INSERT INTO archive_imports (path, filename, state, total, done, created_at)"
            " VALUES (?, 'mine.zip', 'running', 4, 2, 0)",
            (str(kept),),
        )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await imports(application).wait()
        db = federation_of_app(application).db
        assert await db.fetchval("SELECT state FROM archive_imports") == "done"
        assert await db.fetchval("SELECT COUNT(*) FROM statuses") == 4
    assert not kept.exists()
