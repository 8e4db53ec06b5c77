"""Real Mastodon clients (Mastodon.py, toot) against real `solo serve` processes.

Part 1 of the client API: app registration, the password grant and the code flow, the
instance documents and verify_credentials. Part 2: posting with an image and its description,
replying, boosting, favouriting, reading home and notifications page by page, following an
account of a second instance by its handle and receiving its post over SSE and WebSocket.
The instance is reached as 127.0.0.1:port, its own domain, so the URLs it hands out (the OAuth
metadata's endpoints) resolve for the clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mastodon import Mastodon, MastodonAPIError, StreamListener
from PIL import Image
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.conftest import PASSWORD
from tests.fleet import eventually
from tests.processes import SoloProcess, submit

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow", "push"]


@pytest.fixture
async def node(tmp_path: Path, template_root: Path) -> AsyncIterator[SoloProcess]:
    async with SoloProcess("alice", tmp_path) as process:
        process.domain = f"127.0.0.1:{process.port}"
        process.base_url = f"http://{process.domain}"
        process.environment["SOLO_DOMAIN"] = process.domain
        await process.initialise(template_root)
        await process.start()
        yield process


def _mastodon_py_password_login(base_url: str, secrets: Path) -> dict[str, object]:
    client_id, client_secret = Mastodon.create_app(
        "Solo test", scopes=SCOPES, api_base_url=base_url, to_file=secrets
    )
    mastodon = Mastodon(client_id=secrets)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    me = mastodon.account_verify_credentials()
    instance = mastodon.instance()
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "username": me["username"],
        "acct": me["acct"],
        "source_privacy": me["source"]["privacy"],
        "version": instance["version"],
        "major": mastodon.mastodon_major,
        "minor": mastodon.mastodon_minor,
    }


async def test_mastodon_py_password_login(node: SoloProcess, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        _mastodon_py_password_login, node.base_url, tmp_path / "secrets.txt"
    )
    assert result["username"] == "alice"
    assert result["acct"] == "alice"
    assert result["source_privacy"] == "public"
    assert str(result["version"]).startswith("4.2.0 (compatible; Solo ")
    assert (result["major"], result["minor"]) == (4, 2)


async def test_mastodon_py_code_flow(node: SoloProcess, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.txt"

    def request_url() -> str:
        Mastodon.create_app(
            "Solo code flow", scopes=SCOPES, api_base_url=node.base_url, to_file=secrets
        )
        url: str = Mastodon(client_id=secrets).auth_request_url(
            redirect_uris=OOB, scopes=SCOPES, allow_http=True
        )
        return url

    url = await asyncio.to_thread(request_url)
    assert url.startswith(f"{node.base_url}/oauth/authorize?")
    assert "state=None" in url and "force_login=False" in url
    async with node.logged_in() as browser:
        page = await browser.get(url.removeprefix(node.base_url))
        assert page.status_code == 200, page.text
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        )
        shown = await browser.post("/oauth/authorize", data={**fields, "decision": "approve"})
        match = re.search(r'id="authorization-code">([^<]+)<', shown.text)
        assert match, shown.text
    code = match.group(1)

    def log_in() -> str:
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
        username: str = mastodon.me()["username"]
        return username

    assert await asyncio.to_thread(log_in) == "alice"


def _toot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "toot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_toot_login_cli_and_whoami(node: SoloProcess, tmp_path: Path) -> None:
    config = tmp_path / "config"
    login = await asyncio.to_thread(
        _toot, config, "login_cli", "-i", node.base_url, "-e", "alice", "-p", PASSWORD
    )
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Successfully logged in" in login.stdout
    whoami = await asyncio.to_thread(_toot, config, "whoami", "--json")
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert json.loads(whoami.stdout)["acct"] == "alice"
    plain = await asyncio.to_thread(_toot, config, "whoami")
    assert plain.returncode == 0, plain.stderr
    assert "@alice" in plain.stdout
    stored = json.loads((config / "toot" / "config.json").read_text())
    assert f"alice@{node.domain}" in stored["users"]


# --- Part 2: posting, reading, following and streaming, with a second instance ------------------

WAIT = 20.0  # seconds for anything that crosses from one process to the other


@pytest.fixture
async def pair(
    node: SoloProcess, tmp_path: Path, template_root: Path
) -> AsyncIterator[tuple[SoloProcess, SoloProcess]]:
    """alice (reached as 127.0.0.1:port by the clients) and bob on `bob.test:port`."""
    async with SoloProcess("bob", tmp_path) as bob:
        await bob.initialise(template_root)
        await bob.start()
        yield node, bob


def _image(path: Path) -> Path:
    Image.new("RGB", (64, 48), (200, 80, 40)).save(path, "PNG")
    return path


def _wait_for(check: Callable[[], bool], what: str, within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class _Collector(StreamListener):  # type: ignore[misc]
    """What Mastodon.py's SSE reader hands over, for the test thread to wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def on_update(self, status: dict[str, Any]) -> None:
        self.updates.append(status)

    def on_notification(self, notification: dict[str, Any]) -> None:
        self.notifications.append(notification)


