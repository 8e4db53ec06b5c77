"""`solo import` and `solo export-csv` as real processes: beside a running `solo serve`, which
is killed with SIGKILL in the middle of an import and finishes it after a restart with nothing
done twice; and on a stopped server's data directory, where the command runs the import."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.processes import SoloProcess
from tests.remote import RemoteServers, remote_servers

FOLLOWS = 32
WEBFINGER_DELAY = 0.25  # slow enough that a kill lands in the middle of the import


def add_webfinger(servers: RemoteServers, delay: float) -> None:
    """Every `name@hN.test:port` exists, found through a slow WebFinger."""

    async def webfinger(request: Request) -> Response:
        await asyncio.sleep(delay)
        resource = request.query_params.get("resource", "")
        name = resource.removeprefix("acct:").split("@", 1)[0]
        host = request.headers["host"]
        return JSONResponse(
            {
                "subject": f"acct:{name}@{host}",
                "links": [
                    {
                        "rel": "self",
                        "type": "application/activity+json",
                        "href": servers.actor_id(host, name),
                    }
                ],
            },
            media_type="application/jrd+json",
        )

    servers.app.router.routes.append(Route("/.well-known/webfinger", webfinger))


def solo(node: SoloProcess, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "solo", *argv],
        env={**os.environ, **node.environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def finish(process: subprocess.Popen[str], seconds: float = 60) -> tuple[str, str]:
    """The output of a command, waited for off the event loop (the fake servers run on it)."""
    return await asyncio.to_thread(process.communicate, timeout=seconds)


def query(node: SoloProcess, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql))


async def until(check: object, what: str, within: float = 60.0) -> None:
    assert callable(check)
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_server_finishes_the_import_after_a_restart_with_nothing_twice(
    tmp_path: Path, template_root: Path
) -> None:
    async with remote_servers() as servers, SoloProcess("alice", tmp_path) as alice:
        add_webfinger(servers, WEBFINGER_DELAY)
        await alice.initialise(template_root)
        await alice.start()
        addresses = [f"u{i}@{servers.host(i % 3)}" for i in range(FOLLOWS)]
        csv_file = tmp_path / "following_accounts.csv"
        csv_file.write_text(
            "Account address,Show boosts,Notify on new posts,Languages\n"
            + "".join(f"{address},true,false,\n" for address in addresses)
        )
        watcher = solo(alice, "import", "following", str(csv_file))
        try:

            def some_settled() -> bool:
                rows = query(alice, "SELECT COUNT(*) FROM csv_import_rows WHERE state != 'pending'")
                return bool(rows) and 4 <= int(rows[0][0]) < FOLLOWS  # type: ignore[call-overload]

            await until(some_settled, "the server to be in the middle of the import")
            alice.kill()
        finally:
            watcher.kill()
            await finish(watcher, 10)
        pending = query(alice, "SELECT COUNT(*) FROM csv_import_rows WHERE state = 'pending'")
        assert pending[0][0] > 0

        await alice.start()

        def done() -> bool:
            return query(alice, "SELECT state FROM csv_imports") == [("done",)]

        await until(done, "the import to finish after the restart")
        states = Counter(str(row[0]) for row in query(alice, "SELECT state FROM csv_import_rows"))
        assert states["added"] + states["skipped"] == FOLLOWS and states["failed"] == 0
        follows = query(alice, "SELECT COUNT(*) FROM follows WHERE direction = 'out'")
        assert follows == [(FOLLOWS,)]

        def all_delivered() -> bool:
            return sum(servers.received.values()) >= FOLLOWS

        await until(all_delivered, "the Follows to arrive")
        # One Follow activity for each account. The push queue delivers at least once, so a
        # delivery the kill cut short may arrive again, with the same id (dropped by its server
        # as a duplicate); a second Follow would carry a new id.
        activities = query(alice, "SELECT COUNT(*) FROM activities WHERE type = 'Follow'")
        assert activities == [(FOLLOWS,)]
        await asyncio.sleep(0.5)
        ids: dict[str, set[str]] = {}
        for body in servers.bodies:
            if body.get("type") == "Follow":
                ids.setdefault(str(body["object"]), set()).add(str(body["id"]))
        assert len(ids) == FOLLOWS and {len(sent) for sent in ids.values()} == {1}

        # Beside the running server, the command only watches: the server runs it.
        again = solo(alice, "import", "following", str(csv_file))
        out, err = await finish(again, 60)
        assert again.returncode == 0, err
        assert f"0 added, {FOLLOWS} skipped, 0 failed of {FOLLOWS} lines" in out
        assert "running server" in err and f"{FOLLOWS}/{FOLLOWS}" in err

        exported = solo(alice, "export-csv", "following", "-")
        out, _ = await finish(exported, 30)
        assert sorted(line.split(",")[0] for line in out.splitlines()[1:]) == sorted(addresses)


async def test_the_command_imports_into_a_stopped_server_and_refuses_bad_files(
    tmp_path: Path, template_root: Path
) -> None:
    async with remote_servers() as servers, SoloProcess("alice", tmp_path) as alice:
        add_webfinger(servers, 0.0)
        await alice.initialise(template_root)
        blocks = tmp_path / "blocked_accounts.csv"
        blocks.write_text(f"troll@{servers.host(1)}\r\nnobody@nowhere.invalid\r\n")
        command = solo(alice, "import", "blocks", str(blocks))
        out, err = await finish(command, 60)
        assert command.returncode == 0, err
        assert "1 added, 0 skipped, 1 failed of 2 lines" in out
        assert "/settings/import/1" in out
        assert query(alice, "SELECT COUNT(*) FROM interactions WHERE kind = 'block'") == [(1,)]
        # The Block goes out through the push queue (sent by the command, or by the next serve).
        assert query(alice, "SELECT type FROM activities WHERE local = 1") == [("Block",)]
        assert query(alice, "SELECT COUNT(*) FROM jobs WHERE queue = 'push'") == [(1,)]

        target = tmp_path / "out" / "blocked.csv"
        target.parent.mkdir()
        exported = solo(alice, "export-csv", "blocks", str(target))
        await finish(exported, 30)
        assert exported.returncode == 0
        assert target.read_text() == f"troll@{servers.host(1)}\n"

        binary = tmp_path / "picture.csv"
        binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
        refused = solo(alice, "import", "blocks", str(binary))
        _, err = await finish(refused, 60)
        assert refused.returncode == 1
        assert "not a text file" in err and "Nothing was imported." in err
        assert query(alice, "SELECT COUNT(*) FROM csv_imports") == [(1,)]
