"""`solo backup` and `solo restore`: a live instance backed up, restored elsewhere, and still
trusted by a peer with the same keys; the online copy under writes; the file's manifest."""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
import tarfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from PIL import Image
from starlette.applications import Starlette

from solo.actions import follows as follow_actions
from solo.actions import media as media_actions
from solo.actions import profile, statuses
from solo.app import create_app
from solo.backup import copy_database, write_backup
from solo.backup_format import MANIFEST_NAME
from solo.config import Settings
from solo.db import schema_version
from solo.restore import restore
from solo.store import statuses as status_store
from solo.store.account import get_account
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Fleet, Node, eventually


def png(colour: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


@asynccontextmanager
async def running(stack: AsyncExitStack, fleet: Fleet, settings: Settings) -> AsyncIterator[Node]:
    app = create_app(settings, transport=fleet)
    async with app.router.lifespan_context(app):
        fleet.add(settings.domain, app)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url
        ) as client:
            yield Node(settings, app, client)


def keys_of(db_path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT * FROM keys")}


async def test_a_restored_instance_has_its_posts_media_and_keys_and_a_peer_still_trusts_it(
    tmp_path: Path, template_root: Path
) -> None:
    fleet = Fleet()
    alice_settings = make_settings(tmp_path / "alice", domain="alice.test", username="alice")
    bob_settings = make_settings(tmp_path / "bob", domain="bob.test", username="bob")
    for settings in (alice_settings, bob_settings):
        await initialise_fast(settings, template_root)
    backup_file = tmp_path / "alice.tar"
    async with AsyncExitStack() as stack:
        bob = await stack.enter_async_context(running(stack, fleet, bob_settings))
        async with running(stack, fleet, alice_settings) as alice:
            await follow_actions.follow(bob.federation, "@alice@alice.test")
            picture = await media_actions.upload(alice.federation, png(), filename="a.png")
            before = await statuses.post(
                alice.federation, "Before the move", media_ids=[picture.id]
            )
            await profile.update_profile(
                alice.federation,
                display_name="Alice",
                bio="",
                fields=[],
                locked=False,
                avatar=profile.ImageUpload(png((0, 0, 200)), "me.png", "image/png"),
            )
            # A remote file in the cache: it refills from its origin, so it stays out.
            await alice.federation.storage.put("cache/ab/abcdef", b"theirs", "image/png")
            await eventually(
                lambda: _has_post(bob, "Before the move"), what="bob to receive the post"
            )
            manifest = await write_backup(alice_settings, backup_file)

        names = [entry.name for entry in manifest.files]
        assert picture.storage_key and f"media/{picture.storage_key}" in names
        assert picture.thumbnail_key is None or f"media/{picture.thumbnail_key}" in names
        assert any(name.startswith("media/profile/") for name in names)
        assert not any(name.startswith("media/cache/") for name in names)
        with tarfile.open(backup_file) as archive:
            members = archive.getnames()
            assert members[0] == MANIFEST_NAME
            document = json.loads(archive.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
        assert members[1:] == names
        assert document["schema_version"] == schema_version()
        assert document["solo_version"] and document["created_at"].endswith("Z")
        assert all(len(item["sha256"]) == 64 for item in document["files"])

        restored_dir = tmp_path / "restored"
        restore(backup_file, restored_dir)
        assert keys_of(restored_dir / "solo.db") == keys_of(alice_settings.db_path)
        for name in names[1:]:
            original = alice_settings.data_dir / name
            assert (restored_dir / name).read_bytes() == original.read_bytes()
        assert not list(tmp_path.glob(".restored.restoring-*"))

        # The restored instance serves the same actor and its post, with its media.
        restored = dataclasses.replace(alice_settings, data_dir=restored_dir)
        async with running(stack, fleet, restored) as again:
            status = await status_store.get_status(again.federation.db, before.id)
            assert status is not None and "Before the move" in status.content_html
            media_url = f"/media/{picture.storage_key}"
            assert (await again.client.get(media_url)).content == (
                alice_settings.data_dir / "media" / str(picture.storage_key)
            ).read_bytes()
            account = await get_account(again.federation.db)
            assert account is not None and account.avatar_url
            avatar = await again.client.get(account.avatar_url.removeprefix("http://alice.test"))
            assert avatar.status_code == 200

            # Bob checks the restored instance's signature with the key he had cached
            # before: nothing is refetched, so the key is the very same.
            seen = len(fleet.requests)
            await statuses.post(again.federation, "After the restore")
            await eventually(
                lambda: _has_post(bob, "After the restore"), what="bob to trust the restored alice"
            )
            refetched = [
                request
                for request in fleet.requests[seen:]
                if request.method == "GET" and request.url.host == "alice.test"
            ]
            assert refetched == []


async def _has_post(node: Node, text: str) -> bool:
    found = await node.federation.db.fetchval(
        "SELECT count(*) FROM statuses WHERE content_html LIKE ?", (f"%{text}%",)
    )
    return bool(found)


def filler_database(path: Path, megabytes: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB)")
        conn.executemany(
            "INSERT INTO filler (data) VALUES (randomblob(1024 * 1024))",
            [()] * megabytes,
        )


def test_writes_during_the_copy_neither_restart_it_nor_get_half_in(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    filler_database(source, 24)
    writer = sqlite3.connect(source, isolation_level=None)
    steps: list[int] = []

    def write_between_steps(stage: str, done: int, total: int) -> None:
        steps.append(done)
        # Another connection writes while the copy is under way, as the server does.
        writer.execute("INSERT INTO filler (data) VALUES (randomblob(100000))")

    try:
        copy_database(source, target, write_between_steps)
    finally:
        writer.close()
    assert len(steps) >= 5
    assert steps == sorted(steps), "the copy started over"
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM filler").fetchone()[0] == 24
    with sqlite3.connect(source) as conn:
        assert conn.execute("SELECT count(*) FROM filler").fetchone()[0] == 24 + len(steps)


async def test_a_backup_of_a_running_app_is_consistent(
    app: Starlette, settings: Settings, tmp_path: Path
) -> None:
    federation = app.state.federation
    for number in range(5):
        await statuses.post(federation, f"note {number}")
    manifest = await write_backup(settings, tmp_path / "b.tar")
    assert manifest.username == "alice" and manifest.domain == "solo.test"
    assert [entry.name for entry in manifest.files] == ["solo.db"]
    restore(tmp_path / "b.tar", tmp_path / "again")
    with sqlite3.connect(tmp_path / "again" / "solo.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = conn.execute("SELECT count(*) FROM statuses WHERE actor_id IS NULL").fetchone()[0]
    assert count == 5
    assert (tmp_path / "b.tar").stat().st_mode & 0o077 == 0, "a backup holds the keys"
    assert not list(settings.data_dir.glob(".backup-*")), "the staging folder is left behind"
