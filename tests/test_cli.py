"""The `solo` command, run in process and as a real process."""

from __future__ import annotations

import asyncio
import gc
import io
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import weakref
from pathlib import Path

import httpx
import pytest

from solo import server
from solo.cli import COMMANDS, build_parser, main
from solo.config import load_settings
from solo.db import Database, schema_version
from solo.errors import SetupError
from solo.passwords import check_password
from solo.server import YOUNG_COLLECTION_EVERY, raise_open_files_limit, tune_collector
from solo.store.account import get_account
from tests.conftest import make_settings

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
    # The domain was chosen at init (port 8000), so the other port served is warned about.
    assert (
        f"solo: warning: the domain localhost:8000 says port 8000, but Solo serves port {port}"
        in output
    )


def test_init_with_only_a_port_puts_the_domain_on_that_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLO_PORT", "9123")
    monkeypatch.delenv("SOLO_DOMAIN", raising=False)
    code, out, _ = run(capsys, "--data-dir", str(tmp_path / "data"), "init")
    assert code == 0
    assert "Created @me@localhost:9123" in out
    assert "Log in at http://localhost:9123/login" in out
    assert 'domain = "localhost:9123"' in (tmp_path / "data" / "solo.toml").read_text()
    monkeypatch.delenv("SOLO_PORT")
    later = load_settings(data_dir=tmp_path / "data")
    assert (later.domain, later.port) == ("localhost:9123", 9123)


def wait_until_serving(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, "solo serve exited"
            assert time.monotonic() < deadline, "solo serve did not answer within 30 s"
            time.sleep(0.05)


def test_a_second_serve_refuses_and_leaves_the_first_servers_pid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init")[0] == 0
    pid_file = data / "solo.pid"
    # A file left by a server that was killed names a process that is gone: it is replaced.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file.write_text(f"{gone.pid}\n")
    port = free_port()
    env = {**os.environ, "SOLO_DATA_DIR": str(data), "SOLO_PORT": str(port)}
    first = subprocess.Popen(
        [sys.executable, "-m", "solo", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(first, port)
        assert pid_file.read_text().strip() == str(first.pid)
        second = subprocess.run(
            [sys.executable, "-m", "solo", "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"solo: another Solo server (pid {first.pid}) is serving {data}: stop it first"
            f" (if no server runs, remove {pid_file})"
        ]
        assert pid_file.read_text().strip() == str(first.pid)
        asked = subprocess.run(
            [sys.executable, "-m", "solo", "rebuild-feeds"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert f"Asked the running server (pid {first.pid})" in asked.stdout
    finally:
        first.terminate()
        first.wait(timeout=20)
    assert not pid_file.exists()  # ours, so removed at shutdown


def test_serve_refuses_while_the_pid_file_names_a_live_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init")[0] == 0
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (data / "solo.pid").write_text(f"{other.pid}\n")
        code, _, err = run(capsys, "--data-dir", str(data), "serve", "--port", str(free_port()))
        assert code == 1
        assert f"another Solo server (pid {other.pid}) is serving" in err
        assert (data / "solo.pid").read_text() == f"{other.pid}\n"
    finally:
        other.kill()
        other.wait()


def damage(data: Path, *statements: str) -> None:
    with sqlite3.connect(data / "solo.db") as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["UPDATE account SET fields_json = '{not json'"], "JSONDecodeError"),
        (["PRAGMA foreign_keys = OFF", "DROP TABLE notifications"], "no such table"),
    ],
    ids=["unreadable-account-row", "failing-feed-rebuild"],
)
def test_a_damaged_database_is_one_line_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], statements: list[str], named: str
) -> None:
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init")[0] == 0
    damage(data, *statements)
    code, out, err = run(capsys, "--data-dir", str(data), "serve", "--port", str(free_port()))
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith(f"solo: {data / 'solo.db'} is damaged (") and named in err
    assert "restore it from a backup" in err
    assert "Traceback" not in out + err
    assert not (data / "solo.pid").exists()
    if named == "no such table":
        code, _, err = run(capsys, "--data-dir", str(data), "rebuild-feeds")
        assert code == 1 and err.count("\n") == 1 and "is damaged (" in err


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.close()
    return version


def test_commands_that_only_read_never_create_or_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing"
    for command in ("queue", "rebuild-feeds"):
        code, _, err = run(capsys, "--data-dir", str(missing), command)
        assert code == 1 and err == f"solo: no Solo instance at {missing}: run `solo init` first\n"
    assert not missing.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "solo.db").write_bytes(b"")
    for command in ("queue", "rebuild-feeds"):
        code, _, err = run(capsys, "--data-dir", str(empty), command)
        assert code == 1
        assert (
            err == f"solo: {empty / 'solo.db'} is not a Solo database yet: run `solo init` first\n"
        )
    assert (empty / "solo.db").stat().st_size == 0

    older = tmp_path / "older"
    assert run(capsys, "--data-dir", str(older), "init")[0] == 0
    with sqlite3.connect(older / "solo.db") as conn:
        conn.execute(f"PRAGMA user_version = {schema_version() - 1}")
    conn.close()
    code, _, err = run(capsys, "--data-dir", str(older), "queue")
    assert code == 1 and "older version of Solo" in err and "`solo serve` upgrades it" in err
    assert user_version(older / "solo.db") == schema_version() - 1

    current = tmp_path / "current"
    assert run(capsys, "--data-dir", str(current), "init")[0] == 0
    code, out, _ = run(capsys, "--data-dir", str(current), "queue")
    assert code == 0 and out.startswith("push ")