async def _websocket_update(
    base_url: str, token: str, text: str, opened: asyncio.Event
) -> dict[str, Any]:
    """The first `update` on the user stream whose content has `text`, over a WebSocket that
    sends the token as a browser does (the subprotocol)."""
    url = base_url.replace("http://", "ws://") + "/api/v1/streaming?stream=user"
    async with connect(url, subprotocols=[Subprotocol(token)], proxy=None) as socket:
        assert socket.subprotocol == token
        opened.set()
        async for message in socket:
            event = json.loads(message)
            if event["event"] == "update" and event["stream"] == ["user"]:
                status: dict[str, Any] = json.loads(event["payload"])
                if text in status["content"]:
                    return status
    raise AssertionError("the WebSocket closed")


async def test_mastodon_py_posts_reads_follows_and_streams(
    pair: tuple[SoloProcess, SoloProcess], tmp_path: Path
) -> None:
    alice, bob = pair
    secrets = tmp_path / "secrets.txt"
    image = _image(tmp_path / "picture.png")

    def log_in() -> Mastodon:
        Mastodon.create_app("Solo e2e", scopes=SCOPES, api_base_url=alice.base_url, to_file=secrets)
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
        return mastodon

    mastodon = await asyncio.to_thread(log_in)

    def post_reply_boost_favourite() -> dict[str, Any]:
        # Bytes, not a path: given a path, Mastodon.py leaves the file open.
        media = mastodon.media_post(
            image.read_bytes(), mime_type="image/png", description="A red rectangle"
        )
        _wait_for(lambda: mastodon.media(media["id"])["url"] is not None, "the upload")
        posted = mastodon.status_post("A picture for you", media_ids=[media["id"]])
        attached = posted["media_attachments"]
        assert [(m["type"], m["description"]) for m in attached] == [("image", "A red rectangle")]
        reply = mastodon.status_post("And a reply", in_reply_to_id=posted["id"])
        assert reply["in_reply_to_id"] == posted["id"]
        assert mastodon.status_reblog(posted["id"])["reblogged"] is True
        assert mastodon.status_favourite(posted["id"])["favourited"] is True
        assert mastodon.status(posted["id"])["favourites_count"] == 1
        return dict(posted)

    posted = await asyncio.to_thread(post_reply_boost_favourite)

    def follow_bob() -> None:
        found = mastodon.search_v2(f"bob@{bob.domain}", resolve=True, result_type="accounts")
        accounts = found["accounts"]
        assert [a["acct"] for a in accounts] == [f"bob@{bob.domain}"]
        mastodon.account_follow(accounts[0]["id"])
        _wait_for(
            lambda: mastodon.account_relationships(accounts[0]["id"])[0]["following"],
            "bob to accept the follow",
        )

    await asyncio.to_thread(follow_bob)

    # Both streams open before bob posts: SSE through Mastodon.py, WebSocket on the side.
    collector = _Collector()
    handle = await asyncio.to_thread(
        mastodon.stream_user, collector, run_async=True, reconnect_async=False
    )
    opened = asyncio.Event()
    websocket = asyncio.create_task(
        _websocket_update(alice.base_url, mastodon.access_token, "Hello from bob", opened)
    )
    try:
        await asyncio.wait_for(opened.wait(), WAIT)
        await asyncio.sleep(0.5)  # Mastodon.py's reader thread has sent its request by now
        async with bob.logged_in() as browser:
            followed = await submit(browser, "/", "/follow", account=f"alice@{alice.domain}")
            assert "Follow request sent" in followed.text, followed.text
            said = await submit(
                browser, "/", "/statuses", text=f"Hello from bob, @alice@{alice.domain}"
            )
            assert said.status_code == 303, said.text
        over_websocket = await asyncio.wait_for(websocket, WAIT)
        assert over_websocket["account"]["acct"] == f"bob@{bob.domain}"

        def streamed() -> bool:
            return any("Hello from bob" in s["content"] for s in collector.updates)

        await asyncio.to_thread(_wait_for, streamed, "the post on Mastodon.py's SSE stream")
        await asyncio.to_thread(
            _wait_for,
            lambda: {n["type"] for n in collector.notifications} >= {"follow", "mention"},
            "the follow and the mention on the SSE stream",
        )
    finally:
        websocket.cancel()
        await asyncio.gather(websocket, return_exceptions=True)
        await asyncio.to_thread(handle.close)

    def read_with_paging() -> None:
        first = mastodon.timeline_home(limit=2)
        assert len(first) == 2
        second = mastodon.fetch_next(first)
        assert second, "no second page of home"
        assert int(second[0]["id"]) < int(first[-1]["id"])
        everything = first + mastodon.fetch_remaining(second)  # which includes `second`
        # bob's post is dated to the second by his server, so it may sort before ours.
        texts = [s["content"] for s in everything]
        assert len(texts) == 3, texts  # our boost of our own post is not shown again
        assert any("Hello from bob" in text for text in texts), texts
        assert posted["id"] in {s["id"] for s in everything}

        newest = mastodon.notifications(limit=1)
        assert [n["type"] for n in newest] == ["mention"]
        older = mastodon.fetch_next(newest)
        assert [n["type"] for n in older] == ["follow"]
        assert older[0]["account"]["acct"] == f"bob@{bob.domain}"

    await asyncio.to_thread(read_with_paging)


