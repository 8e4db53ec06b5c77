"""Remote posts' tags through the real inbox and ingress worker, then every page that lists
posts by hashtag: shapes AS2 allows but the queries choked on, thousands of tags, names that
are no hashtags, and content warnings whose markup holds no text."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from solo.db import migrations
from tests.fleet import Node, fleet_of
from tests.ingress_helpers import (
    Sender,
    actor_row,
    create,
    deliver,
    follow_solo,
    note,
    solo_sender,
    status_of,
)
from tests.test_api_statuses import user_token
from tests.test_login import login


async def _receive(alice: Node, sender: Sender, **fields: Any) -> int:
    sent = note(sender, **fields)
    outcome = await deliver(alice, sender, create(sender, sent))
    assert outcome.applied, outcome
    stored = await status_of(alice, sent["id"])
    assert stored is not None
    return stored.id


async def _tag_pages(
    alice: Node, auth: dict[str, str], tag: str, author: int
) -> tuple[list[int], list[int], str]:
    """What each hashtag listing shows for `tag`: the ids of the tag timeline and of the
    author's statuses `tagged=`, and the web page; every one must answer 200."""
    web = await alice.client.get(f"/tags/{tag}")
    assert web.status_code == 200, web.text
    timeline = await alice.client.get(f"/api/v1/timelines/tag/{tag}", headers=auth)
    assert timeline.status_code == 200, timeline.text
    tagged = await alice.client.get(
        f"/api/v1/accounts/{author}/statuses", params={"tagged": tag}, headers=auth
    )
    assert tagged.status_code == 200, tagged.text
    return [int(i["id"]) for i in timeline.json()], [int(i["id"]) for i in tagged.json()], web.text