def test_serve_runs_on_uvloop_when_it_is_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The optional `solo[fast]`: by default (`event_loop = auto`) the server answers on
    uvloop's loop, says so, and a SIGTERM still runs the shutdown (held signals, lifespan) to a
    clean exit."""
    pytest.importorskip("uvloop")
    data = tmp_path / "data"
    assert run(capsys, "--data-dir", str(data), "init", "--username", "erin")[0] == 0
    port = free_port()
    env = {**os.environ, "SOLO_DATA_DIR": str(data), "SOLO_PORT": str(port)}
    env["SOLO_EVENT_LOOP"] = "auto"
    process = subprocess.Popen(
        [sys.executable, "-m", "solo", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_serving(process, port)
        assert httpx.get(f"http://127.0.0.1:{port}/@erin", timeout=5).status_code == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "uvloop's event loop" in output
    assert "Traceback" not in output


def test_the_event_loop_is_chosen_by_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`asyncio` keeps asyncio's loop even with uvloop installed; `uvloop` without uvloop is a
    start-up error that says what to do, not a fall-back nobody notices."""
    assert server.loop_factory(make_settings(tmp_path, event_loop="asyncio")) is None
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed
    assert server.loop_factory(make_settings(tmp_path, event_loop="auto")) is None
    with pytest.raises(SetupError, match="uvloop is not installed: pip install"):
        server.loop_factory(make_settings(tmp_path, event_loop="uvloop"))
    with pytest.raises(SetupError, match="event_loop must be auto, asyncio, uvloop, not 'uv'"):
        make_settings(tmp_path, event_loop="uv")


def test_serve_raises_its_open_files_limit_within_the_hard_limit() -> None:
    """Room for 512 deliveries in flight beside everything else (1,024 is systemd's default)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        now = raise_open_files_limit(2048)
        assert now == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert now == (2048 if hard == resource.RLIM_INFINITY else min(2048, hard))
        # Never lowered.
        assert raise_open_files_limit(128) == now
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_collector_is_tuned_once_serving_starts() -> None:
    """What exists when serving starts is frozen, the youngest generation waits for 10,000
    allocations, and garbage made afterwards is still collected."""

    class Node:
        partner: Node | None = None

    before = gc.get_threshold()
    before_start = Node()
    try:
        tune_collector()
        assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, before[1], before[2])
        assert gc.get_freeze_count() > 0
        assert not any(obj is before_start for obj in gc.get_objects())  # frozen: left out
        gone = weakref.ref(first := Node())
        first.partner = Node()
        first.partner.partner = first  # a cycle, which only the collector can free
        del first
        assert gone() is not None
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