async def test_mastodon_py_reports_a_remote_account_and_its_post(
    pair: tuple[SoloProcess, SoloProcess], tmp_path: Path
) -> None:
    """Mastodon.py's report(): kept at alice's, and (forwarded) an admin.report at bob's."""
    alice, bob = pair
    secrets = tmp_path / "secrets.txt"

    def log_in_and_follow() -> tuple[Mastodon, str]:
        Mastodon.create_app(
            "Solo reports", scopes=SCOPES, api_base_url=alice.base_url, to_file=secrets
        )
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
        found = mastodon.search_v2(f"bob@{bob.domain}", resolve=True, result_type="accounts")
        bob_id: str = found["accounts"][0]["id"]
        mastodon.account_follow(bob_id)
        _wait_for(lambda: mastodon.account_relationships(bob_id)[0]["following"], "bob to accept")
        return mastodon, bob_id

    mastodon, bob_id = await asyncio.to_thread(log_in_and_follow)
    async with bob.logged_in() as browser:
        said = await submit(browser, "/", "/statuses", text="Buy cheap watches now")
        assert said.status_code == 303, said.text

    def report() -> dict[str, Any]:
        def arrived() -> bool:
            return bool(mastodon.account_statuses(bob_id))

        _wait_for(arrived, "bob's post at alice's")
        (post,) = mastodon.account_statuses(bob_id)
        made = mastodon.report(
            bob_id, status_ids=[post], comment="Spam", forward=True, category="spam"
        )
        assert made["status_ids"] == [post["id"]]
        assert (made["category"], made["comment"], made["forwarded"]) == ("spam", "Spam", True)
        assert made["target_account"]["acct"] == f"bob@{bob.domain}"
        return dict(made)

    await asyncio.to_thread(report)

    async def bob_notified() -> bool:
        async with bob.logged_in() as browser:
            page = await browser.get("/reports")
            return "Buy cheap watches now" in page.text and "Spam" in page.text

    await eventually(bob_notified, within=WAIT, what="the report on bob's Reports page")
    async with bob.logged_in() as browser:
        notifications = await browser.get("/notifications")
        assert "reported you" in notifications.text


