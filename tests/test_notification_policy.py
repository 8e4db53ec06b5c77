"""The notification policy through real federation: a stranger's direct message held back until
accepted (two Solo instances), and each knob of the policy with activities delivered to the
inbox by fake servers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from solo import urls
from solo.actions import notification_requests, statuses
from solo.store import notification_policy
from solo.store import statuses as status_store
from solo.store.statuses import NewStatus
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    Sender,
    activity,
    actor_row,
    create,
    deliver,
    follow_directly,
    local_post,
    note,
)
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_web_pages import send


async def shown_notifications(node: Node, auth: dict[str, str], **query: str) -> list[Any]:
    response = await node.client.get("/api/v1/notifications", params=query, headers=auth)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()
    return found


async def test_a_strangers_direct_message_waits_until_accepted(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        auth = await user_token(alice.client)
        first = await statuses.post(
            bob.federation, "@alice@alice.test psst, buy my coins", visibility="direct"
        )

        async def held() -> bool:
            count = await alice.federation.db.fetchval(
                "SELECT COUNT(*) FROM notifications WHERE filtered = 1"
            )
            return bool(count)

        await eventually(held, what="bob's message to be held back at alice's")
        feeds = alice.federation.feeds
        assert await shown_notifications(alice, auth) == []
        assert feeds.unread == 0 and len(feeds.notifications) == 0
        dm_id = int(
            await alice.federation.db.fetchval(
                "SELECT id FROM statuses WHERE ap_id = ?", (first.ap_id,)
            )
        )
        assert dm_id not in feeds.timelines["home"]
        everything = await shown_notifications(alice, auth, include_filtered="true")
        assert [(n["type"], n["account"]["acct"]) for n in everything] == [
            ("mention", "bob@bob.test")
        ]
        policy = (await alice.client.get("/api/v2/notifications/policy", headers=auth)).json()
        assert policy["summary"] == {"pending_requests_count": 1, "pending_notifications_count": 1}
        listed = (await alice.client.get("/api/v1/notifications/requests", headers=auth)).json()
        assert len(listed) == 1
        assert listed[0]["account"]["acct"] == "bob@bob.test"
        assert listed[0]["notifications_count"] == "1"
        assert "buy my coins" in listed[0]["last_status"]["content"]

        # The web shows the request atop the notifications, and accepts it by a plain form.
        assert (await login(alice.client)).status_code == 303
        page = (await alice.client.get("/notifications")).text
        assert "Requests (1)" in page and "buy my coins" in page
        assert f'action="/notifications/requests/{listed[0]["id"]}/accept"' in page
        accepted = await send(
            alice.client,
            f"/notifications/requests/{listed[0]['id']}/accept",
            back="/notifications",
        )
        assert accepted.status_code == 303 and accepted.headers["location"] == "/notifications"
        shown = await shown_notifications(alice, auth)
        assert [n["status"]["id"] for n in shown] == [str(dm_id)]
        assert feeds.unread == 1 and dm_id in feeds.timelines["home"]
        assert (await alice.client.get("/api/v1/notifications/requests", headers=auth)).json() == []
        page = (await alice.client.get("/notifications")).text
        assert "Requests (" not in page and "buy my coins" in page

        # From now on bob's messages come straight through.
        second = await statuses.post(
            bob.federation, "@alice@alice.test thanks!", visibility="direct"
        )

        async def through() -> bool:
            return len(await shown_notifications(alice, auth)) == 2

        await eventually(through, what="bob's second message to be shown")
        second_id = await alice.federation.db.fetchval(
            "SELECT id FROM statuses WHERE ap_id = ?", (second.ap_id,)
        )
        assert second_id in feeds.timelines["home"]


@asynccontextmanager
async def one_instance(
    tmp_path: Path, template_root: Path
) -> AsyncIterator[tuple[Node, FakeServer]]:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        yield nodes["alice"], FakeServer(fleet, "https://remote.test")


async def set_policy(node: Node, **changes: Any) -> None:
    await notification_requests.change_policy(node.federation, changes)


async def states(node: Node) -> list[tuple[str, int | None, bool]]:
    """Every notification row: its type, its account, and whether it is held back."""
    rows = await node.federation.db.fetchall(
        "SELECT type, actor_id, filtered FROM notifications ORDER BY id"
    )
    return [(row[0], row[1], bool(row[2])) for row in rows]


async def like(node: Node, sender: Sender, ap_id: str) -> None:
    assert (await deliver(node, sender, activity("Like", sender, ap_id))).applied


async def test_accounts_you_do_not_follow(tmp_path: Path, template_root: Path) -> None:
    async with one_instance(tmp_path, template_root) as (alice, remote):
        post = await local_post(alice)
        stranger = remote.actor("https://remote.test/users/stranger")
        friend = remote.actor("https://remote.test/users/friend")
        friend_id = await follow_directly(alice, friend.actor)
        await set_policy(alice, for_not_following="filter")
        await like(alice, stranger, post.ap_id)
        await like(alice, friend, post.ap_id)
        stranger_id = await actor_row(alice, stranger.actor)
        assert await states(alice) == [
            ("favourite", stranger_id, True),
            ("favourite", friend_id, False),
        ]
        # "drop" makes no notification at all; the favourite itself still counts.
        await set_policy(alice, for_not_following="drop")
        other = remote.actor("https://remote.test/users/other")
        await like(alice, other, post.ap_id)
        assert len(await states(alice)) == 2
        assert (
            await alice.federation.db.fetchval(
                "SELECT COUNT(*) FROM interactions WHERE kind = 'like' AND status_id = ?",
                (post.id,),
            )
            == 3
        )


async def test_accounts_that_do_not_follow_you(tmp_path: Path, template_root: Path) -> None:
    async with one_instance(tmp_path, template_root) as (alice, remote):
        await set_policy(alice, for_not_followers="filter")
        post = await local_post(alice)
        old = remote.actor("https://remote.test/users/old")
        old_id = await follow_directly(alice, old.actor, "in")
        async with alice.federation.db.transaction() as conn:
            await conn.execute(
                "UPDATE follows SET created_at = ? WHERE actor_id = ?",
                (time.time() - 4 * 86400, old_id),
            )
        recent = remote.actor("https://remote.test/users/recent")
        recent_id = await follow_directly(alice, recent.actor, "in")
        stranger = remote.actor("https://remote.test/users/stranger")
        for sender in (old, recent, stranger):
            await like(alice, sender, post.ap_id)
        stranger_id = await actor_row(alice, stranger.actor)
        # Following for less than three days is not following yet, as Mastodon counts it.
        assert await states(alice) == [
            ("favourite", old_id, False),
            ("favourite", recent_id, True),
            ("favourite", stranger_id, True),
        ]
        # A new follower's follow notification waits too.
        newcomer = remote.actor("https://remote.test/users/newcomer")
        follow = activity("Follow", newcomer, alice.actor)
        assert (await deliver(alice, newcomer, follow)).applied
        assert (await states(alice))[-1] == (
            "follow",
            await actor_row(alice, newcomer.actor),
            True,
        )


async def test_new_accounts(tmp_path: Path, template_root: Path) -> None:
    async with one_instance(tmp_path, template_root) as (alice, remote):
        await set_policy(alice, for_new_accounts="filter")
        post = await local_post(alice)
        fresh = remote.actor("https://remote.test/users/fresh", published="2099-01-01T00:00:00Z")
        veteran = remote.actor(
            "https://remote.test/users/veteran", published="2017-04-01T00:00:00Z"
        )
        undated = remote.actor("https://remote.test/users/undated")
        for sender in (fresh, veteran, undated):
            await like(alice, sender, post.ap_id)
        # No `published`: dated from when this server first saw them, as Mastodon does.
        assert [held for _, _, held in await states(alice)] == [True, False, True]
        undated_id = await actor_row(alice, undated.actor)
        async with alice.federation.db.transaction() as conn:
            await conn.execute(
                "UPDATE actors SET first_seen_at = ? WHERE id = ?",
                (time.time() - 31 * 86400, undated_id),
            )
        await like(alice, undated, (await local_post(alice, "another")).ap_id)
        assert (await states(alice))[-1] == ("favourite", undated_id, False)


async def private_word(node: Node, to: str) -> str:
    """A direct message of ours to `to`, stored as posting stores one (its tags in `raw`)."""
    federation = node.federation
    status_id = federation.ids.next()
    ap_id = urls.status(node.settings, status_id)
    async with federation.db.transaction() as conn:
        await status_store.insert_status(
            conn,
            NewStatus(
                id=status_id,
                ap_id=ap_id,
                actor_id=None,
                visibility="direct",
                content_html="<p>a private word</p>",
                published_at=time.time(),
                raw=json.dumps({"tag": [{"type": "Mention", "href": to, "name": "@x"}]}),
            ),
        )
    return ap_id


def direct(sender: Sender, to: str, **fields: Any) -> dict[str, Any]:
    return note(
        sender,
        to=[to],
        cc=[],
        tag=[{"type": "Mention", "href": to, "name": "@alice@alice.test"}],
        **fields,
    )


async def test_private_mentions(tmp_path: Path, template_root: Path) -> None:
    """Filtered by default: a stranger's direct message, unless it answers us; public mentions
    and messages from accounts we follow are not private mentions from strangers."""
    async with one_instance(tmp_path, template_root) as (alice, remote):
        policy = await notification_policy.get_policy(alice.federation.db)
        assert policy == notification_policy.Policy(for_private_mentions="filter")
        ours = await local_post(alice, "what do you think?")
        stranger = remote.actor("https://remote.test/users/stranger")
        friend = remote.actor("https://remote.test/users/friend")
        await follow_directly(alice, friend.actor)
        messages = [
            direct(stranger, alice.actor),  # held
            direct(stranger, alice.actor, inReplyTo=ours.ap_id),  # answers us
            note(stranger, tag=[{"type": "Mention", "href": alice.actor}], cc=[alice.actor]),
            direct(friend, alice.actor),  # followed
        ]
        for message in messages:
            sender = friend if message["attributedTo"] == friend.actor else stranger
            assert (await deliver(alice, sender, create(sender, message))).applied
        assert [held for _, _, held in await states(alice)] == [True, False, False, False]
        # A thread we began privately with them counts as answering us, however deep.
        private = await private_word(alice, stranger.actor)
        reply = direct(stranger, alice.actor, inReplyTo=private)
        deeper = direct(stranger, alice.actor, inReplyTo=reply["id"])
        for message in (reply, deeper):
            assert (await deliver(alice, stranger, create(stranger, message))).applied
        assert [held for _, _, held in await states(alice)][-2:] == [False, False]
        # "accept" lets them all through; "drop" makes none.
        await set_policy(alice, for_private_mentions="accept")
        assert (
            await deliver(alice, stranger, create(stranger, direct(stranger, alice.actor)))
        ).applied
        assert (await states(alice))[-1][2] is False
        await set_policy(alice, for_private_mentions="drop")
        before = len(await states(alice))
        dropped = direct(stranger, alice.actor)
        assert (await deliver(alice, stranger, create(stranger, dropped))).applied
        assert len(await states(alice)) == before
        stored = await alice.federation.db.fetchval(
            "SELECT id FROM statuses WHERE ap_id = ?", (dropped["id"],)
        )
        assert stored is not None and stored not in alice.federation.feeds.timelines["home"]


async def test_an_accepted_account_passes_and_a_dismissed_one_waits_again(
    tmp_path: Path, template_root: Path
) -> None:
    async with one_instance(tmp_path, template_root) as (alice, remote):
        await set_policy(alice, for_not_following="filter")
        post = await local_post(alice)
        kept = remote.actor("https://remote.test/users/kept")
        gone = remote.actor("https://remote.test/users/gone")
        for sender in (kept, gone):
            await like(alice, sender, post.ap_id)
        db = alice.federation.db
        rows = await db.fetchall("SELECT id, actor_id FROM notification_requests ORDER BY id")
        kept_id, gone_id = await actor_row(alice, kept.actor), await actor_row(alice, gone.actor)
        request_of = {row[1]: row[0] for row in rows}
        assert (
            await notification_requests.accept_requests(alice.federation, [request_of[kept_id]])
            == 1
        )
        assert (
            await notification_requests.dismiss_requests(alice.federation, [request_of[gone_id]])
            == 1
        )
        assert await states(alice) == [("favourite", kept_id, False)]
        other = await local_post(alice, "second")
        for sender in (kept, gone):
            await like(alice, sender, other.ap_id)
        assert (await states(alice))[1:] == [
            ("favourite", kept_id, False),
            ("favourite", gone_id, True),
        ]
        assert await db.fetchval("SELECT COUNT(*) FROM notification_requests") == 1
