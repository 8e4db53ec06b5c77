"""Muted conversations and private notes on accounts, from the web and the API, between two
instances: a muted thread's replies, favourites and boosts stop notifying (lists, single reads,
streams, the unread count), the Status entity's `muted` says so, and the note shows in the
Relationship and on the profile, bounded to 2,000 characters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from solo.events import Event
from tests.fleet import Node
from tests.test_api_statuses import user_token
from tests.test_web_federation import copy_of, populated
from tests.test_web_pages import FRAGMENT, send


async def own_post(alice: Node) -> int:
    return int(
        await alice.federation.db.fetchval(
            "SELECT id FROM statuses WHERE actor_id IS NULL AND reblog_of_id IS NULL"
        )
    )


async def kinds(alice: Node, auth: dict[str, str]) -> list[str]:
    response = await alice.client.get("/api/v1/notifications", headers=auth)
    return sorted(n["type"] for n in response.json())


def drain(queue: asyncio.Queue[Event]) -> list[str]:
    found = []
    while not queue.empty():
        found.append(queue.get_nowait().kind)
    return found


async def test_a_muted_conversation_stops_notifying(tmp_path: Path, template_root: Path) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        auth = await user_token(web)
        root = await own_post(alice)
        reply = await copy_of(alice, "Welcome, alice!")
        thread = await web.get(f"/@alice/{root}")
        assert f'action="/statuses/{root}/mute"' in thread.text
        assert ">Mute conversation</button>" in thread.text

        # Muted from the reply's menu: the whole thread, root included, is muted.
        muted = await send(web, f"/statuses/{reply}/mute", back=f"/@alice/{root}")
        assert muted.status_code == 303
        thread = await web.get(f"/@alice/{root}")
        assert f'action="/statuses/{root}/unmute"' in thread.text
        assert ">Unmute conversation</button>" in thread.text
        for status_id in (root, reply):
            entity = (await web.get(f"/api/v1/statuses/{status_id}", headers=auth)).json()
            assert entity["muted"] is True, status_id
        # The mention, the favourite and the boost were all about the thread; the follow stays.
        assert await kinds(alice, auth) == ["follow"]
        assert alice.federation.feeds.unread == 1
        page = (await web.get("/notifications")).text  # which marks them read
        assert "followed you" in page and "mentioned you" not in page
        assert alice.federation.feeds.unread == 0

        # A new answer deep in the thread notifies no one, not even the streams.
        queue = alice.federation.events.subscribe()
        try:
            bob_reply = await copy_of(bob, "Welcome, alice!")
            await send(
                bob.client,
                "/statuses",
                text="And more, @alice@alice.test",
                in_reply_to=str(bob_reply),
            )
            deeper = await copy_of(alice, "And more, ")
            assert "notification" not in drain(queue)
        finally:
            alice.federation.events.unsubscribe(queue)
        hidden = await alice.federation.db.fetchval(
            "SELECT id FROM notifications WHERE status_id = ?", (deeper,)
        )
        assert hidden is not None  # kept, and shown again once the thread is unmuted
        single = await web.get(f"/api/v1/notifications/{hidden}", headers=auth)
        assert single.status_code == 404
        assert await kinds(alice, auth) == ["follow"]
        assert alice.federation.feeds.unread == 0

        # A post outside the thread still notifies.
        await send(bob.client, "/statuses", text="Elsewhere, @alice@alice.test", back="/")
        await copy_of(alice, "Elsewhere")
        assert await kinds(alice, auth) == ["follow", "mention"]
        assert alice.federation.feeds.unread == 1

        # Unmuted through the API, from the root: everything is back.
        response = await web.post(f"/api/v1/statuses/{root}/unmute", headers=auth)
        assert response.status_code == 200 and response.json()["muted"] is False
        assert await kinds(alice, auth) == [
            "favourite",
            "follow",
            "mention",
            "mention",
            "mention",
            "reblog",
        ]
        response = await web.post(f"/api/v1/statuses/{deeper}/mute", headers=auth)
        assert response.status_code == 200 and response.json()["muted"] is True
        assert await kinds(alice, auth) == ["follow", "mention"]
        again = await web.post(f"/api/v1/statuses/{deeper}/mute", headers=auth)
        assert again.json()["muted"] is True  # twice is harmless

        assert (await web.post("/api/v1/statuses/99999/mute", headers=auth)).status_code == 404
        read_only = await user_token(web, scope="read")
        refused = await web.post(f"/api/v1/statuses/{root}/unmute", headers=read_only)
        assert refused.status_code == 403
        gone = await send(web, "/statuses/99999/mute", back="/")
        assert gone.status_code == 303
        assert "That post no longer exists." in (await web.get("/")).text


async def test_a_private_note_on_an_account(tmp_path: Path, template_root: Path) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        web = alice.client
        auth = await user_token(web)
        actor_id = await alice.federation.db.fetchval(
            "SELECT id FROM actors WHERE ap_id = ?", (bob.actor,)
        )
        profile = await web.get("/@bob@bob.test")
        assert 'name="comment"' in profile.text and "only you see it" in profile.text

        saved = await send(web, "/note", account=bob.actor, comment="  Met at <FOSDEM>  ")
        assert saved.status_code == 303 and saved.headers["location"] == "/@bob@bob.test"
        profile = await web.get("/@bob@bob.test")
        assert "Note saved." in profile.text
        assert ">Met at &lt;FOSDEM&gt;</textarea>" in profile.text
        relationship = (
            await web.get(f"/api/v1/accounts/relationships?id={actor_id}", headers=auth)
        ).json()[0]
        assert relationship["note"] == "Met at <FOSDEM>"
        # Our own profile, as others see it, carries no note.
        assert "FOSDEM" not in (await bob.client.get("/@alice@alice.test")).text

        # Too long: refused with the text kept in the form, the old note untouched.
        too_long = "x" * 2001
        refused = await send(web, "/note", account=bob.actor, comment=too_long)
        assert refused.status_code == 400
        assert "at most 2,000" in refused.text and too_long in refused.text
        api_refused = await web.post(
            f"/api/v1/accounts/{actor_id}/note", json={"comment": too_long}, headers=auth
        )
        assert api_refused.status_code == 422 and "comment" in api_refused.json()["error"]
        relationship = (
            await web.get(f"/api/v1/accounts/relationships?id={actor_id}", headers=auth)
        ).json()[0]
        assert relationship["note"] == "Met at <FOSDEM>"

        exactly = "y" * 2000
        set_by_api = await web.post(
            f"/api/v1/accounts/{actor_id}/note", data={"comment": exactly}, headers=auth
        )
        assert set_by_api.status_code == 200 and set_by_api.json()["note"] == exactly
        assert exactly in (await web.get("/@bob@bob.test")).text
        cleared = await web.post(f"/api/v1/accounts/{actor_id}/note", headers=auth)
        assert cleared.json()["note"] == ""
        removed = await send(web, "/note", account=bob.actor, comment="", back="/@bob@bob.test")
        assert removed.status_code == 303
        assert "Note removed." in (await web.get("/@bob@bob.test")).text

        me = (await web.get("/api/v1/accounts/verify_credentials", headers=auth)).json()["id"]
        own = await web.post(f"/api/v1/accounts/{me}/note", json={"comment": "x"}, headers=auth)
        assert own.status_code == 422
        assert (await web.post("/api/v1/accounts/4242/note", headers=auth)).status_code == 404
        read_only = await user_token(web, scope="read")
        scoped = await web.post(f"/api/v1/accounts/{actor_id}/note", headers=read_only)
        assert scoped.status_code == 403
        no_csrf = await web.post("/note", data={"account": bob.actor, "comment": "z"})
        assert no_csrf.status_code == 403
        fragment = await web.get("/@bob@bob.test", headers=FRAGMENT)
        assert fragment.status_code == 200