def _toot_with_a_terminal(config: Path, *args: str, answers: list[str]) -> str:
    """Run toot with a pseudo-terminal for stdin and stdout (it pages only on a terminal),
    answering each `Continue? [Y/n]` in turn; returns everything it printed."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "COLUMNS": "100", "TERM": "dumb"}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "toot", *args],
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: toot exited and the terminal closed
                    break
                if not chunk:
                    break
                output += chunk
                if output.count(b"Continue? [Y/n]") > len(answers) - len(pending) and pending:
                    os.write(controller, pending.pop(0).encode() + b"\n")
            elif process.poll() is not None:
                break
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    return output.decode("utf-8", "replace")


async def test_toot_posts_reads_pages_and_follows(
    pair: tuple[SoloProcess, SoloProcess], tmp_path: Path
) -> None:
    alice, bob = pair
    config = tmp_path / "config"
    login = await asyncio.to_thread(
        _toot, config, "login_cli", "-i", alice.base_url, "-e", "alice", "-p", PASSWORD
    )
    assert login.returncode == 0, login.stdout + login.stderr

    image = _image(tmp_path / "photo.png")
    posted = await asyncio.to_thread(
        _toot, config, "post", "A photo from toot", "--media", str(image),
        "--description", "An orange rectangle",
    )  # fmt: skip
    assert posted.returncode == 0, posted.stdout + posted.stderr
    assert "Toot posted" in posted.stdout
    assert alice.base_url in posted.stdout  # toot prints status["url"]
    for n in range(1, 4):
        more = await asyncio.to_thread(_toot, config, "post", f"Paging test number {n}")
        assert more.returncode == 0, more.stdout + more.stderr

    async with alice.client() as http:
        http.headers["Host"] = alice.domain
        statuses = (await http.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()
        shown = await http.get(f"/api/v1/accounts/{statuses['id']}/statuses")
        photo = next(s for s in shown.json() if "A photo from toot" in s["content"])
        assert [m["description"] for m in photo["media_attachments"]] == ["An orange rectangle"]

    # Two per page: the first page shows 3 and 2, the Link header leads to 1 and the photo.
    timeline = await asyncio.to_thread(
        _toot_with_a_terminal, config, "timeline", "--count", "2", answers=["y", "n"]
    )
    assert timeline.count("Continue? [Y/n]") == 2, timeline
    first, _, rest = timeline.partition("Continue? [Y/n]")
    assert "Paging test number 3" in first and "Paging test number 2" in first
    assert "Paging test number 1" not in first
    assert "Paging test number 1" in rest and "A photo from toot" in rest

    followed = await asyncio.to_thread(_toot, config, "follow", f"bob@{bob.domain}")
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert f"You are now following bob@{bob.domain}" in followed.stdout

    async def bob_has_a_follower() -> bool:
        async with bob.client() as client:
            answer = await client.get(
                "/users/bob/followers?page=true", headers={"Accept": "application/activity+json"}
            )
            return f"{alice.base_url}/users/alice" in answer.json().get("orderedItems", [])

    await eventually(bob_has_a_follower, within=WAIT, what="bob to have alice as a follower")


async def test_mastodon_py_blocks_pages_and_unblocks_domains(
    node: SoloProcess, tmp_path: Path
) -> None:
    def calls() -> None:
        secrets = tmp_path / "secrets.txt"
        Mastodon.create_app("Solo", scopes=SCOPES, api_base_url=node.base_url, to_file=secrets)
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
        for domain in ("one.example", "two.example", "https://three.example/@someone"):
            mastodon.domain_block(domain)
        mastodon.domain_block("one.example")  # again: harmless
        first = mastodon.domain_blocks(limit=2)
        assert list(first) == ["three.example", "two.example"]
        assert list(mastodon.fetch_next(first)) == ["one.example"]
        for bad, why in (("*.example", "wildcards"), ("127.0.0.1", "IP address")):
            with pytest.raises(MastodonAPIError, match=why):
                mastodon.domain_block(bad)
        mastodon.domain_unblock("two.example")
        assert list(mastodon.domain_blocks()) == ["three.example", "one.example"]

    await asyncio.to_thread(calls)


def _mastodon_py_filters(base_url: str, secrets: Path) -> dict[str, Any]:
    """Every filters call of Mastodon.py 2.3, v2 and v1, against a real instance."""
    Mastodon.create_app("Solo filters", scopes=SCOPES, api_base_url=base_url, to_file=secrets)
    mastodon = Mastodon(client_id=secrets)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    posted = mastodon.status_post("Some words about the season finale")
    made = mastodon.create_filter_v2(
        "Spoilers",
        ["home", "public"],
        filter_action="warn",
        expires_in=3600,
        keywords_attributes=[{"keyword": "finale", "whole_word": True}],
    )
    added = mastodon.add_filter_keyword_v2(made["id"], "trailer", whole_word=False)
    keywords = [k["keyword"] for k in mastodon.filter_keywords_v2(made["id"])]
    updated = mastodon.update_filter_v2(made["id"], title="TV", filter_action="hide")
    mastodon.delete_filter_keyword_v2(added["id"])
    named = mastodon.add_filter_status_v2(made["id"], posted["id"])
    one = mastodon.filter_status_v2(named["id"])
    statuses = mastodon.filter_statuses_v2(made["id"])
    mastodon.delete_filter_status_v2(named["id"])
    listed = mastodon.filters_v2()
    fetched = mastodon.filter_v2(made["id"])
    mastodon.delete_filter_v2(made["id"])
    v1 = mastodon.filter_create("rust", ["home"], irreversible=False, whole_word=True)
    v1_changed = mastodon.filter_update(v1["id"], phrase="golang")
    v1_listed = mastodon.filters()
    mastodon.filter_delete(v1["id"])
    return {
        "made": made,
        "keywords": keywords,
        "updated": updated,
        "one": one,
        "statuses": statuses,
        "listed": listed,
        "fetched": fetched,
        "left": mastodon.filters_v2(),
        "v1": v1,
        "v1_changed": v1_changed,
        "v1_listed": v1_listed,
        "v1_left": mastodon.filters(),
        "posted": posted["id"],
    }


async def test_mastodon_py_filters(node: SoloProcess, tmp_path: Path) -> None:
    result = await asyncio.to_thread(_mastodon_py_filters, node.base_url, tmp_path / "secrets.txt")
    made = result["made"]
    assert made["title"] == "Spoilers" and made["context"] == ["home", "public"]
    assert made["expires_at"] is not None and made["keywords"][0]["keyword"] == "finale"
    assert result["keywords"] == ["finale", "trailer"]
    assert result["updated"]["title"] == "TV" and result["updated"]["filter_action"] == "hide"
    assert str(result["one"]["status_id"]) == str(result["posted"])
    assert [s["id"] for s in result["statuses"]] == [result["one"]["id"]]
    assert [f["id"] for f in result["listed"]] == [made["id"]]
    assert [k["keyword"] for k in result["fetched"]["keywords"]] == ["finale"]
    assert result["fetched"]["statuses"] == []
    assert result["left"] == []
    assert result["v1"]["phrase"] == "rust" and result["v1"]["irreversible"] is False
    assert result["v1_changed"]["phrase"] == "golang"
    assert [f["phrase"] for f in result["v1_listed"]] == ["golang"]
    assert result["v1_left"] == []


async def test_mastodon_py_mutes_notes_and_blocks(
    pair: tuple[SoloProcess, SoloProcess], tmp_path: Path
) -> None:
    alice, bob = pair
    secrets = tmp_path / "secrets.txt"

    def calls() -> None:
        Mastodon.create_app(
            "Solo safety", scopes=SCOPES, api_base_url=alice.base_url, to_file=secrets
        )
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
        posted = mastodon.status_post("A thread to mute")
        assert posted["muted"] is False
        assert mastodon.status_mute(posted["id"])["muted"] is True
        assert mastodon.status(posted["id"])["muted"] is True
        assert mastodon.status_unmute(posted["id"])["muted"] is False

        found = mastodon.search_v2(f"bob@{bob.domain}", resolve=True, result_type="accounts")
        bob_id = found["accounts"][0]["id"]
        noted = mastodon.account_note_set(bob_id, "Met at the meetup")
        assert noted["note"] == "Met at the meetup"
        assert mastodon.account_relationships(bob_id)[0]["note"] == "Met at the meetup"

        muted = mastodon.account_mute(bob_id, notifications=False, duration=300)
        assert muted["muting"] is True and muted["muting_notifications"] is False
        assert [a["id"] for a in mastodon.mutes()] == [bob_id]
        assert mastodon.account_unmute(bob_id)["muting"] is False
        assert mastodon.account_block(bob_id)["blocking"] is True
        assert [a["id"] for a in mastodon.blocks()] == [bob_id]
        assert mastodon.account_unblock(bob_id)["blocking"] is False
        assert mastodon.blocks() == []

    await asyncio.to_thread(calls)


def _mastodon_py_scheduled(base_url: str, secrets: Path) -> dict[str, Any]:
    """Mastodon.py's scheduled-post calls and its conversations against a real instance."""
    Mastodon.create_app("Solo later", scopes=SCOPES, api_base_url=base_url, to_file=secrets)
    mastodon = Mastodon(client_id=secrets)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    when = datetime.now(UTC) + timedelta(hours=2)
    made = mastodon.status_post("Posted later", scheduled_at=when, visibility="unlisted")
    listed = mastodon.scheduled_statuses()
    one = mastodon.scheduled_status(made["id"])
    moved = mastodon.scheduled_status_update(made["id"], when + timedelta(days=1))
    with pytest.raises(MastodonAPIError, match="at least 5 minutes in the future"):
        mastodon.status_post("Too soon", scheduled_at=datetime.now(UTC))
    mastodon.scheduled_status_delete(made["id"])
    return {
        "made": made,
        "listed": listed,
        "one": one,
        "moved": moved,
        "left": mastodon.scheduled_statuses(),
        "conversations": mastodon.conversations(),
        "home": mastodon.timeline_home(),
    }


