"""Archives that are refused, each with a clear reason and nothing changed (issue 12, Bad input)."""

from __future__ import annotations

import stat
import time
import zipfile
from pathlib import Path

import pytest
from starlette.applications import Starlette

from solo.actions.archive_import import MAX_ITEMS, import_archive
from solo.actions.archive_zip import ArchiveError
from tests.archive_helpers import archive_of, federation_of_app, target_of

OUTBOX = {"type": "OrderedCollection", "orderedItems": []}


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("outbox.json", b"{}")
        archive.writestr("media_attachments/files/1/original/zero.jpg", bytes(64 * 1024 * 1024))
    return path


def _symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("outbox.json", b"{}")
        link = zipfile.ZipInfo("avatar.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def _huge_outbox(path: Path) -> Path:
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("outbox.json", "w") as outbox,
    ):
        outbox.write(b'{"type":"OrderedCollection","orderedItems":[')
        outbox.write(
            b",".join(
                b'{"type":"Announce","id":"https://old.example/%d/%x"}' % (n, n * 7919)
                for n in range(100_000)
            )
        )
        outbox.write(b"]}")
    return path


CASES = {
    "not-a-zip": (lambda p: (p.write_bytes(b"PK\x03\x04 but not really"), p)[1], "not a zip"),
    "traversal": (
        lambda p: archive_of(p, {"outbox.json": OUTBOX, "../../outside.txt": b"x"}),
        "points outside it",
    ),
    "absolute": (
        lambda p: archive_of(p, {"outbox.json": OUTBOX, "/etc/cron.d/x": b"x"}),
        "absolute path",
    ),
    "symlink": (_symlink, "symbolic link"),
    "bomb": (_bomb, "zip bomb"),
    "no-outbox": (lambda p: archive_of(p, {"actor.json": {}}), "has no outbox.json"),
    "not-json": (lambda p: archive_of(p, {"outbox.json": b'{"orderedItems": [nope'}), "JSON"),
    "not-a-collection": (lambda p: archive_of(p, {"outbox.json": b"[1, 2]"}), "OrderedCollection"),
    "too-many-items": (_huge_outbox, f"more than {MAX_ITEMS} activities"),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_hostile_archive_is_refused_and_nothing_changes(
    app: Starlette, tmp_path: Path, case: str
) -> None:
    make, reason = CASES[case]
    archive = make(tmp_path / f"{case}.zip")
    with pytest.raises(ArchiveError) as refused:
        await import_archive(target_of(app), archive, now=time.time())
    assert reason in refused.value.message
    assert refused.value.status == 422
    federation = federation_of_app(app)
    for table in ("statuses", "archive_posts", "media"):
        assert await federation.db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
    assert not (tmp_path / "outside.txt").exists()
    assert not list(federation.settings.media_dir.rglob("*.*"))


async def test_a_missing_attachment_is_listed_and_the_post_kept(
    app: Starlette, tmp_path: Path
) -> None:
    note = {
        "id": "https://old.example/users/a/statuses/1",
        "type": "Note",
        "published": "2020-01-01T00:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "content": "<p>hello</p>",
        "attachment": [{"type": "Document", "url": "../../../etc/passwd", "name": "x"}],
    }
    outbox = {"orderedItems": [{"type": "Create", "object": note}]}
    archive = archive_of(tmp_path / "a.zip", {"outbox.json": outbox})
    report = await import_archive(target_of(app), archive, now=time.time())
    assert report.imported == 1
    assert report.failures == [
        (note["id"], "attachment ../../../etc/passwd is missing or too large")
    ]
