"""Polls both ways: ours (composed, voted in by peers, their counts sent in Update(Question)),
remote ones (Mastodon, Pleroma, Misskey and Smithereen Questions stored and shown, our votes
sent), their refusals, the background refresh, and the notification when a poll ends."""

from __future__ import annotations

import json
import re
import time
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from solo.actions import ActionError, statuses
from solo.actions import polls as poll_actions
from solo.actions.polls import PollDraft
from solo.activitystreams import id_of
from solo.federation import poll_tasks
from solo.store import polls as poll_store
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    Sender,
    activity,
    deliver,
    notifications_of,
    status_of,
)
from tests.test_actions_statuses import befriend
from tests.test_fixtures_ingress import document, world
from tests.test_login import login
from tests.test_web_pages import count, federation_of, send

AS_JSON = {"Accept": "application/activity+json"}
FRAGMENT = {"Accept": "text/html-fragment"}


async def stored_rows(app: Starlette) -> tuple[int, int, int, int]:
    """Statuses, polls, votes and jobs: what a refusal must leave untouched."""
    return (
        await count(app, "SELECT COUNT(*) FROM statuses"),
        await count(app, "SELECT COUNT(*) FROM polls"),
        await count(app, "SELECT COUNT(*) FROM poll_votes"),
        await count(app, "SELECT COUNT(*) FROM jobs"),
    )


def options_on(html: str) -> list[str]:
    return [
        unescape(title) for title in re.findall(r'<span class="poll-title">([^<]*)</span>', html)
    ]


# --- Our polls: written and refused ---------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (PollDraft(("Only one",)), "A poll needs at least 2 options."),
        (PollDraft(("Yes", "   ")), "A poll needs at least 2 options."),
        (PollDraft(tuple(f"option {n}" for n in range(50))), "A poll can have at most 4 options."),
        (PollDraft(("Short", "x" * 51)), "Poll options can be at most 50 characters."),
        (PollDraft(("Same", " same ")), "Poll options must differ."),
        (PollDraft(("Yes", "No"), expires_in=12), "Choose how long the poll stays open"),
    ],
)
async def test_a_bad_poll_is_refused_and_nothing_stored(
    app: Starlette, draft: PollDraft, message: str
) -> None:
    with pytest.raises(ActionError, match=re.escape(message)):
        await statuses.post(federation_of(app), "Which one?", poll=draft)
    assert await stored_rows(app) == (0, 0, 0, 0)


async def test_a_poll_with_attachments_is_refused(app: Starlette) -> None:
    with pytest.raises(ActionError, match="a poll or attachments, not both"):
        await statuses.post(
            federation_of(app), "Look", poll=PollDraft(("a", "b")), media_ids=[12345]
        )
    assert await stored_rows(app) == (0, 0, 0, 0)


async def test_our_poll_is_served_as_a_question(app: Starlette, client: httpx.AsyncClient) -> None:
    federation = federation_of(app)
    before = time.time()
    posted = await statuses.post(
        federation,
        "Tea or coffee?",
        poll=PollDraft((" Tea ", "Coffee", "Both"), multiple=True, expires_in=3600),
    )
    assert posted.type == "Question"
    poll = await poll_store.get_poll(federation.db, posted.id)
    assert poll is not None and poll.multiple
    assert [o.title for o in poll.options] == ["Tea", "Coffee", "Both"]
    assert poll.expires_at is not None and before + 3600 <= poll.expires_at <= time.time() + 3600
    served = (await client.get(f"/users/alice/statuses/{posted.id}", headers=AS_JSON)).json()
    assert served["type"] == "Question"
    assert [o["name"] for o in served["anyOf"]] == ["Tea", "Coffee", "Both"]
    assert all(o["replies"]["totalItems"] == 0 for o in served["anyOf"])
    assert served["votersCount"] == 0 and "endTime" in served and "closed" not in served
    # The Create in the outbox's queue carries the same Question.
    body = await federation.db.fetchval(
        "SELECT body FROM activities WHERE type = 'Create' AND object_ap_id = ?", (posted.ap_id,)
    )
    assert json.loads(body)["object"]["anyOf"][0]["name"] == "Tea"
    # An edit keeps the poll.
    await statuses.edit(federation, posted.id, "Tea or coffee, really?")
    served = (await client.get(f"/users/alice/statuses/{posted.id}", headers=AS_JSON)).json()
    assert served["type"] == "Question" and len(served["anyOf"]) == 3


