"""Votes in our polls as every peer sends them: Mastodon's Note has no content, snac's has
`<br>`, microblog.pub's an empty string. Mastodon never reads a vote's content (FEDERATION.md
rule 41), so each of them is counted, and none becomes a post or a direct message."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from solo.actions import statuses
from solo.actions.polls import PollDraft
from solo.store import polls as poll_store
from tests.fleet import fleet_of
from tests.ingress_helpers import FakeServer, Sender, activity, deliver, notifications_of


def vote(voter: Sender, poll_ap_id: str, name: str, to: str, **fields: Any) -> dict[str, Any]:
    note = {
        "id": f"{voter.actor}/votes/{time.monotonic_ns()}",
        "type": "Note",
        "name": name,
        "attributedTo": voter.actor,
        "inReplyTo": poll_ap_id,
        "to": [to],
        **fields,
    }
    return activity("Create", voter, note, to=[to])


@pytest.mark.parametrize(
    "content",
    [
        {"content": "<br>"},  # snac
        {"content": ""},  # microblog.pub
        {"content": "<p>Yes</p>", "contentMap": {"en": "<p>Yes</p>"}},
        {},  # Mastodon
    ],
    ids=["snac", "microblog.pub", "with-text", "mastodon"],
)
async def test_a_vote_is_counted_whatever_its_content(
    tmp_path: Path, template_root: Path, content: dict[str, Any]
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", allow_private_addresses=True) as (
        fleet,
        nodes,
    ):
        alice = nodes["alice"]
        server = FakeServer(fleet, "http://snac.test")
        voter = server.actor("http://snac.test/carol")
        posted = await statuses.post(alice.federation, "Tea?", poll=PollDraft(("Yes", "No")))
        before = await alice.federation.db.fetchval("SELECT COUNT(*) FROM statuses")
        outcome = await deliver(
            alice, voter, vote(voter, posted.ap_id, "Yes", alice.actor, **content)
        )
        assert outcome.applied, outcome
        poll = await poll_store.get_poll(alice.federation.db, posted.id)
        assert poll is not None and [o.votes for o in poll.options] == [1, 0]
        # Not a post, not a direct message, no mention.
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM statuses") == before
        assert [n for n in await notifications_of(alice) if n[0] == "mention"] == []


async def test_a_reply_naming_no_option_stays_a_reply(tmp_path: Path, template_root: Path) -> None:
    """Only an option's name makes a vote: a titled reply with another name is a post."""
    async with fleet_of(tmp_path, template_root, "alice", allow_private_addresses=True) as (
        fleet,
        nodes,
    ):
        alice = nodes["alice"]
        server = FakeServer(fleet, "http://snac.test")
        voter = server.actor("http://snac.test/carol")
        posted = await statuses.post(alice.federation, "Tea?", poll=PollDraft(("Yes", "No")))
        reply = vote(voter, posted.ap_id, "Maybe", alice.actor, content="<p>Coffee instead</p>")
        assert (await deliver(alice, voter, reply)).applied
        poll = await poll_store.get_poll(alice.federation.db, posted.id)
        assert poll is not None and [o.votes for o in poll.options] == [0, 0]
        assert [n[0] for n in await notifications_of(alice)] == ["mention"]
