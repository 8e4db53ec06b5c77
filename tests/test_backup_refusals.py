"""`solo backup` and `solo restore` from the command line: the round trip, and every bad file
refused with one clear line and nothing written; a backup killed with SIGKILL leaves nothing that
passes for a backup."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from solo.backup_format import MANIFEST_NAME
from solo.cli import main
from solo.cli_data import Bar
from solo.db import schema_version
from tests.conftest import initialise_fast, make_settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def instance(tmp_path: Path, template_root: Path) -> Path:
    settings = make_settings(tmp_path / "data")
    asyncio.run(initialise_fast(settings, template_root))
    (settings.data_dir / "solo.toml").write_text('domain = "solo.test"\nusername = "alice"\n')
    return settings.data_dir


@pytest.fixture
def backup_file(instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    target = tmp_path / "backup.tar"
    code, out, err = run(capsys, "--data-dir", str(instance), "backup", str(target))
    assert code == 0, err
    assert "Backed up @alice@solo.test" in out and "keep it as safe" in out
    assert "Database: done" in err, "the progress is shown"
    return target


def rewritten(source: Path, target: Path, change: dict[str, object]) -> Path:
    """`source` with its manifest changed (the other members as they were)."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == MANIFEST_NAME:
                data = json.dumps({**json.loads(data), **change}).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return target


def refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backup: Path, *expected: str
) -> None:
    target = tmp_path / "target"
    code, _, err = run(capsys, "--data-dir", str(target), "restore", str(backup))
    assert code == 1
    assert err.startswith("solo: ") and err.strip().count("\n") == 0, err
    for words in expected:
        assert words in err, err
    assert not target.exists(), "something was written"
    assert not list(tmp_path.glob(".target.restoring-*")), "a temporary folder was left"


def test_backup_then_restore_from_the_command_line(
    backup_file: Path, instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "--data-dir", str(tmp_path / "x"), "restore", "--check", str(backup_file)
    )
    assert code == 0 and "is a complete backup of @alice@solo.test" in out
    assert not (tmp_path / "x").exists()
    target = tmp_path / "restored"
    target.mkdir()  # an empty folder is fine
    code, out, err = run(capsys, "--data-dir", str(target), "restore", str(backup_file))
    assert code == 0, err
    assert "Restored @alice@solo.test" in out
    assert "Checking: done" in err and "Restoring: done" in err
    assert (target / "solo.toml").read_text() == (instance / "solo.toml").read_text()
    code, out, _ = run(capsys, "--data-dir", str(target), "queue")
    assert code == 0 and "push" in out, "the restored instance opens"


def test_restoring_over_an_instance_is_refused(
    backup_file: Path, instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (instance / "solo.db").read_bytes()
    code, _, err = run(capsys, "--data-dir", str(instance), "restore", str(backup_file))
    assert code == 1
    assert "already holds an instance" in err and "nothing was changed" in err
    assert (instance / "solo.db").read_bytes() == before


def test_a_non_empty_folder_is_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "--data-dir", str(folder), "restore", str(backup_file))
    assert code == 1 and "already holds files" in err
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_a_truncated_backup_is_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = backup_file.read_bytes()
    for cut in (len(data) // 2, 700, len(data) - 3000):
        short = tmp_path / f"short-{cut}.tar"
        short.write_bytes(data[:cut])
        refused(capsys, tmp_path, short, "truncated")


def test_a_damaged_backup_is_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(backup_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the database's pages
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    refused(capsys, tmp_path, damaged, "solo.db", "checksum")


def test_a_backup_from_a_newer_solo_is_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = rewritten(backup_file, tmp_path / "newer.tar", {"schema_version": schema_version() + 1})
    refused(capsys, tmp_path, newer, "newer Solo", "upgrade Solo")


def test_files_that_are_not_backups_are_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(50_000))
    refused(capsys, tmp_path, noise, "not a Solo backup")
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as archive:
        archive.add(backup_file, arcname="photo.jpg")
    refused(capsys, tmp_path, other, "not a Solo backup")
    wrong = rewritten(backup_file, tmp_path / "wrong.tar", {"format": "something-else"})
    refused(capsys, tmp_path, wrong, "not a Solo backup")
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    refused(capsys, tmp_path, empty, "not a Solo backup")
    refused(capsys, tmp_path, tmp_path / "missing.tar", "no such file")


def test_a_member_outside_the_data_folder_is_refused(
    backup_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tarfile.open(backup_file) as archive:
        manifest = json.loads(archive.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
    files = [*manifest["files"], {"name": "media/../../evil", "size": 1, "sha256": "0" * 64}]
    evil = rewritten(backup_file, tmp_path / "evil.tar", {"files": files})
    refused(capsys, tmp_path, evil, "names a file Solo never writes")
    assert not (tmp_path / "evil").exists()


def test_a_backup_killed_midway_leaves_nothing_that_passes_for_one(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(instance / "solo.db") as conn:
        conn.execute("CREATE TABLE filler (data BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(1024 * 1024))", [()] * 24)
    target = tmp_path / "killed.tar"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "solo",
            "--data-dir",
            str(instance),
            "backup",
            str(target),
            "--pause",
            "0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(instance.glob(".backup-*")) and time.monotonic() < deadline:
            assert process.poll() is None, "the backup ended before it could be killed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert not target.exists()
    partials = list(tmp_path.glob(".killed.tar.partial-*"))
    assert partials, "the backup wrote under its final name"
    refused(capsys, tmp_path, partials[0], "not a Solo backup")
    # The next backup clears what the killed one left, and completes.
    code, _, err = run(capsys, "--data-dir", str(instance), "backup", str(target))
    assert code == 0, err
    assert not list(instance.glob(".backup-*"))
    code, _, _ = run(capsys, "--data-dir", str(tmp_path / "ok"), "restore", str(target))
    assert code == 0


def test_a_backup_needs_an_instance_and_a_file_name(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "none"), "backup", str(tmp_path / "b"))
    assert code == 1 and "no Solo instance" in err
    code, _, err = run(capsys, "--data-dir", str(instance), "backup", str(tmp_path))
    assert code == 1 and "is a folder" in err
    code, _, err = run(capsys, "--data-dir", str(instance), "backup", str(tmp_path / "no" / "b"))
    assert code == 1 and "is not a folder" in err
    assert not list(tmp_path.glob("**/.b.partial-*")) and not list(instance.glob(".backup-*"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_on_a_terminal() -> None:
    screen = Terminal()
    bar = Bar(screen)
    for done in (0, 512, 1024):
        bar("database", done, 1024)
    bar("writing", 10, 10)
    bar.end()
    text = screen.getvalue()
    assert "\rDatabase  [" + "#" * 30 + "] 100.0%\n" in text
    assert "\rWriting   [" + "#" * 30 + "] 100.0%\n" in text
