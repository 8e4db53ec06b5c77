"""The `solo` command, run in process and as a real process."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from solo.cli import COMMANDS, build_parser, main
from solo.config import load_settings
from solo.db import Database, schema_version
from solo.passwords import check_password
from solo.store.account import get_account

README = Path(__file__).parent.parent / "README.md"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stored_password_hash(data: Path) -> str:
    async def read() -> str:
        db = Database(data / "solo.db")
        await db.open()
        try:
            account = await get_account(db)
            assert account is not None
            return account.password_hash
        finally:
            await db.close()

    return asyncio.run(read())


def test_init_creates_an_instance_and_prints_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "init", "--username", "carol")
    assert code == 0
    assert "Created @carol@localhost:8000" in out
    password = out.split("Your password: ", 1)[1].split()[0]
    assert check_password(password, stored_password_hash(data))
    toml = (data / "solo.toml").read_text()
    assert 'username = "carol"' in toml
    assert load_settings({}, data_dir=data).username == "carol"
    with sqlite3.connect(data / "solo.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version()
        owners = {row[0] for row in conn.execute("SELECT owner FROM keys")}
        assert owners == {"user", "instance"}


def test_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    assert run(capsys, "--data-dir", data, "init")[0] == 0
    first = stored_password_hash(Path(data))
    code, _, err = run(capsys, "--data-dir", data, "init")
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "already exists" in err and "--force" in err
    assert stored_password_hash(Path(data)) == first
    assert run(capsys, "--data-dir", data, "init", "--force")[0] == 0
    assert stored_password_hash(Path(data)) != first


def test_init_and_passwd_read_the_password_from_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setattr(sys, "stdin", io.StringIO("first password\n"))
    code, out, _ = run(capsys, "--data-dir", str(data), "init", "--password-stdin")
    assert code == 0 and "Your password" not in out
    assert check_password("first password", stored_password_hash(data))
    monkeypatch.setattr(sys, "stdin", io.StringIO("second password\n"))
    code, out, _ = run(capsys, "--data-dir", str(data), "passwd")
    assert code == 0 and "Password changed" in out
    assert check_password("second password", stored_password_hash(data))
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "--data-dir", str(data), "passwd")
    assert code == 1 and "at least 8 characters" in err
    assert check_password("second password", stored_password_hash(data))


def test_serve_before_init_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "nothing"), "serve")
    assert code == 1
    assert err == f"solo: no Solo instance at {tmp_path / 'nothing'}: run `solo init` first\n"
    assert not (tmp_path / "nothing").exists()


def test_serve_on_a_newer_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init")[0] == 0
    with sqlite3.connect(data / "solo.db") as conn:
        conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    code, _, err = run(capsys, "--data-dir", str(data), "serve")
    assert code == 1
    assert err.count("\n") == 1
    assert "newer version of Solo" in err and "upgrade Solo" in err


def test_serve_on_a_file_that_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "solo.db").write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(capsys, "--data-dir", str(data), "serve")
    assert code == 1
    assert err.count("\n") == 1 and "not a usable Solo database" in err


def test_help_lists_every_command_and_the_readme_documents_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    readme = README.read_text()
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert parser_commands == set(COMMANDS)
    for command in COMMANDS:
        assert command in out
        assert f"`solo {command}`" in readme, f"solo {command} is not in the README"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("access_log", [False, True], ids=["quiet", "access log"])
def test_the_console_script_serves_until_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], access_log: bool
) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init", "--username", "dave")[0] == 0
    port = free_port()
    env = {**os.environ, "SOLO_DATA_DIR": str(data), "SOLO_PORT": str(port)}
    env["SOLO_ACCESS_LOG"] = "true" if access_log else "false"
    process = subprocess.Popen(
        [sys.executable, "-m", "solo", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/@dave", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "solo serve exited"
                assert time.monotonic() < deadline, "solo serve did not answer within 20 s"
                time.sleep(0.05)
        assert response.status_code == 200
        assert "@dave@localhost:8000" in response.text
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "Log in at http://localhost:8000/login as dave" in output
    # Opt-in: one line per request, for debugging federation.
    logged = re.search(r'"GET /(@|%40)dave HTTP/1.1" 200', output)
    assert (logged is not None) == access_log