async def test_mastodon_py_schedules_moves_and_cancels(node: SoloProcess, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        _mastodon_py_scheduled, node.base_url, tmp_path / "secrets.txt"
    )
    made = result["made"]
    assert made["params"]["text"] == "Posted later"
    assert made["params"]["visibility"] == "unlisted"
    assert "content" not in made  # a ScheduledStatus, which Mastodon.py returns as it came
    assert [s["id"] for s in result["listed"]] == [made["id"]]
    assert result["one"]["id"] == made["id"]
    assert result["moved"]["scheduled_at"] - made["scheduled_at"] == timedelta(days=1)
    assert result["left"] == []
    assert result["conversations"] == [] and result["home"] == []


async def test_toot_schedules_a_post(node: SoloProcess, tmp_path: Path) -> None:
    config = tmp_path / "config"
    login = await asyncio.to_thread(
        _toot, config, "login_cli", "-i", node.base_url, "-e", "alice", "-p", PASSWORD
    )
    assert login.returncode == 0, login.stderr
    when = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    posted = await asyncio.to_thread(_toot, config, "post", "Toot, later", "--scheduled-at", when)
    assert posted.returncode == 0, posted.stderr
    assert "Toot scheduled for" in posted.stdout
    too_soon = await asyncio.to_thread(
        _toot, config, "post", "Toot, now", "--scheduled-at", datetime.now(UTC).isoformat()
    )
    assert too_soon.returncode != 0
    assert "at least 5 minutes in the future" in too_soon.stdout + too_soon.stderr
    listed = json.loads(
        rows_json(node, "SELECT params FROM scheduled_statuses WHERE published_at IS NULL")
    )
    assert [p["text"] for p in listed] == ["Toot, later"]


