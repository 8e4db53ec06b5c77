"""`solo export` and `solo import-archive`, in process and as real processes (issue 12)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from bench.archive_data import write_archive
from solo.cli import main
from tests.archive_helpers import fixture_archive

ROOT = Path(__file__).parent.parent


def _init(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data), "init", "--username", "alice"]) == 0
    capsys.readouterr()


def _posts(data: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "solo.db") as conn:
        return conn.execute(
            "SELECT published_at, visibility, summary, content_html, in_reply_to_id IS NOT NULL,"
            " (SELECT COUNT(*) FROM media m WHERE m.status_id = s.id)"
            " FROM statuses s ORDER BY id"
        ).fetchall()


def test_an_exported_archive_imports_into_a_fresh_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    _init(old, capsys)
    _init(new, capsys)
    assert main(["--data-dir", str(old), "import-archive", str(fixture_archive(tmp_path))]) == 0
    out, err = capsys.readouterr()
    assert "Imported 4 of 4 posts" in out and "skipped 1 boosts" in out
    assert "[" in err and "4/4 posts" in err  # the progress bar
    exported = tmp_path / "out" / "mine.zip"
    exported.parent.mkdir()
    assert main(["--data-dir", str(old), "export", str(exported)]) == 0
    assert "Wrote your archive" in capsys.readouterr().out
    assert [p.name for p in exported.parent.iterdir()] == ["mine.zip"]  # no temporary left
    with zipfile.ZipFile(exported) as archive:
        assert archive.testzip() is None
    assert main(["--data-dir", str(new), "import-archive", str(exported)]) == 0
    assert "Imported 4 of 4 posts" in capsys.readouterr().out
    assert _posts(new) == _posts(old)
    assert sum(int(str(row[5])) for row in _posts(new)) == 1


def test_a_refused_archive_is_an_error_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    _init(data, capsys)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"garbage")
    assert main(["--data-dir", str(data), "import-archive", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "not a zip archive" in err and "Nothing was imported" in err
    assert main(["--data-dir", str(data), "import-archive", str(tmp_path / "none.zip")]) == 1
    assert "there is no file" in capsys.readouterr().err
    assert _posts(data) == []


def _count(data: Path) -> int:
    try:
        with sqlite3.connect(data / "solo.db", timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM statuses").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_kill_9_mid_import_then_rerun_completes_with_nothing_doubled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    _init(data, capsys)
    archive = write_archive(tmp_path / "big.zip", posts=1500, images=150)
    command = [sys.executable, "-m", "solo", "--data-dir", str(data), "import-archive"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*command, str(archive)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while _count(data) < 200 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the import ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert 0 < _count(data) < 1500
    rerun = subprocess.run(
        [*command, str(archive)], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "Imported" in rerun.stdout and "of 1500 posts" in rerun.stdout
    with sqlite3.connect(data / "solo.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM statuses").fetchone()[0] == 1500
        distinct = "SELECT COUNT(DISTINCT imported_from) FROM statuses"
        assert conn.execute(distinct).fetchone()[0] == 1500
        assert conn.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 150
        orphans = conn.execute(
            "SELECT COUNT(*) FROM statuses WHERE in_reply_to_ap_id IS NOT NULL"
            " AND in_reply_to_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0  # every reply found its parent, stored before or after the kill
