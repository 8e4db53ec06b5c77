"""Mastodon archives for the tests: the hand-written fixture zipped, and hostile variants."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from solo.actions.archive_export import Source
from solo.actions.archive_import import Target
from solo.federation.context import Federation
from tests.conftest import FIXTURES

ARCHIVE_FIXTURE = FIXTURES / "mastodon-archive"


def zip_folder(folder: Path, target: Path) -> Path:
    """The folder zipped as Mastodon zips its archive: every file at its relative path."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def fixture_archive(tmp_path: Path) -> Path:
    return zip_folder(ARCHIVE_FIXTURE, tmp_path / "archive.zip")


def archive_of(target: Path, entries: dict[str, bytes | Any]) -> Path:
    """A zip with these entries; values that are not bytes are written as JSON."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in entries.items():
            data = value if isinstance(value, bytes) else json.dumps(value).encode()
            archive.writestr(name, data)
    return target


def federation_of_app(app: Starlette) -> Federation:
    federation: Federation = app.state.federation
    return federation


def target_of(app: Starlette) -> Target:
    federation = federation_of_app(app)
    return Target(federation.db, federation.settings, federation.storage)


def source_of(app: Starlette) -> Source:
    federation = federation_of_app(app)
    return Source(federation.db, federation.settings, federation.storage)
