"""An accepted activity's ingress job carries the body as received (not the parsed activity
encoded again), and reads back as the same activity; the jobs table still refuses a queue or
a state it does not know."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from solo.federation.inbox import authority_under, job_payload
from solo.federation.remote_actors import authority
from tests.fleet import fleet_of
from tests.test_inbox_hostile import like, signed

ACTOR = "https://remote.example/users/bob"


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"Like","actor":"https://remote.example/users/bob","object":"x"}',
        b' \n{ "type" : "Like", "actor": "https://remote.example/users/bob", "n": [1, 2.5e3] }\n',
        '{"type":"Like","actor":"https://remote.example/users/bob","name":"é ✓ 🐘"}'.encode(),
        b'{"type":"Like","actor":"https://remote.example/users/bob","a":1,"a":2}',
    ],
)
def test_the_job_holds_the_body_as_received(body: bytes) -> None:
    activity = json.loads(body)
    text = job_payload(body, activity, ACTOR)
    assert body.decode() in text
    assert json.loads(text) == {"activity": activity, "actor": ACTOR}


@pytest.mark.parametrize(
    "body",
    [
        '{"type":"Like","actor":"https://remote.example/users/bob"}'.encode("utf-16"),
        '{"type":"Like","actor":"https://remote.example/users/bob"}'.encode("utf-8-sig"),
        b'{"type":"Like","actor":"https://remote.example/users/bob","x":"\xed\xa0\x80"}',
    ],
)
def test_other_encodings_are_encoded_again(body: bytes) -> None:
    activity = {"type": "Like", "actor": ACTOR}
    text = job_payload(body, activity, ACTOR)
    assert json.loads(text) == {"activity": activity, "actor": ACTOR}


def test_an_activity_made_up_here_is_encoded() -> None:
    activity = {"type": "Announce", "actor": ACTOR, "object": "https://a.example/1"}
    assert json.loads(job_payload(None, activity, ACTOR)) == {"activity": activity, "actor": ACTOR}


async def test_an_accepted_post_is_queued_as_sent(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        activity = like(bob.actor, alice.actor)
        body, headers = signed(bob, alice, json.dumps(activity, indent=1).encode())
        response = await alice.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 202, response.text
        row = await alice.federation.db.fetchone("SELECT payload FROM jobs WHERE queue = 'ingress'")
        assert row is not None
        assert body.decode() in row[0]
        assert json.loads(row[0]) == {"activity": activity, "actor": bob.actor}


@pytest.mark.parametrize(
    ("queue", "state"), [("elsewhere", "queued"), ("ingress", "lost"), ("", "done")]
)
async def test_the_jobs_table_refuses_unknown_queues_and_states(
    tmp_path: Path, template_root: Path, queue: str, state: str
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        db = nodes["alice"].federation.db
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO jobs (queue, state, payload, next_attempt_at, created_at,"
                    " updated_at) VALUES (?, ?, '{}', 1e12, 0, 0)",
                    (queue, state),
                )
        for good_queue in ("push", "ingress", "webpush"):
            for good_state in ("queued", "running", "retrying", "done", "dead"):
                async with db.transaction() as conn:
                    await conn.execute(
                        "INSERT INTO jobs (queue, state, payload, next_attempt_at, created_at,"
                        " updated_at) VALUES (?, ?, '{}', 1e12, 0, 0)",
                        (good_queue, good_state),
                    )


BASES = [
    "https://a.example/users/bob",
    "https://a.example",
    "http://a.example:80/u",
    "https://A.Example:8443/users/bob",
    "https://a.example/users/b\u00f6b",
    "https://a.example\t/users/bob",
    "https://a.example/users/bob?x=1",
    "https://a.example/users/bob#main",
    "http://[::1]:8080/u",
]
SUFFIXES = ["", "#main-key", "/main-key", "?page=1", "x", ".evil.example/u", ":9/u", "@b.example/u"]


@pytest.mark.parametrize("base", BASES)
def test_authority_under_answers_as_authority(base: str) -> None:
    base_authority = authority(base)
    assert base_authority is not None
    for suffix in SUFFIXES:
        url = base + suffix
        assert authority_under(url, base, base_authority) == authority(url), url
