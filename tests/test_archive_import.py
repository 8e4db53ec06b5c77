"""Importing one's old posts from a Mastodon archive (issue 12, item 6)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import httpx
from PIL import Image
from starlette.applications import Starlette

from solo.actions.archive_import import import_archive
from solo.federation.notes import parse_time
from solo.ids import id_to_unix
from tests.archive_helpers import federation_of_app, fixture_archive, target_of

OLD = "https://old.example/users/alice/statuses/"


async def _imported(app: Starlette) -> dict[str, dict[str, object]]:
    """Our imported posts by their original URL."""
    rows = await federation_of_app(app).db.fetchall(
        "SELECT * FROM statuses WHERE imported_from IS NOT NULL ORDER BY id"
    )
    return {row["imported_from"]: dict(row) for row in rows}


async def test_fixture_archive_becomes_posts_with_dates_threads_and_media(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    report = await import_archive(target_of(app), fixture_archive(tmp_path), now=time.time())
    assert (report.total, report.imported, report.boosts, report.failures) == (4, 4, 1, [])
    posts = await _imported(app)
    assert set(posts) == {f"https://old.example/@alice/{n}" for n in (101, 102, 104, 105)}
    first, reply = posts["https://old.example/@alice/101"], posts["https://old.example/@alice/102"]
    # The original date, and an id that sorts by it.
    assert first["published_at"] == parse_time("2019-05-04T10:00:00Z")
    assert abs(id_to_unix(int(str(first["id"]))) - float(str(first["published_at"]))) < 0.001
    assert [p["visibility"] for p in posts.values()] == ["public", "private", "unlisted", "direct"]
    assert "<script>" not in str(first["content_html"]) and "My first post" in str(
        first["content_html"]
    )
    # Threading among archived posts: the reply names our copy of its parent.
    assert reply["in_reply_to_id"] == first["id"]
    assert reply["in_reply_to_ap_id"] == f"https://solo.test/users/alice/statuses/{first['id']}"
    assert reply["conversation"] == first["conversation"]
    assert reply["summary"] == "garden spoilers" and reply["sensitive"] == 1
    # A reply to someone else keeps the URL it answered.
    answer = posts["https://old.example/@alice/104"]
    assert answer["in_reply_to_ap_id"] == "https://elsewhere.example/users/bob/statuses/1"
    # Nothing was sent: no delivery job, no activity of ours.
    db = federation_of_app(app).db
    assert await db.fetchval("SELECT COUNT(*) FROM jobs") == 0
    # The photo: its alt text kept, its EXIF (GPS, camera) gone.
    media = await db.fetchone("SELECT * FROM media WHERE status_id = ?", (first["id"],))
    assert media is not None and media["description"] == "Tomatoes on the vine"
    assert media["local"] == 1
    data = await federation_of_app(app).storage.get(media["storage_key"])
    assert data is not None
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
    # On the profile, marked as imported with a link to the original.
    profile = await client.get("/@alice")
    assert "My first post" in profile.text
    assert 'href="https://old.example/@alice/101"' in profile.text
    assert "Imported from old.example" in profile.text
    assert "A direct message" not in profile.text  # a visitor sees public posts only
    # In the outbox pages, as our own Notes.
    outbox = await client.get(
        "/users/alice/outbox?page=true", headers={"accept": "application/activity+json"}
    )
    items = outbox.json()["orderedItems"]
    contents = [item["object"]["content"] for item in items]
    assert any("My first post" in content for content in contents)
    assert all("followers only" not in content for content in contents)
    note = next(i["object"] for i in items if "My first post" in i["object"]["content"])
    assert note["published"] == "2019-05-04T10:00:00Z"
    assert note["attachment"][0]["name"] == "Tomatoes on the vine"
    # In search: its hashtag, now one of ours, and its words and alt text in full-text search.
    tagged = await client.get("/tags/garden")
    assert "My first post" in tagged.text
    for words in ('"first" "post"', '"tomatoes"'):
        found = await db.fetchall(
            "SELECT rowid FROM status_search WHERE status_search MATCH ?", (words,)
        )
        assert [row[0] for row in found] == [first["id"]], words


async def test_reimporting_stores_nothing_twice(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    archive = fixture_archive(tmp_path)
    await import_archive(target_of(app), archive, now=time.time())
    again = await import_archive(target_of(app), archive, now=time.time())
    assert (again.imported, again.already) == (0, 4)
    db = federation_of_app(app).db
    assert await db.fetchval("SELECT COUNT(*) FROM statuses") == 4
    assert await db.fetchval("SELECT COUNT(*) FROM media") == 1


async def test_an_interrupted_import_completes_on_rerun(
    app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A crash after the ids were reserved and the reply stored, before its parent: the rerun
    stores the parent at the id the reply already names."""
    target = target_of(app)
    archive = fixture_archive(tmp_path)
    await import_archive(target, archive, now=time.time())
    db = federation_of_app(app).db
    first = await db.fetchone(
        "SELECT id FROM statuses WHERE imported_from = 'https://old.example/@alice/101'"
    )
    assert first is not None
    async with db.transaction() as conn:  # as if the first batch had not committed that row
        await conn.execute("DELETE FROM media WHERE status_id = ?", (first["id"],))
        await conn.execute("DELETE FROM statuses WHERE id = ?", (first["id"],))
    report = await import_archive(target, archive, now=time.time())
    assert (report.imported, report.already) == (1, 3)
    posts = await _imported(app)
    assert posts["https://old.example/@alice/101"]["id"] == first["id"]
    assert posts["https://old.example/@alice/102"]["in_reply_to_id"] == first["id"]
    assert json.loads(str(posts["https://old.example/@alice/101"]["raw"]))["attachment"]