async def test_a_bare_url_in_tag_breaks_no_hashtag_page(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        odd = [
            "https://bob.test/tags/cats",
            {"type": "Link", "href": "https://bob.test/x"},
            {"type": "Hashtag", "name": "#cats", "href": "https://bob.test/tags/cats"},
            7,
            None,
        ]
        odd_id = await _receive(alice, sender, tag=odd)
        plain_id = await _receive(
            alice, sender, tag={"type": "Hashtag", "name": "#Cats"}, content="<p>plain</p>"
        )
        stored = await alice.federation.db.fetchval(
            "SELECT raw FROM statuses WHERE id = ?", (odd_id,)
        )
        assert json.loads(stored)["tag"] == [
            {"type": "Hashtag", "name": "#cats", "href": "https://bob.test/tags/cats"}
        ]
        assert (await login(alice.client, username="alice")).status_code == 303
        auth = await user_token(alice.client, username="alice")
        author = await actor_row(alice, bob.actor)
        timeline, tagged, web = await _tag_pages(alice, auth, "cats", author)
        assert timeline == tagged == [plain_id, odd_id]
        assert f"/{odd_id}" in web and f"/{plain_id}" in web

        # Rows stored before ingest normalised `tag` hold anything: the queries must cope.
        await alice.federation.db.execute(
            "UPDATE statuses SET raw = ? WHERE id = ?",
            (json.dumps({"tag": [*odd, "#cats", {"type": "Hashtag", "name": "cats"}]}), odd_id),
        )
        timeline, tagged, web = await _tag_pages(alice, auth, "cats", author)
        assert timeline == tagged == [plain_id, odd_id]
        assert f"/{odd_id}" in web and f"/{plain_id}" in web
        search = await alice.client.get("/api/v2/search?q=%23ca&type=hashtags", headers=auth)
        assert search.status_code == 200 and [h["name"] for h in search.json()["hashtags"]]
        entity = await alice.client.get(f"/api/v1/statuses/{odd_id}", headers=auth)
        assert [t["name"] for t in entity.json()["tags"]] == ["cats"]


async def test_the_migration_normalises_stored_tags(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        status_id = await _receive(alice, sender)
        many = [{"type": "Hashtag", "name": f"#t{i}"} for i in range(500)]
        old = {"tag": ["https://bob.test/tags/x", *many, {"type": "Mention", "href": bob.actor}]}
        db = alice.federation.db
        await db.execute("UPDATE statuses SET raw = ? WHERE id = ?", (json.dumps(old), status_id))
        (_, script) = next(m for m in migrations() if m[1].name.endswith("_normal_tags.sql"))
        # The migration alone, as an older database meets it (later ones are not repeatable).
        raw_db = sqlite3.connect(alice.settings.db_path, isolation_level=None)
        try:
            raw_db.executescript(f"BEGIN IMMEDIATE;\n{script.read_text()}\nCOMMIT;")
            (raw,) = raw_db.execute(
                "SELECT raw FROM statuses WHERE id = ?", (status_id,)
            ).fetchone()
        finally:
            raw_db.close()
        assert json.loads(raw)["tag"] == [*many[:64], {"type": "Mention", "href": bob.actor}]


async def test_tags_mentions_and_emoji_are_capped_at_ingest(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        flood: list[Any] = [{"type": "Hashtag", "name": f"#t{i}"} for i in range(12_000)]
        flood += [{"type": "Mention", "href": f"https://bob.test/users/u{i}"} for i in range(500)]
        flood += [
            {"type": "Emoji", "name": f":e{i}:", "icon": {"url": f"https://bob.test/e{i}.png"}}
            for i in range(500)
        ]
        status_id = await _receive(alice, sender, tag=flood)
        raw = json.loads(
            await alice.federation.db.fetchval(
                "SELECT raw FROM statuses WHERE id = ?", (status_id,)
            )
        )
        kinds = [tag["type"] for tag in raw["tag"]]
        assert (kinds.count("Hashtag"), kinds.count("Mention"), kinds.count("Emoji")) == (
            64,
            100,
            64,
        )
        auth = await user_token(alice.client, username="alice")
        entity = (await alice.client.get(f"/api/v1/statuses/{status_id}", headers=auth)).json()
        assert len(entity["tags"]) == 64 and len(entity["emojis"]) <= 64


async def test_names_that_are_no_hashtags_are_dropped_and_refused(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        names = ["#with white space", "#<script>alert(1)</script>", "#123", "#_", "#ok_tag"]
        # PeerTube sends its names without the '#'.
        tags = [{"type": "Hashtag", "name": n} for n in [*names, "Caturday", "l·lengua"]]
        status_id = await _receive(alice, sender, tag=tags)
        auth = await user_token(alice.client, username="alice")
        entity = (await alice.client.get(f"/api/v1/statuses/{status_id}", headers=auth)).json()
        assert [t["name"] for t in entity["tags"]] == ["ok_tag", "Caturday", "l·lengua"]
        assert (await login(alice.client, username="alice")).status_code == 303
        for good in ("caturday", "%23Caturday", "l%C2%B7lengua"):
            page = await alice.client.get(f"/tags/{good}")
            assert page.status_code == 200 and f"/{status_id}" in page.text, good
            listed = await alice.client.get(f"/api/v1/timelines/tag/{good}", headers=auth)
            assert [int(s["id"]) for s in listed.json()] == [status_id], good
        for bad in ("with%20white%20space", "%3Cscript%3E", "123", "_"):
            page = await alice.client.get(f"/tags/{bad}")
            assert page.status_code == 404 and "not a hashtag" in page.text, bad
            listed = await alice.client.get(f"/api/v1/timelines/tag/{bad}", headers=auth)
            assert listed.status_code == 200 and listed.json() == [], bad
        author = await actor_row(alice, bob.actor)
        tagged = await alice.client.get(
            f"/api/v1/accounts/{author}/statuses", params={"tagged": "<b>"}, headers=auth
        )
        assert tagged.status_code == 200 and tagged.json() == []
        # A stream of a tag no post can carry is refused at once, with the reason.
        stream = await alice.client.get("/api/v1/streaming/hashtag?tag=with%20space")
        assert stream.status_code == 422 and "not a hashtag" in stream.json()["error"]


async def test_our_composer_and_the_tag_pages_agree(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        auth = await user_token(alice.client, username="alice")
        posted = await alice.client.post(
            "/api/v1/statuses",
            data={"status": "#Café #l·lengua #日本語 #1_2 #_ #123 #dot·"},
            headers=auth,
        )
        assert posted.status_code == 200, posted.text
        entity = posted.json()
        assert [t["name"] for t in entity["tags"]] == ["café", "l·lengua", "日本語", "1_2", "dot"]
        for tag in entity["tags"]:
            path = httpx.URL(tag["url"]).raw_path.decode()
            page = await alice.client.get(path)
            assert page.status_code == 200 and f"/{entity['id']}" in page.text, path
            listed = await alice.client.get(f"/api/v1{path.replace('/tags/', '/timelines/tag/')}")
            assert listed.headers["link"].isascii(), path
            assert [s["id"] for s in listed.json()] == [entity["id"]], path


async def test_a_content_warning_of_empty_markup_still_covers_the_post(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        auth = await user_token(alice.client, username="alice")
        assert (await login(alice.client, username="alice")).status_code == 303
        for summary in ("<p></p>", "<span></span>", "<p><br></p>"):
            status_id = await _receive(alice, sender, summary=summary, content="<p>spoiler</p>")
            entity = (await alice.client.get(f"/api/v1/statuses/{status_id}", headers=auth)).json()
            assert entity["spoiler_text"] == "Sensitive content", summary
            assert entity["sensitive"] is True, summary
            page = await alice.client.get(f"/@alice/{status_id}", follow_redirects=True)
            assert page.status_code == 200
            assert 'class="cw-label"' in page.text and "Sensitive content" in page.text, summary
        # A summary of text is kept as it is, and an empty one is no warning.
        kept = await _receive(alice, sender, summary="<p>food</p>", sensitive=False)
        shown = (await alice.client.get(f"/api/v1/statuses/{kept}", headers=auth)).json()
        assert (shown["spoiler_text"], shown["sensitive"]) == ("food", True)
        bare = await _receive(alice, sender, summary=" ")
        shown = (await alice.client.get(f"/api/v1/statuses/{bare}", headers=auth)).json()
        assert (shown["spoiler_text"], shown["sensitive"]) == ("", False)
