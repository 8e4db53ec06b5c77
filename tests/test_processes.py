"""Real `solo serve` processes federating over sockets on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fleet import eventually
from tests.processes import SoloProcess, submit

AS = {"Accept": "application/activity+json"}


async def followers_of(node: SoloProcess) -> list[str]:
    async with node.client() as client:
        response = await client.get(f"/users/{node.name}/followers?page=true", headers=AS)
    items: list[str] = json.loads(response.text)["orderedItems"]
    return items


async def test_follow_between_processes(tmp_path: Path, template_root: Path) -> None:
    async with SoloProcess("alice", tmp_path) as alice, SoloProcess("bob", tmp_path) as bob:
        for node in (alice, bob):
            await node.initialise(template_root)
            await node.start()
        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code == 200, response.text
            assert f"@alice@{alice.domain}" in response.text

        async def followed() -> bool:
            return await followers_of(alice) == [bob.actor]

        await eventually(followed, within=20, what="alice to list bob as a follower")

        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account="@nobody@nowhere.invalid")
            assert response.status_code == 400
            assert "Could not find @nobody@nowhere.invalid" in response.text


def rows(node: SoloProcess, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read a running instance's database from outside, as `sqlite3` on the server would."""
    uri = f"file:{node.settings.db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return list(conn.execute(sql, params))


