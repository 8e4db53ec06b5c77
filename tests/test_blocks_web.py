"""Blocking and muting accounts from the web, between two instances: the confirmation pages the
post menu links to, the forms with CSRF, follows severed both ways and the Block received, a
blocked or muted account gone from every page, list and stream, a mute that runs out, and the
settings lists with their undo buttons."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import quote

from solo.events import Event
from tests.fleet import Node, eventually
from tests.test_api_statuses import user_token
from tests.test_web_federation import copy_of, follow_state, populated
from tests.test_web_pages import send


async def bob_id(alice: Node, bob: Node) -> int:
    return int(
        await alice.federation.db.fetchval("SELECT id FROM actors WHERE ap_id = ?", (bob.actor,))
    )


async def api_notifications(alice: Node, auth: dict[str, str]) -> list[str]:
    response = await alice.client.get("/api/v1/notifications", headers=auth)
    assert response.status_code == 200
    return sorted(n["type"] for n in response.json())


def drain(queue: asyncio.Queue[Event]) -> list[str]:
    kinds = []
    while not queue.empty():
        kinds.append(queue.get_nowait().kind)
    return kinds


async def test_a_block_from_the_post_menu_severs_follows_and_hides_everything(
    tmp_path: Path, template_root: Path
) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        auth = await user_token(web)
        await send(bob.client, "/statuses", text="Bob tags it #solo", back="/")
        bob_tagged = await copy_of(alice, "Bob tags it")
        bob_post = await copy_of(alice, "Hello from bob")
        reply = await copy_of(alice, "Welcome, alice!")
        own_post = int(
            await alice.federation.db.fetchval(
                "SELECT id FROM statuses WHERE actor_id IS NULL AND reblog_of_id IS NULL"
            )
        )
        bob_url = await alice.federation.db.fetchval(
            "SELECT ap_id FROM statuses WHERE id = ?", (bob_post,)
        )
        home = await web.get("/")
        assert f"/block?account={quote(bob.actor)}" in home.text  # the post menu

        # The menu's link asks first, and says what a block does.
        page = await web.get(f"/block?account={quote(bob.actor, safe='')}&back=/")
        assert page.status_code == 200
        assert "Block @bob@bob.test?" in page.text and "Their server is told" in page.text
        refused = await web.post("/block", data={"account": bob.actor, "back": "/"})
        assert refused.status_code == 403  # no CSRF token: nothing happens
        assert await follow_state(alice, "out", bob) == "accepted"

        blocked = await send(web, "/block", account=bob.actor, back="/")
        assert blocked.status_code == 303 and blocked.headers["location"] == "/"
        assert "You blocked @bob@bob.test." in (await web.get("/")).text
        assert await follow_state(alice, "out", bob) is None
        assert await follow_state(alice, "in", bob) is None

        async def received() -> bool:
            row = await bob.federation.db.fetchone(
                "SELECT 1 FROM interactions i JOIN actors a ON a.id = i.actor_id"
                " WHERE i.kind = 'block' AND a.ap_id = ?",
                (alice.actor,),
            )
            return (
                row is not None
                and await follow_state(bob, "out", alice) is None
                and await follow_state(bob, "in", alice) is None
            )

        await eventually(received, what="bob's server to take the Block and drop both follows")

        # Gone from every page: timelines, the thread, the tag page, notifications, search.
        for path in ("/", "/federated", f"/@alice/{own_post}", "/tags/solo", "/notifications"):
            text = (await web.get(path)).text
            for gone in ("Hello from bob", "Welcome, alice!", "Bob tags it"):
                assert gone not in text, (path, gone)
        assert "Hello from alice" in (await web.get(f"/@alice/{own_post}")).text
        assert "No notifications yet" in (await web.get("/notifications")).text
        found = await web.get("/search", params={"q": bob_url})
        assert "Hello from bob" not in found.text and "you block or mute" in found.text
        profile = await web.get("/@bob@bob.test")
        assert "You block this account" in profile.text and "Hello from bob" not in profile.text
        assert ">Unblock</button>" in profile.text
        # And from the API's: notifications, context, tags, search.
        assert await api_notifications(alice, auth) == []
        context = (await web.get(f"/api/v1/statuses/{own_post}/context", headers=auth)).json()
        assert str(reply) not in [s["id"] for s in context["descendants"]]
        tagged = (await web.get("/api/v1/timelines/tag/solo", headers=auth)).json()
        assert str(bob_tagged) not in [s["id"] for s in tagged]
        searched = await web.get("/api/v2/search", params={"q": bob_url}, headers=auth)
        assert searched.json()["statuses"] == []
        assert alice.federation.feeds.unread == 0

        # The settings list has them, with the undo.
        listed = await web.get("/settings/blocks")
        assert "@bob@bob.test" in listed.text and ">Unblock</button>" in listed.text
        undone = await send(web, "/unblock", account=bob.actor, back="/settings/blocks")
        assert undone.headers["location"] == "/settings/blocks"
        after = await web.get("/settings/blocks")
        assert "You unblocked @bob@bob.test." in after.text
        assert "You have not blocked anyone." in after.text
        assert "Hello from bob" in (await web.get("/federated")).text
        assert await api_notifications(alice, auth) == ["favourite", "follow", "mention", "reblog"]

        async def lifted() -> bool:
            return not await bob.federation.db.fetchval(
                "SELECT COUNT(*) FROM interactions WHERE kind = 'block'"
            )

        await eventually(lifted, what="bob's server to take the Undo")


async def test_a_mute_with_notifications_and_a_duration_and_its_end(
    tmp_path: Path, template_root: Path
) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        auth = await user_token(web)
        actor_id = await bob_id(alice, bob)
        own_post = int(
            await alice.federation.db.fetchval(
                "SELECT id FROM statuses WHERE actor_id IS NULL AND reblog_of_id IS NULL"
            )
        )
        page = await web.get(f"/mute?account={quote(bob.actor, safe='')}")
        assert "Mute @bob@bob.test?" in page.text
        assert 'name="notifications" value="1" checked' in page.text
        for label in ("Indefinitely", "5 minutes", "30 minutes", "1 hour", "6 hours", "1 day"):
            assert f">{label}</option>" in page.text
        assert ">3 days</option>" in page.text and ">7 days</option>" in page.text

        bad = await send(web, "/mute", account=bob.actor, duration="4242", notifications="1")
        assert bad.status_code == 400 and "Choose how long the mute lasts" in bad.text
        assert "Mute @bob@bob.test?" in bad.text  # the form again, nothing muted
        relationship = (
            await web.get(f"/api/v1/accounts/relationships?id={actor_id}", headers=auth)
        ).json()[0]
        assert relationship["muting"] is False

        muted = await send(
            web, "/mute", account=bob.actor, duration="3600", notifications="1", back="/"
        )
        assert muted.status_code == 303
        assert (
            "You muted @bob@bob.test and their notifications for 1 hour."
            in (await web.get("/")).text
        )
        # One store for the web and the API.
        relationship = (
            await web.get(f"/api/v1/accounts/relationships?id={actor_id}", headers=auth)
        ).json()[0]
        assert relationship["muting"] and relationship["muting_notifications"]
        listed = (await web.get("/api/v1/mutes", headers=auth)).json()
        assert [a["id"] for a in listed] == [str(actor_id)] and listed[0]["mute_expires_at"]
        for path in ("/", "/federated", f"/@alice/{own_post}"):
            text = (await web.get(path)).text
            assert "Hello from bob" not in text and "Welcome, alice!" not in text, path
        assert "No notifications yet" in (await web.get("/notifications")).text
        assert await api_notifications(alice, auth) == []
        assert alice.federation.feeds.unread == 0

        # A new notification from them is neither counted nor streamed.
        queue = alice.federation.events.subscribe()
        try:
            await send(bob.client, "/statuses", text="Still here, @alice@alice.test", back="/")
            mention = await copy_of(alice, "Still here")
            assert drain(queue) == []
            assert alice.federation.feeds.unread == 0
            hidden = await alice.federation.db.fetchval(
                "SELECT id FROM notifications WHERE status_id = ?", (mention,)
            )
            single = await web.get(f"/api/v1/notifications/{hidden}", headers=auth)
            assert single.status_code == 404
        finally:
            alice.federation.events.unsubscribe(queue)

        settings = await web.get("/settings/mutes")
        assert "@bob@bob.test" in settings.text and "Posts and notifications muted until" in (
            settings.text
        )

        # Muted again for a second (through the API: the terms are replaced), the mute runs
        # out and stops applying everywhere, with no restart.
        again = await web.post(
            f"/api/v1/accounts/{actor_id}/mute", json={"duration": 1}, headers=auth
        )
        assert again.status_code == 200 and again.json()["muting"]

        async def ran_out() -> bool:
            federated = (await web.get("/federated")).text
            home = (await web.get("/api/v1/timelines/home", headers=auth)).json()
            return "Hello from bob" in federated and any(
                "Hello from bob" in s["content"] for s in home
            )

        await eventually(ran_out, what="the mute to run out")
        assert "Still here" in (await web.get("/notifications")).text
        assert "mention" in await api_notifications(alice, auth)
        assert "You have not muted anyone." in (await web.get("/settings/mutes")).text
        relationship = (
            await web.get(f"/api/v1/accounts/relationships?id={actor_id}", headers=auth)
        ).json()[0]
        assert relationship["muting"] is False


async def test_a_mute_that_keeps_notifications_and_its_undo(
    tmp_path: Path, template_root: Path
) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        auth = await user_token(web)
        await send(web, "/mute", account=bob.actor, duration="0", back="/settings/mutes")
        listed = await web.get("/settings/mutes")
        assert "You muted @bob@bob.test." in listed.text
        assert (
            "Posts muted" in listed.text and "until" not in listed.text.split("Posts muted")[1][:20]
        )
        assert "Hello from bob" not in (await web.get("/")).text
        # Their notifications stay: only their posts left the timelines.
        assert await api_notifications(alice, auth) == ["favourite", "follow", "mention", "reblog"]
        assert "mentioned you" in (await web.get("/notifications")).text
        profile = await web.get("/@bob@bob.test")
        assert ">Unmute</button>" in profile.text
        undone = await send(web, "/unmute", account=bob.actor, back="/settings/mutes")
        assert undone.status_code == 303
        assert "You have not muted anyone." in (await web.get("/settings/mutes")).text
        assert "Hello from bob" in (await web.get("/")).text


async def test_bad_moderation_forms_say_why(tmp_path: Path, template_root: Path) -> None:
    async with populated(tmp_path, template_root) as (_, alice, _bob):
        web = alice.client
        unknown = await send(web, "/block", account="", back="/")
        assert unknown.status_code == 303
        assert "Say which account." in (await web.get("/")).text
        page = await web.get("/block?account=")
        assert page.status_code == 400 and "Say which account." in page.text
        nobody = await web.get("/block?account=https%3A%2F%2Fnowhere.test%2Fusers%2Fx")
        assert nobody.status_code >= 400
        outside = await web.get("/settings/blocks?max_id=abc")
        assert outside.status_code == 400 and "whole number" in outside.text


async def test_the_settings_lists_are_paged(tmp_path: Path, template_root: Path) -> None:
    async with populated(tmp_path, template_root) as (_, alice, _bob):
        db = alice.federation.db
        async with db.transaction() as conn:
            for n in range(25):
                cursor = await conn.execute(
                    "INSERT INTO actors (ap_id, type, username, domain, inbox, raw, fetched_at)"
                    " VALUES (?, 'Person', ?, 'many.test', 'https://many.test/inbox', '{}', 0)",
                    (f"https://many.test/users/u{n}", f"u{n}"),
                )
                await conn.execute(
                    "INSERT INTO interactions (kind, actor_id, target_actor_id, created_at)"
                    " VALUES ('block', NULL, ?, 0)",
                    (cursor.lastrowid,),
                )
                await conn.execute(
                    "INSERT INTO mutes (actor_id, notifications, created_at) VALUES (?, 1, 0)",
                    (cursor.lastrowid,),
                )
        for path in ("/settings/blocks", "/settings/mutes"):
            first = await alice.client.get(path)
            assert first.text.count('<li class="account">') == 20
            older = re.search(r'rel="next" href="([^"]+)"', first.text)
            assert older is not None, path
            second = await alice.client.get(older.group(1).replace("&amp;", "&"))
            assert second.text.count('<li class="account">') == 5
            assert 'rel="next"' not in second.text
            names = set(re.findall(r"@(u\d+)@many\.test", first.text + second.text))
            assert len(names) == 25