async def test_a_poll_through_the_compose_form(client: httpx.AsyncClient, app: Starlette) -> None:
    assert (await login(client)).status_code == 303
    compose = await client.get("/compose")
    assert 'name="poll_option"' in compose.text and 'name="poll_expires_in"' in compose.text
    refused = await send(
        client, "/statuses", text="Pick", poll_option=["Only", "", "", ""], back="/"
    )
    assert refused.status_code == 400
    assert "A poll needs at least 2 options." in refused.text
    assert await stored_rows(app) == (0, 0, 0, 0)
    # What was typed comes back: the option, the duration, the choice kind.
    again = await send(
        client,
        "/statuses",
        text="Pick",
        poll_option=["Only", "", "", ""],
        poll_expires_in="3600",
        poll_multiple="1",
        back="/",
    )
    assert 'id="poll-option-1" name="poll_option"' in again.text and 'value="Only"' in again.text
    assert '<option value="3600" selected>' in again.text
    assert 'name="poll_multiple" value="1" checked' in again.text
    assert '<details class="poll-field" open>' in again.text
    response = await send(
        client,
        "/statuses",
        text="Cats or dogs?",
        poll_option=["Cats", "Dogs", "", ""],
        poll_expires_in="21600",
        back="/",
    )
    assert response.status_code == 303
    status_id = await count(app, "SELECT id FROM statuses")
    poll = await poll_store.get_poll(federation_of(app).db, status_id)
    assert poll is not None and not poll.multiple and len(poll.options) == 2
    page = (await client.get(f"/@alice/{status_id}")).text
    assert options_on(page) == ["Cats", "Dogs"]
    assert "Closes in 6 hours" in page
    assert "0 people" in page
    assert "/vote" not in page  # our own poll: results, no vote form
    assert "<progress" in page


# --- Two instances --------------------------------------------------------------------------


async def _vote_as(server: FakeServer, voter: Sender, poll_ap_id: str, name: str, to: str) -> Any:
    note = {
        "id": f"{voter.actor}#votes/{name}-{time.monotonic_ns()}",
        "type": "Note",
        "name": name,
        "attributedTo": voter.actor,
        "inReplyTo": poll_ap_id,
        "to": [to],
    }
    return activity("Create", voter, note, to=[to])


async def _bob_copy(bob: Node, ap_id: str) -> int:
    async def arrived() -> bool:
        return await status_of(bob, ap_id) is not None

    await eventually(arrived, what="the poll to reach bob")
    copy = await status_of(bob, ap_id)
    assert copy is not None
    return copy.id