def rows_json(node: SoloProcess, sql: str) -> str:
    """The JSON column values a query reads, as one JSON list."""
    with closing(sqlite3.connect(f"file:{node.settings.db_path}?mode=ro", uri=True)) as conn:
        return "[" + ",".join(str(row[0]) for row in conn.execute(sql)) + "]"


async def test_mastodon_py_lists_and_hashtags(
    pair: tuple[SoloProcess, SoloProcess], tmp_path: Path
) -> None:
    """Mastodon.py's list calls with bob (on the other instance) as a member, and its followed
    and featured hashtag calls."""
    alice, bob = pair
    secrets = tmp_path / "secrets.txt"

    def log_in_and_follow() -> tuple[Mastodon, str]:
        Mastodon.create_app(
            "Solo lists", scopes=SCOPES, api_base_url=alice.base_url, to_file=secrets
        )
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
        found = mastodon.search_v2(f"bob@{bob.domain}", resolve=True, result_type="accounts")
        bob_id: str = found["accounts"][0]["id"]
        mastodon.account_follow(bob_id)
        _wait_for(lambda: mastodon.account_relationships(bob_id)[0]["following"], "bob to accept")
        return mastodon, bob_id

    mastodon, bob_id = await asyncio.to_thread(log_in_and_follow)

    def make_list() -> str:
        made = mastodon.list_create("Friends", replies_policy="followed")
        assert made["title"] == "Friends" and made["replies_policy"] == "followed"
        mastodon.list_accounts_add(made["id"], [bob_id])
        assert [a["id"] for a in mastodon.list_accounts(made["id"])] == [bob_id]
        assert [found["id"] for found in mastodon.account_lists(bob_id)] == [made["id"]]
        changed = mastodon.list_update(made["id"], "Close friends", exclusive=True)
        assert changed["title"] == "Close friends" and changed["exclusive"] is True
        assert [found["title"] for found in mastodon.lists()] == ["Close friends"]
        return str(made["id"])

    list_id = await asyncio.to_thread(make_list)
    async with bob.logged_in() as browser:
        said = await submit(browser, "/", "/statuses", text="Bob for the list #SoloDev")
        assert said.status_code == 303, said.text

    def read_and_tags() -> None:
        _wait_for(
            lambda: any(
                "Bob for the list" in s["content"] for s in mastodon.timeline_list(list_id)
            ),
            "bob's post in the list",
        )
        home = mastodon.timeline_home()
        assert not any("Bob for the list" in s["content"] for s in home)  # an exclusive list
        mastodon.list_accounts_delete(list_id, [bob_id])
        assert list(mastodon.list_accounts(list_id)) == []
        mastodon.list_delete(list_id)
        assert list(mastodon.lists()) == []
        with pytest.raises(MastodonAPIError):
            mastodon.list(list_id)

        assert mastodon.tag_follow("SoloDev")["following"] is True
        assert [t["name"] for t in mastodon.followed_tags()] == ["solodev"]
        assert mastodon.tag("solodev")["following"] is True
        assert mastodon.tag_unfollow("solodev")["following"] is False
        assert list(mastodon.followed_tags()) == []

        mastodon.status_post("Our own #Gardening notes")
        assert [t["name"] for t in mastodon.featured_tag_suggestions()] == ["gardening"]
        featured = mastodon.featured_tag_create("Gardening")
        assert featured["name"] == "Gardening" and featured["statuses_count"] == "1"
        me = mastodon.me()
        assert [t["id"] for t in mastodon.account_featured_tags(me["id"])] == [featured["id"]]
        mastodon.featured_tag_delete(featured["id"])
        assert list(mastodon.featured_tags()) == []

    await asyncio.to_thread(read_and_tags)