@pytest.mark.parametrize("event_loop", ["asyncio", "uvloop"])
async def test_three_processes_post_reply_boost_edit_delete(
    tmp_path: Path, template_root: Path, event_loop: str
) -> None:
    """The whole round (first contacts' key fetches, deliveries, the inbox) on each event loop
    Solo runs on: asyncio's, and uvloop's, which `solo[fast]` brings."""
    if event_loop == "uvloop" and os.environ.get("CI") != "true":
        pytest.importorskip("uvloop")  # (the test tools install it where PyPI has a wheel)
    environment = {"SOLO_EVENT_LOOP": event_loop}
    async with (
        SoloProcess("alice", tmp_path, **environment) as alice,
        SoloProcess("bob", tmp_path, **environment) as bob,
        SoloProcess("carol", tmp_path, **environment) as carol,
    ):
        for node in (alice, bob, carol):
            await node.initialise(template_root)
            await node.start()
            assert f"{event_loop}'s event loop" in node.log.read_text()
        for node in (bob, carol):
            async with node.logged_in() as browser:
                await submit(browser, "/", "/follow", account=f"alice@{alice.domain}")

        async def both_follow() -> bool:
            return sorted(await followers_of(alice)) == sorted([bob.actor, carol.actor])

        await eventually(both_follow, within=20, what="bob and carol to follow alice")

        # alice posts, mentioning bob: both followers get it, bob is notified.
        async with alice.logged_in() as browser:
            response = await submit(
                browser, "/", "/statuses", text=f"Hello @bob@{bob.domain} and all #solo"
            )
            assert response.status_code == 303
        (post_ap_id,) = rows(alice, "SELECT ap_id FROM statuses WHERE actor_id IS NULL")[0]

        async def everyone_has_it() -> bool:
            query = "SELECT id FROM statuses WHERE ap_id = ?"
            return all(rows(node, query, post_ap_id) for node in (bob, carol))

        await eventually(everyone_has_it, within=20, what="the post to reach both followers")
        assert rows(bob, "SELECT type FROM notifications") == [("mention",)]

        # bob replies; the reply threads back to alice's post on alice's server.
        (bob_copy,) = rows(bob, "SELECT id FROM statuses WHERE ap_id = ?", post_ap_id)[0]
        async with bob.logged_in() as browser:
            response = await submit(
                browser, "/", "/statuses", text="Hi back!", in_reply_to=str(bob_copy)
            )
            assert response.status_code == 303
        (alice_post_id,) = rows(alice, "SELECT id FROM statuses WHERE ap_id = ?", post_ap_id)[0]

        async def reply_arrived() -> bool:
            return bool(
                rows(alice, "SELECT 1 FROM statuses WHERE in_reply_to_id = ?", alice_post_id)
            )

        await eventually(reply_arrived, within=20, what="bob's reply at alice")

        # carol boosts and favourites: alice is notified of both.
        (carol_copy,) = rows(carol, "SELECT id FROM statuses WHERE ap_id = ?", post_ap_id)[0]
        async with carol.logged_in() as browser:
            for action in ("boost", "favourite"):
                response = await submit(browser, "/", f"/statuses/{carol_copy}/{action}")
                assert response.status_code == 303, response.text

        async def interactions_arrived() -> bool:
            kinds = {row[0] for row in rows(alice, "SELECT type FROM notifications")}
            return {"reblog", "favourite"} <= kinds

        await eventually(interactions_arrived, within=20, what="boost and favourite at alice")

        # alice edits, then deletes: both followers see the edit, then lose the post.
        async with alice.logged_in() as browser:
            response = await submit(
                browser, "/", f"/statuses/{alice_post_id}/edit", text="Hello again, edited"
            )
            assert response.status_code == 303

        async def edited() -> bool:
            query = "SELECT content_html FROM statuses WHERE ap_id = ? AND edited_at IS NOT NULL"
            found = [rows(node, query, post_ap_id) for node in (bob, carol)]
            return all(f and "edited" in str(f[0][0]) for f in found)

        await eventually(edited, within=20, what="the edit to reach both followers")
        async with alice.logged_in() as browser:
            response = await submit(browser, "/", f"/statuses/{alice_post_id}/delete")
            assert response.status_code == 303

        async def deleted() -> bool:
            query = "SELECT 1 FROM statuses WHERE ap_id = ?"
            return not any(rows(node, query, post_ap_id) for node in (bob, carol))

        await eventually(deleted, within=20, what="the delete to reach both followers")

        # carol unfollows: alice's next post is delivered to bob only.
        async with carol.logged_in() as browser:
            await submit(browser, "/", "/unfollow", account=f"@alice@{alice.domain}")

        async def only_bob() -> bool:
            return await followers_of(alice) == [bob.actor]

        await eventually(only_bob, within=20, what="carol's unfollow at alice")
        async with alice.logged_in() as browser:
            await submit(browser, "/", "/statuses", text="Only for my remaining followers")
        query = "SELECT ap_id FROM statuses WHERE content_html LIKE '%remaining%'"

        async def bob_has_it() -> bool:
            return bool(rows(bob, query))

        await eventually(bob_has_it, within=20, what="the last post at bob")
        assert rows(carol, query) == []
        pushed = rows(alice, "SELECT host FROM jobs WHERE queue = 'push' ORDER BY id DESC LIMIT 1")
        assert pushed == [(bob.domain,)]


async def test_rebuild_feeds_asks_the_running_server(tmp_path: Path, template_root: Path) -> None:
    async with SoloProcess("alice", tmp_path) as alice:
        await alice.initialise(template_root)
        env = {**os.environ, **alice.environment}
        command = [sys.executable, "-m", "solo", "rebuild-feeds"]
        idle = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        assert "No server is running" in idle.stdout
        assert "home 0, local 0, federated 0, notifications 0" in idle.stdout
        await alice.start()
        async with alice.logged_in() as browser:
            await submit(browser, "/", "/statuses", text="kept across rebuilds")
        asked = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        assert "Asked the running server" in asked.stdout

        async def logged() -> bool:
            return "feeds rebuilt from the database: home 1, local 1" in alice.log.read_text()

        await eventually(logged, what="the server to rebuild its feeds")
        async with alice.logged_in() as browser:
            assert "kept across rebuilds" in (await browser.get("/")).text
    assert not alice.settings.data_dir.joinpath("solo.pid").exists()  # removed at shutdown
