"""`solo delete-account`: a Delete of the actor to every known server, once per server, a
bounded wait for the deliveries, then the data goes; asked twice, refused while serving."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from solo.actions import farewell
from solo.actions import follows as follow_actions
from solo.activitystreams import PUBLIC
from solo.cli import main
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Node, eventually, fleet_of
from tests.processes import SoloProcess, submit


async def test_the_delete_reaches_every_known_server_once(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (fleet, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_actions.follow(bob.federation, "@alice@alice.test")  # a follower
        await follow_actions.follow(alice.federation, "@carol@carol.test")  # followed only

        async def known() -> bool:
            return len(await farewell.known_inboxes(alice.federation)) == 2

        await eventually(known, what="alice to know bob and carol")

        async def settled() -> bool:
            # Both follows applied on both sides: no Accept of alice's is still on its way to
            # bob, to be verified by fetching her anew after her Delete (she still answers).
            for node in (bob, carol):
                count = await node.federation.db.fetchval(
                    "SELECT count(*) FROM follows WHERE state = 'accepted'"
                )
                if count != 1:
                    return False
            return True

        await eventually(settled, what="bob's and carol's follows to be accepted")
        seen = len(fleet.requests)
        sent = await farewell.send_delete(alice.federation)
        assert sent.total == 2
        shown: list[farewell.Deliveries] = []
        done = await farewell.wait_for(alice.federation, sent, 20, shown.append, poll=0.02)
        assert (done.delivered, done.failed, done.waiting) == (2, 0, 0)
        assert shown and shown[-1] == done

        posts = [
            request
            for request in fleet.requests[seen:]
            if request.method == "POST" and json.loads(request.content)["type"] == "Delete"
        ]
        assert sorted(request.url.host for request in posts) == ["bob.test", "carol.test"]
        body = json.loads(posts[0].content)
        assert body["type"] == "Delete"
        assert body["actor"] == body["object"] == alice.actor
        assert body["to"] == [PUBLIC] and body["id"] == f"{alice.actor}#delete"
        for node in (bob, carol):

            async def forgotten(node: Node = node) -> bool:
                left = await node.federation.db.fetchval(
                    "SELECT count(*) FROM actors WHERE ap_id = ?", (alice.actor,)
                )
                return bool(left == 0)

            await eventually(forgotten, what=f"{node.settings.domain} to forget alice")


async def test_a_delete_that_overtakes_the_first_activity_is_kept(
    tmp_path: Path, template_root: Path
) -> None:
    """Alice follows carol, who has never seen her, and deletes her account while carol is
    still fetching her key to verify the Follow: carol must not take the Delete for one of an
    account she never knew, or the Follow, applied later, would keep alice for good."""
    async with fleet_of(tmp_path, template_root, "alice", "carol") as (fleet, nodes):
        alice, carol = nodes["alice"], nodes["carol"]
        fetching, release = asyncio.Event(), asyncio.Event()

        async def hold_alices_key(request: httpx.Request) -> None:
            if request.method == "GET" and request.url.path == "/users/alice":
                fetching.set()
                await release.wait()

        fleet.gate = hold_alices_key
        await follow_actions.follow(alice.federation, "@carol@carol.test")
        await asyncio.wait_for(fetching.wait(), 10)  # carol verifies the Follow's signature
        sent = await farewell.send_delete(alice.federation)
        assert sent.total == 1

        async def delete_sent() -> bool:
            return any(
                request.method == "POST"
                and request.url.host == "carol.test"
                and json.loads(request.content)["type"] == "Delete"
                for request in fleet.requests
            )

        await eventually(delete_sent, what="the Delete to reach carol")
        await asyncio.sleep(0.3)  # time enough for carol to answer, were she not waiting
        waiting = await farewell.progress_of(alice.federation, sent)
        assert waiting.delivered == 0, "carol answered the Delete before knowing its signer"
        release.set()
        done = await farewell.wait_for(alice.federation, sent, 20, poll=0.02)
        assert (done.delivered, done.failed) == (1, 0)

        async def forgotten() -> bool:
            left = await carol.federation.db.fetchval(
                "SELECT count(*) FROM actors WHERE ap_id = ?", (alice.actor,)
            )
            return bool(left == 0)

        # The Follow is applied first, or fails on the missing actor and is dropped later.
        await eventually(forgotten, what="carol to forget alice")
        assert await carol.federation.db.fetchval("SELECT count(*) FROM follows") == 0


async def test_the_wait_is_bounded_when_a_server_does_not_answer(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_actions.follow(bob.federation, "@alice@alice.test")

        async def known() -> bool:
            return len(await farewell.known_inboxes(alice.federation)) == 1

        await eventually(known, what="alice to know bob")
        fleet.down.add("bob.test")
        sent = await farewell.send_delete(alice.federation)
        started = time.monotonic()
        done = await farewell.wait_for(alice.federation, sent, 1.0, poll=0.05)
        assert time.monotonic() - started < 10
        assert (done.total, done.delivered, done.waiting) == (1, 0, 1)
        # Run again (as after an interruption): the same Delete, queued afresh, not doubled.
        again = await farewell.send_delete(alice.federation)
        assert again.ref == sent.ref and again.total == 1
        pending = await alice.federation.db.fetchval(
            "SELECT count(*) FROM jobs WHERE ref = ?", (sent.ref,)
        )
        assert pending == 1


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answers: str,
    *argv: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data(tmp_path: Path, template_root: Path) -> Path:
    settings = make_settings(tmp_path / "data")
    asyncio.run(initialise_fast(settings, template_root))
    (settings.data_dir / "solo.toml").write_text('domain = "solo.test"\nusername = "alice"\n')
    (settings.data_dir / "media" / "uploads").mkdir(parents=True)
    (settings.data_dir / "media" / "uploads" / "x.png").write_bytes(b"png")
    return settings.data_dir


def test_it_asks_for_the_handle_then_a_yes(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (data / "solo.db").read_bytes()
    code, _, err = run(
        capsys, monkeypatch, "bob@solo.test\n", "--data-dir", str(data), "delete-account"
    )
    assert code == 1 and "not the handle" in err and "nothing was changed" in err
    code, _, err = run(
        capsys, monkeypatch, "alice@solo.test\nno\n", "--data-dir", str(data), "delete-account"
    )
    assert code == 1 and "not deleted" in err
    code, _, err = run(capsys, monkeypatch, "", "--data-dir", str(data), "delete-account")
    assert code == 1 and "no answer" in err
    code, _, err = run(capsys, monkeypatch, "", "--data-dir", str(data), "delete-account", "--yes")
    assert code == 1 and "--handle alice@solo.test" in err
    assert (data / "solo.db").read_bytes() == before

    code, out, err = run(
        capsys, monkeypatch, "@alice@solo.test\nyes\n", "--data-dir", str(data), "delete-account"
    )
    assert code == 0, err
    assert "Type the handle" in out and "Delete sent to 0 servers" in out
    assert "@alice@solo.test is deleted" in out
    assert sorted(path.name for path in data.iterdir()) == []


def test_it_refuses_while_the_server_runs(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (data / "solo.pid").write_text(f"{os.getpid()}\n")  # a live process holds the data
    code, _, err = run(
        capsys,
        monkeypatch,
        "",
        "--data-dir",
        str(data),
        "delete-account",
        "--yes",
        "--handle",
        "alice@solo.test",
    )
    assert code == 1 and "stop it first" in err and "Nothing was changed" in err
    assert (data / "solo.db").is_file() and (data / "media" / "uploads" / "x.png").is_file()


async def test_a_peer_process_forgets_the_deleted_account(
    tmp_path: Path, template_root: Path
) -> None:
    alice, bob = SoloProcess("alice", tmp_path), SoloProcess("bob", tmp_path)
    for node in (alice, bob):
        await node.initialise(template_root)
    async with alice, bob:
        await alice.start()
        await bob.start()
        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code == 200, response.text

        def bob_knows_alice() -> int:
            with sqlite3.connect(f"file:{bob.settings.db_path}?mode=ro", uri=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM follows JOIN actors ON actors.id = follows.actor_id"
                    " WHERE actors.ap_id = ? AND follows.state = 'accepted'",
                    (alice.actor,),
                ).fetchone()
                return int(row[0])

        async def followed() -> bool:
            return bob_knows_alice() == 1

        await eventually(followed, within=20, what="bob to follow alice")
        alice.stop()
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "solo",
                "delete-account",
                "--yes",
                "--handle",
                f"alice@{alice.domain}",
                "--wait",
                "30",
            ],
            env={**os.environ, **alice.environment},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "Delete sent to 1 servers: 1 took it" in result.stdout
        assert "Deliveries: 1/1" in result.stderr
        assert not alice.settings.db_path.exists()

        async def forgotten() -> bool:
            with sqlite3.connect(f"file:{bob.settings.db_path}?mode=ro", uri=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM actors WHERE ap_id = ?", (alice.actor,)
                ).fetchone()
            return int(row[0]) == 0

        await eventually(forgotten, within=20, what="bob to forget alice")