async def test_a_vote_goes_both_ways(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", allow_private_addresses=True) as (
        fleet,
        nodes,
    ):
        alice, bob = nodes["alice"], nodes["bob"]
        await befriend(bob, alice)
        posted = await statuses.post(
            alice.federation, "Best season?", poll=PollDraft(("Summer", "Winter"))
        )
        copy_id = await _bob_copy(bob, posted.ap_id)
        copy_poll = await poll_store.get_poll(bob.federation.db, copy_id)
        assert copy_poll is not None
        assert [o.title for o in copy_poll.options] == ["Summer", "Winter"]
        assert copy_poll.expires_at is not None and not copy_poll.multiple

        await login(bob.client, username="bob")
        page = (await bob.client.get(f"/@alice@alice.test/{copy_id}")).text
        assert f'action="/statuses/{copy_id}/vote"' in page
        assert 'type="radio" name="choice" value="1"' in page
        assert "Closes in 1 day" in page

        # No choice, a choice out of range, two choices: refused, nothing stored or sent.
        jobs = await count(bob.app, "SELECT COUNT(*) FROM jobs WHERE queue = 'push'")
        for choices, message in [
            ([], "Choose an option first."),
            ([5], "not one of the poll's options"),
            ([0, 1], "one choice only"),
        ]:
            with pytest.raises(ActionError, match=message):
                await poll_actions.vote(bob.federation, copy_id, choices)
        refused = await send(
            bob.client, f"/statuses/{copy_id}/vote", back=f"/@alice@alice.test/{copy_id}"
        )
        assert refused.status_code == 303
        assert "Choose an option first." in (await bob.client.get(refused.headers["location"])).text
        assert await count(bob.app, "SELECT COUNT(*) FROM poll_votes") == 0
        assert await count(bob.app, "SELECT COUNT(*) FROM jobs WHERE queue = 'push'") == jobs

        # Bob votes through the form, in place: the card comes back with the results.
        fields = {"csrf": await _token(bob), "back": "/", "entry": str(copy_id), "choice": "1"}
        voted = await bob.client.post(f"/statuses/{copy_id}/vote", data=fields, headers=FRAGMENT)
        assert voted.status_code == 200
        assert "your choice" in voted.text and "/vote" not in voted.text

        async def alice_counted() -> bool:
            poll = await poll_store.get_poll(alice.federation.db, posted.id)
            return poll is not None and [o.votes for o in poll.options] == [0, 1]

        await eventually(alice_counted, what="bob's vote to reach alice")
        with pytest.raises(ActionError, match="already voted"):
            await poll_actions.vote(bob.federation, copy_id, [0])

        # Carol, elsewhere, votes too; twice the same delivery counts once, and a second
        # choice in a one-choice poll is ignored.
        server = FakeServer(fleet, "http://carol.test")
        carol = server.actor("http://carol.test/users/carol")
        vote = await _vote_as(server, carol, posted.ap_id, "Summer", alice.actor)
        assert (await deliver(alice, carol, vote)).applied
        # The same vote again, in another Create (the inbox drops a repeated activity id).
        again = activity("Create", carol, vote["object"], to=[alice.actor])
        assert (await deliver(alice, carol, again)).applied
        other = await _vote_as(server, carol, posted.ap_id, "Winter", alice.actor)
        assert (await deliver(alice, carol, other)).applied
        unknown = await _vote_as(server, carol, posted.ap_id, "Autumn", alice.actor)
        outcome = await deliver(alice, carol, unknown)
        assert outcome.ignored and "poll vote" in (outcome.error or "")
        poll = await poll_store.get_poll(alice.federation.db, posted.id)
        assert poll is not None
        assert [o.votes for o in poll.options] == [1, 1] and poll.voters_count == 2
        served = (
            await alice.client.get(f"/users/alice/statuses/{posted.id}", headers=AS_JSON)
        ).json()
        assert [o["replies"]["totalItems"] for o in served["oneOf"]] == [1, 1]
        assert served["votersCount"] == 2

        # Alice's Update(Question) brings bob the new counts.
        await poll_tasks.flush_updates(alice.federation)

        async def bob_updated() -> bool:
            poll = await poll_store.get_poll(bob.federation.db, copy_id)
            return poll is not None and poll.voters_count == 2

        await eventually(bob_updated, what="alice's Update to reach bob")
        bob_copy = await status_of(bob, posted.ap_id)
        assert bob_copy is not None and bob_copy.edited_at is None  # new counts are no edit
        page = (await bob.client.get(f"/@alice@alice.test/{copy_id}")).text
        assert "2 people" in page and "50%" in page and "your choice" in page

        # The poll ends: alice's final Update says so; both are told.
        for node, status_id in ((alice, posted.id), (bob, copy_id)):
            async with node.federation.db.transaction() as conn:
                await conn.execute(
                    "UPDATE polls SET expires_at = ? WHERE status_id = ?",
                    (time.time() - 1, status_id),
                )
        await poll_tasks.step(alice.federation)
        await poll_tasks.step(bob.federation)
        await poll_tasks.step(bob.federation)  # told once only
        alice_actor = await status_of(bob, posted.ap_id)
        assert alice_actor is not None
        assert ("poll", None, posted.id) in await notifications_of(alice)
        assert [n for n in await notifications_of(bob) if n[0] == "poll"] == [
            ("poll", alice_actor.actor_id, copy_id)
        ]
        dave = server.actor("http://carol.test/users/dave")
        late = await _vote_as(server, dave, posted.ap_id, "Summer", alice.actor)
        outcome = await deliver(alice, dave, late)
        assert outcome.ignored
        with pytest.raises(ActionError, match="This poll has ended"):
            await poll_actions.vote(bob.federation, copy_id, [0])
        closed = (
            await alice.client.get(f"/users/alice/statuses/{posted.id}", headers=AS_JSON)
        ).json()
        assert "closed" in closed
        notes = (await bob.client.get("/notifications")).text
        assert "A poll you voted in has ended" in notes and "Closed" in notes
        await login(alice.client)
        assert "Your poll has ended" in (await alice.client.get("/notifications")).text


