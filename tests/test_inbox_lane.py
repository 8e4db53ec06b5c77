"""The inbox's raw ASGI lane refuses everything the Starlette endpoint refuses, with the same
status, message and content type; and accepts what it accepts, storing the same."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from solo.app import INBOX_LIMIT
from solo.edge.middleware import BodyLimit
from solo.federation import inbox
from solo.federation.remote_actors import authority
from solo.federation.signatures import sign_headers
from solo.store import domain_blocks, hosts
from tests.fleet import Node, fleet_of
from tests.test_full_disk import fill_database, free_database
from tests.test_inbox_hostile import AS_TYPE, HOSTILE, NOTHING, Case, like, signed, stored


def endpoint_client(node: Node) -> httpx.AsyncClient:
    """A client of the inbox as it was served before the lane: the Starlette endpoint behind
    a router, the app's exception handlers and the body limit."""
    door = BodyLimit(
        ExceptionMiddleware(Router(routes=inbox.routes), handlers=node.app.exception_handlers),
        default=INBOX_LIMIT,
        limits={},
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = node.app
        await door(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=node.settings.base_url)


async def both(
    node: Node, path: str, body: bytes, headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    """The lane's answer and the endpoint's to the same request."""
    lane = await node.client.post(path, content=body, headers=headers)
    async with endpoint_client(node) as client:
        endpoint = await client.post(path, content=body, headers=headers)
    return lane, endpoint


def assert_same(lane: httpx.Response, endpoint: httpx.Response) -> None:
    assert (lane.status_code, lane.text) == (endpoint.status_code, endpoint.text)
    assert lane.headers.get("content-type") == endpoint.headers.get("content-type")
    assert lane.headers.get("retry-after") == endpoint.headers.get("retry-after")


@pytest.mark.parametrize(("name", "case", "status", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
@pytest.mark.parametrize("accept", ["", AS_TYPE, "text/html"])
async def test_the_lane_refuses_as_the_endpoint_does(
    tmp_path: Path,
    template_root: Path,
    name: str,
    case: Case,
    status: int,
    reason: str,
    accept: str,
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = case(bob, alice)
        if accept:
            headers["Accept"] = accept
        lane, endpoint = await both(alice, "/inbox", body, headers)
        assert lane.status_code == status, lane.text
        assert reason.lower() in lane.text.lower()
        assert_same(lane, endpoint)
        assert await stored(alice) == NOTHING


async def test_a_blocked_domain_an_unknown_key_and_user_are_refused_alike(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        nobody = await both(alice, "/users/nobody/inbox", body, headers)
        assert nobody[0].status_code == 404 and "no account called nobody" in nobody[0].text
        assert_same(*nobody)

        stranger = "https://nowhere.test/users/x"
        activity = like(stranger, alice.actor)
        body, headers = signed(bob, alice, activity, key_id=f"{stranger}#main-key")
        unknown = await both(alice, "/inbox", body, headers)
        assert unknown[0].status_code == 401 and "signing key" in unknown[0].text
        assert_same(*unknown)

        await hosts.block_domain(alice.federation.db, "bob.test")
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        blocked = await both(alice, "/inbox", body, headers)
        assert blocked[0].status_code == 403 and "blocked" in blocked[0].text
        assert_same(*blocked)
        assert await stored(alice) == NOTHING


async def test_the_size_limit_holds_however_the_body_comes(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        activity = like(bob.actor, alice.actor)
        activity["padding"] = "x" * INBOX_LIMIT
        body, headers = signed(bob, alice, activity)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        answers = []
        answers.append(await alice.client.post("/inbox", content=chunks(), headers=headers))
        async with endpoint_client(alice) as client:
            answers.append(await client.post("/inbox", content=chunks(), headers=headers))
        assert answers[0].status_code == 413 and "too large" in answers[0].text
        assert_same(*answers)

        small, headers = signed(bob, alice, like(bob.actor, alice.actor))
        headers["Content-Length"] = "many"
        wrong = await both(alice, "/inbox", small, headers)
        assert wrong[0].status_code == 400 and "Content-Length" in wrong[0].text
        assert_same(*wrong)
        assert await stored(alice) == NOTHING


async def test_the_lane_accepts_and_stores_as_the_endpoint_does(
    tmp_path: Path, template_root: Path
) -> None:
    """A good activity through either door: 202 with an empty body, one activity and one job;
    the content type is not checked (nor was it), a replay is accepted and dropped."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor, 1))
        lane = await alice.client.post("/inbox", content=body, headers=headers)
        assert (lane.status_code, lane.content) == (202, b"")
        assert lane.headers["content-length"] == "0"
        body, headers = signed_for(alice, bob, 2, "/inbox", "text/plain")
        async with endpoint_client(alice) as client:
            endpoint = await client.post("/inbox", content=body, headers=headers)
        assert (endpoint.status_code, endpoint.content) == (202, b"")
        path = "/users/alice/inbox"
        replay = await both(alice, path, *signed_for(alice, bob, 3, path))
        assert [answer.status_code for answer in replay] == [202, 202]
        activities = await alice.federation.db.fetchall(
            "SELECT ap_id FROM activities ORDER BY ap_id"
        )
        assert [row[0] for row in activities] == [f"{bob.actor}#likes/{n}" for n in (1, 2, 3)]
        payloads = await alice.federation.db.fetchall(
            "SELECT payload FROM jobs WHERE queue = 'ingress'"
        )
        assert len(payloads) == 3
        assert {json.loads(row[0])["actor"] for row in payloads} == {bob.actor}


def signed_for(
    alice: Node, bob: Node, n: int, path: str, content_type: str = AS_TYPE
) -> tuple[bytes, dict[str, str]]:
    """Bob's Like number `n`, signed for `path` on alice's server with this Content-Type."""
    body = json.dumps(like(bob.actor, alice.actor, n)).encode()
    headers = {"Content-Type": content_type}
    headers.update(
        sign_headers(
            "POST",
            f"{alice.settings.base_url}{path}",
            headers,
            body,
            key_id=f"{bob.actor}#main-key",
            private_key=bob.app.state.instance.user_keys.private_key(),
        )
    )
    return body, headers


async def test_a_server_blocked_after_it_was_heard_from_is_refused_at_once(
    tmp_path: Path, template_root: Path
) -> None:
    """The inbox remembers which servers are welcome; a block forgets that."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor, 1))
        assert (await alice.client.post("/inbox", content=body, headers=headers)).status_code == 202
        await hosts.block_domain(alice.federation.db, "bob.test")
        body, headers = signed(bob, alice, like(bob.actor, alice.actor, 2))
        refused = await alice.client.post("/inbox", content=body, headers=headers)
        assert refused.status_code == 403 and "bob.test is blocked here" in refused.text
        async with alice.federation.db.transaction() as conn:
            await domain_blocks.remove(conn, "bob.test")
        again = await alice.client.post("/inbox", content=body, headers=headers)
        assert again.status_code == 202


async def test_activities_arriving_together_are_stored_once_each(
    tmp_path: Path, template_root: Path
) -> None:
    """Many at once share batches (solo.federation.inbox_writes): each new activity gets one
    row and one job, a copy in the same batch or a later one none; a full database refuses
    the whole batch with 503 and stores nothing, and takes them all once there is room."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        db = alice.federation.db
        requests = [signed(bob, alice, like(bob.actor, alice.actor, n % 20)) for n in range(40)]

        async def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
            return await alice.client.post("/inbox", content=body, headers=headers)

        answers = await asyncio.gather(*(post(*request) for request in requests))
        assert [answer.status_code for answer in answers] == [202] * 40
        assert await db.fetchval("SELECT COUNT(*) FROM activities") == 20
        assert await db.fetchval("SELECT COUNT(*) FROM jobs WHERE queue = 'ingress'") == 20

        later = [signed(bob, alice, like(bob.actor, alice.actor, n)) for n in range(20, 25)]
        await fill_database(db)
        refused = await asyncio.gather(*(post(*request) for request in later))
        for answer in refused:
            assert answer.status_code == 503 and "try again later" in answer.text
            assert answer.headers["retry-after"] == "10"
        await free_database(db)
        assert await db.fetchval("SELECT COUNT(*) FROM activities") == 20
        taken = await asyncio.gather(*(post(*request) for request in later))
        assert [answer.status_code for answer in taken] == [202] * 5
        assert await db.fetchval("SELECT COUNT(*) FROM jobs WHERE queue = 'ingress'") == 25


def test_the_dedup_key_is_the_same_with_the_signers_host_given() -> None:
    author, relay = "https://a.example/users/x", "https://relay.example/actor"
    for signer in (author, relay):
        for activity_id in (f"{author}/likes/1", "https://elsewhere.example/1"):
            activity = {"id": activity_id, "type": "Like", "actor": author, "object": "o"}
            given = inbox.activity_key(activity, b"{}", signer, authority(signer))
            assert given == inbox.activity_key(activity, b"{}", signer)