def _mastodon_py_search(base_url: str, secrets: Path) -> dict[str, Any]:
    _mastodon_py_password_login(base_url, secrets)
    mastodon = Mastodon(client_id=secrets, access_token=None)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    ids = [
        mastodon.status_post(text)["id"]
        for text in ("Über den Wolken", "Cloudy with a chance of meatballs", "Wolkig, später Regen")
    ]
    found = mastodon.search_v2("uber", result_type="statuses")
    both = mastodon.search_v2("wolk*", result_type="statuses")
    paged = mastodon.search_v2("wolk*", result_type="statuses", max_id=ids[2])
    mixed = mastodon.search_v2("from:me -regen")
    return {
        "ids": ids,
        "found": [s["id"] for s in found["statuses"]],
        "both": [s["id"] for s in both["statuses"]],
        "paged": [s["id"] for s in paged["statuses"]],
        "mixed": [s["id"] for s in mixed["statuses"]],
    }


async def test_mastodon_py_and_toot_search_posts(node: SoloProcess, tmp_path: Path) -> None:
    result = await asyncio.to_thread(_mastodon_py_search, node.base_url, tmp_path / "secrets.txt")
    first, cloudy, rainy = result["ids"]
    assert result["found"] == [first]
    assert result["both"] == [rainy, first]
    assert result["paged"] == [first]
    assert result["mixed"] == [cloudy, first]
    config = tmp_path / "toot-config"
    await asyncio.to_thread(
        _toot, config, "login_cli", "-i", node.base_url, "-e", "alice", "-p", PASSWORD
    )
    shown = await asyncio.to_thread(_toot, config, "search", "--type", "statuses", "meatballs")
    assert shown.returncode == 0, shown.stderr
    assert f"* {cloudy} {node.base_url}/@alice/{cloudy}" in shown.stdout  # toot's listing
    as_json = await asyncio.to_thread(
        _toot, config, "search", "--type", "statuses", "--json", "wolken"
    )
    assert [s["id"] for s in json.loads(as_json.stdout)["statuses"]] == [str(first)]