async def _token(node: Node) -> str:
    page = await node.client.get("/compose")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


# --- Questions captured from real servers ---------------------------------------------------

QUESTIONS = [
    # (fixture, options, multiple, ends)
    (
        "mastodon/pleroma.mastodon-question-activity.json",
        ["Dunno", "Everyone knows that!", "25 char limit is dumb", "I can't even fit a funny"],
        [0, 1, 0, 1],
        True,
    ),
    ("pleroma/pleroma.tesla_mock.poll_original.json", ["yes", "no"], [4, 0], True),
    (
        "smithereen/pleroma.tesla_mock.smithereen_non_anonymous_poll.json",
        ["тестовый ответ 1", "тестовый ответ 2", "тестовый ответ 3"],
        [4, 4, 6],
        False,
    ),
    (
        "misskey/pleroma.tesla_mock.misskey_poll_no_end_date.json",
        ["Working", "Broken af"],
        [0, 1],
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "titles", "votes", "ends"), QUESTIONS, ids=[q[0] for q in QUESTIONS]
)
async def test_captured_questions_are_stored_and_shown(
    tmp_path: Path, template_root: Path, name: str, titles: list[str], votes: list[int], ends: bool
) -> None:
    async with world(tmp_path, template_root) as w:
        sent = document(name)
        if sent["type"] == "Create":
            outcome = await w.send(name)
            question = sent["object"]
        else:
            # A bare Question, as its server serves it: delivered in a Create.
            question = sent
            author = id_of(question["attributedTo"])
            assert author is not None
            await w.know(author, "out")
            create = activity(
                "Create", w.actor(author), question, to=question["to"], cc=question.get("cc", [])
            )
            outcome = await deliver(w.target, w.actor(author), create)
        assert outcome.applied, outcome
        stored = await w.status(question["id"])
        assert stored is not None and stored.type == "Question"
        poll = await poll_store.get_poll(w.db, stored.id)
        assert poll is not None
        assert [o.title for o in poll.options] == titles
        assert [o.votes for o in poll.options] == votes
        assert (poll.expires_at is not None) == ends
        await login(w.target.client)
        page = await w.target.client.get(f"/@x/{stored.id}", follow_redirects=True)
        assert page.status_code == 200
        assert options_on(page.text) == titles
        if name.startswith("pleroma/"):
            assert "Closed" in page.text  # closed in 2019


