"""A full disk: posts and uploads answer 507 with a message a person reads (an error page on the
web, `{"error": …}` in the API), store nothing half-way, and work again once space is freed.

SQLite is filled for real: `PRAGMA max_page_count` makes it report "database or disk is full"
exactly as a full disk does. The media folder is filled for real too, on a tiny tmpfs mounted
over it (that needs root; elsewhere those tests are skipped).
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from solo.config import Settings
from solo.db import Database
from solo.errors import DISK_FULL, storage_full
from tests.conftest import make_settings
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_media_attachments import png, snapshot, stored_files
from tests.test_web_pages import federation_of, token

HTML = {"Accept": "text/html"}


async def fill_database(db: Database) -> None:
    """Let the database grow no more, then fill what is left of it."""
    await db.execute("CREATE TABLE filler (x BLOB)")
    pages = int(await db.fetchval("PRAGMA page_count"))
    async with db.transaction() as conn:
        await conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    for _ in range(1000):
        try:
            await db.execute("INSERT INTO filler VALUES (zeroblob(2000))")
        except sqlite3.OperationalError as error:
            assert storage_full(error), error
            return
    raise AssertionError("the database never filled up")


async def free_database(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("PRAGMA max_page_count = 1000000")


async def test_posts_on_a_full_database_answer_507_and_store_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    db = federation_of(app).db
    auth = await user_token(client)
    assert (await login(client)).status_code == 303
    await fill_database(db)

    # Whatever room the pages still had takes a post or two; then the disk is full.
    for attempt in range(100):
        before = int(await db.fetchval("SELECT COUNT(*) FROM statuses"))
        answer = await client.post(
            "/api/v1/statuses", data={"status": f"post {attempt} " + "x" * 400}, headers=auth
        )
        after = int(await db.fetchval("SELECT COUNT(*) FROM statuses"))
        if answer.status_code != 200:
            break
        assert after == before + 1
    else:
        raise AssertionError("posting never failed on a full database")
    assert answer.status_code == 507, answer.text
    assert answer.json() == {"error": DISK_FULL}
    assert after == before  # the post is all there or not at all

    fields = {"csrf": await token(client), "text": "from the web " + "y" * 400, "back": "/"}
    page = await client.post("/statuses", data=fields, headers=HTML)
    assert page.status_code == 507
    assert page.headers["content-type"].startswith("text/html")
    assert "disk is full" in page.text and "<html" in page.text.lower()
    assert int(await db.fetchval("SELECT COUNT(*) FROM statuses")) == before

    data_dir = app.state.settings.data_dir
    for _ in range(100):
        rows, files = await db.fetchval("SELECT COUNT(*) FROM media"), stored_files(data_dir)
        uploaded = await client.post(
            "/api/v2/media", files={"file": ("p.png", png(), "image/png")}, headers=auth
        )
        if uploaded.status_code != 200:
            break
    else:
        raise AssertionError("uploading never failed on a full database")
    assert uploaded.status_code == 507 and uploaded.json() == {"error": DISK_FULL}
    assert await db.fetchval("SELECT COUNT(*) FROM media") == rows
    assert stored_files(data_dir) == files  # the files went with the row

    await free_database(db)
    again = await client.post("/api/v1/statuses", data={"status": "room again"}, headers=auth)
    assert again.status_code == 200, again.text


def noise_png(side: int = 160) -> bytes:
    """An image that does not compress: some 100 KB, more than the tiny disk holds."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """An instance whose media folder is a 64 KB filesystem."""
    settings = make_settings(tmp_path / "data")
    media = settings.media_dir
    media.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(media)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs for the full-disk tests: {mounted.stderr!r}")
        pytest.skip("mounting a small filesystem needs root")
    try:
        yield settings
    finally:
        subprocess.run(["umount", "-l", str(media)], check=True)


async def test_uploads_to_a_full_disk_answer_507_and_leave_no_file(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    auth = await user_token(client)
    picture = noise_png()
    assert len(picture) > 64 * 1024
    before = await snapshot(app)

    answer = await client.post(
        "/api/v2/media", files={"file": ("noise.png", picture, "image/png")}, headers=auth
    )
    assert answer.status_code == 507, answer.text
    assert answer.json() == {"error": DISK_FULL}

    assert (await login(client)).status_code == 303
    fields = {"csrf": await token(client), "text": "with a picture", "back": "/", "file_alt": ""}
    page = await client.post(
        "/statuses",
        data=fields,
        files=[("file", ("noise.png", picture, "image/png"))],
        headers=HTML,
    )
    assert page.status_code == 507
    assert "disk is full" in page.text and "<html" in page.text.lower()

    assert await snapshot(app) == before  # no media row, no post
    leftovers = [p for p in settings.media_dir.rglob("*") if p.is_file()]
    assert leftovers == []  # not even a temporary file

    small = await client.post(
        "/api/v2/media", files={"file": ("p.png", png(), "image/png")}, headers=auth
    )
    assert small.status_code == 200, small.text  # what fits is stored as ever
