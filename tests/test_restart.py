"""Restart: the feeds after `solo serve` restarts are identical to before.

The timelines and notifications are served from memory and rebuilt from SQLite at start, so
what a page shows must not depend on whether the process has been running a while or has just
started, after a clean stop (SIGTERM) or a crash (SIGKILL).
"""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
from pathlib import Path

import httpx

from tests.fleet import eventually
from tests.processes import SoloProcess, submit

PAGES = ("/", "/local", "/federated")
# Small pages, so that reading a feed walks several Older links.
LIMIT = 3
CARD = re.compile(r'<article class="status[^"]*" id="s-\d+" data-id="(\d+)" data-status="(\d+)"')
NOTIFICATION = re.compile(r'<li class="notification [^"]*" data-id="(\d+)"')
OLDER = re.compile(r'<a rel="next" href="([^"]+)">Older</a>')
UNREAD = re.compile(r'class="notification-count[^"]*" aria-label="(\d+) unread"')

Feeds = dict[str, list[tuple[str, ...]]]


def rows(node: SoloProcess, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read a running instance's database from outside, as `sqlite3` on the server would."""
    with sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql, params))


def status_id(node: SoloProcess, text: str) -> str:
    found = rows(node, "SELECT id FROM statuses WHERE content_html LIKE ?", f"%{text}%")
    assert len(found) == 1, (node.name, text, found)
    return str(found[0][0])


async def walk(
    client: httpx.AsyncClient, path: str, pattern: re.Pattern[str]
) -> list[tuple[str, ...]]:
    """Every entry of a paged feed, newest first, following its Older links to the end."""
    entries: list[tuple[str, ...]] = []
    url: str | None = f"{path}?limit={LIMIT}"
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        entries.extend(tuple(match) for match in pattern.findall(response.text))
        older = OLDER.search(response.text)
        url = html.unescape(older.group(1)) if older else None
        assert len(entries) < 500, "the Older links do not end"
    return entries


async def feeds_of(node: SoloProcess) -> Feeds:
    async with node.logged_in() as client:
        # Notifications first: opening them marks them read, which the badge then shows.
        feeds: Feeds = {
            "/notifications": [(n,) for n in await walk(client, "/notifications", NOTIFICATION)]
        }
        for path in PAGES:
            feeds[path] = await walk(client, path, CARD)
        badge = UNREAD.search((await client.get("/")).text)
        feeds["unread"] = [(badge.group(1) if badge else "none",)]
    return feeds


async def settled_feeds(node: SoloProcess) -> Feeds:
    """The feeds once two readings in a row agree: nothing is still arriving."""
    previous = await feeds_of(node)
    for _ in range(50):
        await asyncio.sleep(0.2)
        current = await feeds_of(node)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"{node.name}'s feeds keep changing")


async def test_feeds_are_identical_after_a_restart_and_after_a_crash(
    tmp_path: Path, template_root: Path
) -> None:
    async with SoloProcess("alice", tmp_path) as alice, SoloProcess("bob", tmp_path) as bob:
        for node in (alice, bob):
            await node.initialise(template_root)
            await node.start()

        async with bob.logged_in() as http:
            for n in range(1, 6):
                assert (await submit(http, "/", "/statuses", text=f"Bob {n}")).status_code == 303

        async with alice.logged_in() as http:
            for n in range(1, 8):
                response = await submit(http, "/", "/statuses", text=f"Alice {n}")
                assert response.status_code == 303
            for text, visibility in (("Alice unlisted", "unlisted"), ("Alice private", "private")):
                response = await submit(http, "/", "/statuses", text=text, visibility=visibility)
                assert response.status_code == 303
            # As a person would: look at bob's profile, then follow him.
            assert (await http.get(f"/@bob@{bob.domain}")).status_code == 200
            response = await submit(http, "/", "/follow", account=f"@bob@{bob.domain}")
            assert response.status_code in (200, 303), response.text

            async def backfilled() -> bool:
                query = "SELECT COUNT(*) FROM statuses WHERE content_html LIKE '%Bob %'"
                return rows(alice, query) == [(5,)]

            await eventually(backfilled, within=20, what="bob's posts at alice")
            boosted = status_id(alice, "Bob 3")
            response = await submit(http, "/", f"/statuses/{boosted}/boost")
            assert response.status_code == 303, response.text

        # bob follows alice, boosts and favourites her post and replies to it: four
        # notifications at alice.
        async with bob.logged_in() as http:
            response = await submit(http, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code in (200, 303), response.text

            async def alice_arrived() -> bool:
                return bool(rows(bob, "SELECT 1 FROM statuses WHERE content_html LIKE '%Alice 7%'"))

            await eventually(alice_arrived, within=20, what="alice's posts at bob")
            liked = status_id(bob, "Alice 7")
            for action in ("boost", "favourite"):
                response = await submit(http, "/", f"/statuses/{liked}/{action}")
                assert response.status_code == 303, response.text
            response = await submit(
                http, "/", "/statuses", text=f"@alice@{alice.domain} Hi!", in_reply_to=liked
            )
            assert response.status_code == 303, response.text

        async def notified() -> bool:
            kinds = sorted(str(row[0]) for row in rows(alice, "SELECT type FROM notifications"))
            return kinds == ["favourite", "follow", "mention", "reblog"]

        await eventually(notified, within=20, what="four notifications at alice")
        bob.stop()  # nothing more arrives while alice restarts

        before = await settled_feeds(alice)
        assert len(before["/"]) > 2 * LIMIT and len(before["/federated"]) > 2 * LIMIT
        assert len(before["/notifications"]) == 4
        assert before["unread"] == [("0",)]

        alice.stop()
        await alice.start()
        assert_same(before, await feeds_of(alice), "a SIGTERM and a start")

        alice.kill()
        await alice.start()
        assert_same(before, await feeds_of(alice), "a SIGKILL and a start")


def assert_same(before: Feeds, after: Feeds, what: str) -> None:
    """Each feed compared on its own, so a failure names the feed and shows both lists."""
    for name in before:
        assert after[name] == before[name], (
            f"{name} changed across {what}:\nbefore {before[name]}\nafter  {after[name]}"
        )