async def test_an_update_and_a_refresh_bring_new_counts(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        original = document("pleroma/pleroma.tesla_mock.poll_original.json")
        modified = document("pleroma/pleroma.tesla_mock.poll_modified.json")
        author = id_of(original["attributedTo"])
        assert author is not None
        await w.know(author, "out")
        sender = w.actor(author)
        create = activity("Create", sender, original, to=original["to"], cc=original["cc"])
        assert (await deliver(w.target, sender, create)).applied
        stored = await w.status(original["id"])
        assert stored is not None
        update = activity("Update", sender, modified, to=modified["to"], cc=modified["cc"])
        assert (await deliver(w.target, sender, update)).applied
        poll = await poll_store.get_poll(w.db, stored.id)
        assert poll is not None and [o.votes for o in poll.options] == [8, 3]

        # An open poll shown with old counts is fetched again from its origin, behind the page.
        reopened = {**original, "closed": "2999-01-01T00:00:00Z"}
        reopened["oneOf"] = [
            {**o, "replies": {"type": "Collection", "totalItems": 20 + i}}
            for i, o in enumerate(original["oneOf"])
        ]
        w.server(author).serve(reopened)
        async with w.db.transaction() as conn:
            await conn.execute(
                "UPDATE polls SET closed_at = NULL, expires_at = ?, refreshed_at = 0"
                " WHERE status_id = ?",
                (time.time() + 3600, stored.id),
            )
        await login(w.target.client)
        page = await w.target.client.get(f"/@x/{stored.id}", follow_redirects=True)
        assert page.status_code == 200

        async def refreshed() -> bool:
            poll = await poll_store.get_poll(w.db, stored.id)
            return poll is not None and [o.votes for o in poll.options] == [20, 21]

        await eventually(refreshed, what="the poll's refresh")


# --- Hostile polls ---------------------------------------------------------------------------


async def test_votes_in_a_poll_only_from_its_audience(tmp_path: Path, template_root: Path) -> None:
    """A voter is sent the poll's Update(Question), content and all: someone who could not see
    a followers-only or direct poll must not get it by voting."""
    async with fleet_of(tmp_path, template_root, "alice", allow_private_addresses=True) as (
        fleet,
        nodes,
    ):
        alice = nodes["alice"]
        server = FakeServer(fleet, "http://carol.test")
        carol = server.actor("http://carol.test/users/carol")
        for visibility in ("private", "direct"):
            posted = await statuses.post(
                alice.federation,
                f"Secret {visibility} question",
                visibility=visibility,
                poll=PollDraft(("Yes", "No")),
            )
            vote = await _vote_as(server, carol, posted.ap_id, "Yes", alice.actor)
            outcome = await deliver(alice, carol, vote)
            assert outcome.ignored and "may not see" in (outcome.error or ""), outcome
            poll = await poll_store.get_poll(alice.federation.db, posted.id)
            assert poll is not None and [o.votes for o in poll.options] == [0, 0]
            assert await poll_store.voter_ids(alice.federation.db, posted.id) == []
        public = await statuses.post(alice.federation, "Open question", poll=PollDraft(("a", "b")))
        vote = await _vote_as(server, carol, public.ap_id, "a", alice.actor)
        assert (await deliver(alice, carol, vote)).applied


async def test_a_question_with_huge_counts_is_stored_with_capped_counts(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        author = "https://remote.example/users/quiz"
        await w.know(author, "out")
        question = {
            "id": "https://remote.example/users/quiz/statuses/1",
            "type": "Question",
            "attributedTo": author,
            "content": "<p>Huge?</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "votersCount": 10**30,
            "oneOf": [
                {"type": "Note", "name": "a", "replies": {"totalItems": 10**40}},
                {"type": "Note", "name": "b", "replies": {"totalItems": -5}},
                *({"type": "Note", "name": f"x{n}" * 100} for n in range(1000)),
            ],
        }
        create = activity("Create", w.actor(author), question, to=question["to"])
        outcome = await deliver(w.target, w.actor(author), create)
        assert outcome.applied, outcome
        stored = await w.status(question["id"])
        assert stored is not None
        poll = await poll_store.get_poll(w.db, stored.id)
        assert poll is not None
        assert len(poll.options) == 20 and all(len(o.title) <= 200 for o in poll.options)
        assert [o.votes for o in poll.options[:2]] == [2**31 - 1, 0]
        assert poll.voters_count == 2**31 - 1
