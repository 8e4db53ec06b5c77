"""Incoming Create through the real inbox and ingress worker: visibility, parsing, mentions
and replies, duplicates, and objects fetched from their origin."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from solo.activitystreams import PUBLIC
from tests.fleet import fleet_of
from tests.ingress_helpers import (
    FakeServer,
    activity,
    actor_row,
    create,
    deliver,
    follow_directly,
    follow_solo,
    local_post,
    note,
    notifications_of,
    post_signed,
    solo_sender,
    status_of,
)


async def test_create_visibility_follows_the_addressing(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"to": [PUBLIC], "cc": [sender.followers]}, "public"),
            ({"to": ["as:Public"]}, "public"),
            ({"to": "Public"}, "public"),
            ({"to": [{"id": PUBLIC}], "cc": []}, "public"),
            ({"to": [sender.followers], "cc": [PUBLIC]}, "unlisted"),
            ({"to": [sender.followers], "cc": []}, "private"),
            ({"to": [alice.actor], "cc": []}, "direct"),
        ]
        for addressing, expected in cases:
            sent = note(sender, **addressing)
            outcome = await deliver(alice, sender, create(sender, sent))
            assert outcome.applied, (addressing, outcome)
            stored = await status_of(alice, sent["id"])
            assert stored is not None and stored.visibility == expected, addressing
            assert stored.actor_id == await actor_row(alice, bob.actor)
        # A direct message between others is none of our business, followed or not.
        private = note(sender, to=["https://elsewhere.test/users/x"], cc=[])
        assert (await deliver(alice, sender, create(sender, private))).ignored
        assert await status_of(alice, private["id"]) is None


async def test_create_fields_are_parsed_and_sanitized(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        article = note(
            sender,
            type="Article",
            name="A <title>",
            content=None,
            contentMap={"de": "<p>Hallo<script>alert(1)</script></p>"},
            summary="<b>cw</b> here",
            sensitive=True,
            url={"type": "Link", "href": "https://bob.test/@bob/article"},
            conversation="tag:bob.test,2024:thread",
            published="not a date",
        )
        before = time.time()
        assert (await deliver(alice, sender, create(sender, article))).applied
        stored = await status_of(alice, article["id"])
        assert stored is not None
        assert stored.type == "Article"
        assert stored.content_html == "<p><strong>A &lt;title&gt;</strong></p><p>Hallo</p>"
        assert stored.summary == "cw here"
        assert stored.sensitive is True
        assert stored.language == "de"
        assert stored.url == "https://bob.test/@bob/article"
        assert stored.conversation == "tag:bob.test,2024:thread"
        assert stored.published_at >= before  # an unreadable date means "now"
        raw = await alice.federation.db.fetchval(
            "SELECT raw FROM statuses WHERE id = ?", (stored.id,)
        )
        assert json.loads(raw)["name"] == "A <title>"
        # Too long after sanitizing: refused.
        huge = note(sender, content="<p>" + "x" * 110_000 + "</p>")
        assert (await deliver(alice, sender, create(sender, huge))).ignored
        # Odd shapes are refused, not crashed on.
        for odd in ([], [None], {"type": "Note"}, 42, "https://bob.test/x"):
            outcome = await deliver(alice, sender, activity("Create", sender, odd))
            assert outcome.state == "dead", odd


async def test_unrelated_create_is_ignored(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        sent = note(sender)
        outcome = await deliver(alice, sender, create(sender, sent))
        assert outcome.ignored and "neither follows" in (outcome.error or "")
        assert await status_of(alice, sent["id"]) is None


async def test_mention_and_replies_notify_and_thread(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        bob_row = None
        mention = note(
            sender,
            cc=[alice.actor],
            tag=[{"type": "Mention", "href": alice.actor, "name": "@alice@alice.test"}],
        )
        assert (await deliver(alice, sender, create(sender, mention))).applied
        bob_row = await actor_row(alice, bob.actor)
        stored_mention = await status_of(alice, mention["id"])
        assert stored_mention is not None
        ours = await local_post(alice)
        reply = note(sender, inReplyTo=ours.ap_id)
        assert (await deliver(alice, sender, create(sender, reply))).applied
        stored_reply = await status_of(alice, reply["id"])
        assert stored_reply is not None and stored_reply.in_reply_to_id == ours.id
        assert await notifications_of(alice) == [
            ("mention", bob_row, stored_mention.id),
            ("mention", bob_row, stored_reply.id),
        ]
        # A reply to a post we have is kept though we do not follow bob; no notification.
        deeper = note(sender, inReplyTo={"id": reply["id"], "type": "Note"})
        assert (await deliver(alice, sender, create(sender, deeper))).applied
        stored_deeper = await status_of(alice, deeper["id"])
        assert stored_deeper is not None and stored_deeper.in_reply_to_id == stored_reply.id
        assert len(await notifications_of(alice)) == 2
        # A reply that arrives before its parent is linked once the parent comes.
        parent = note(sender, tag={"type": "Mention", "href": alice.actor})
        early = note(sender, inReplyTo=parent["id"], tag=[{"type": "Mention", "href": alice.actor}])
        assert (await deliver(alice, sender, create(sender, early))).applied
        assert (await deliver(alice, sender, create(sender, parent))).applied
        stored_early = await status_of(alice, early["id"])
        stored_parent = await status_of(alice, parent["id"])
        assert stored_early is not None and stored_parent is not None
        assert stored_early.in_reply_to_id == stored_parent.id


async def test_duplicate_create_is_stored_once(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        sent = note(sender, tag=[{"type": "Mention", "href": alice.actor}])
        first = create(sender, sent)
        assert (await deliver(alice, sender, first)).applied
        # The same activity again is dropped by the inbox; a new activity with the same object
        # reaches the handler, which stores nothing new.
        response = await post_signed(alice, sender, json.dumps(first).encode())
        assert response.status_code == 202
        assert (await deliver(alice, sender, create(sender, sent))).applied
        count = await alice.federation.db.fetchval(
            "SELECT COUNT(*) FROM statuses WHERE ap_id = ?", (sent["id"],)
        )
        assert count == 1
        assert len(await notifications_of(alice)) == 1


async def test_create_by_id_is_fetched_from_the_actors_host(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        await follow_directly(alice, carol.actor)
        fetched = note(carol, content="<p>from the origin</p>")
        server.serve(fetched)
        assert (await deliver(alice, carol, create(carol, fetched["id"]))).applied
        stored = await status_of(alice, fetched["id"])
        assert stored is not None and stored.content_html == "<p>from the origin</p>"
        # An object on another host is refused before anything is fetched.
        elsewhere = "https://dave.example/notes/1"
        outcome = await deliver(alice, carol, create(carol, elsewhere))
        assert outcome.ignored and "not on carol.example" in (outcome.error or "")
        # Gone at the origin: refused for good, not retried.
        missing = f"{carol.actor}/notes/missing"
        assert (await deliver(alice, carol, create(carol, missing))).ignored
        # Attributed to someone else on the same host.
        dave = server.actor("https://carol.example/users/dave")
        forged = note(dave)
        assert (await deliver(alice, carol, create(carol, forged))).ignored
        assert await status_of(alice, forged["id"]) is None
