"""Conversations between two (and three) instances: direct messages both ways grouped by their
conversation id, unread marks, read and remove through the API, the `direct` stream, and
direct messages held back by the notification policy kept out until accepted."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from solo.api.auth import Caller
from solo.api.streams import Stream, relay_of
from solo.store.oauth import AccessToken
from tests.fleet import Node, eventually, fleet_of
from tests.test_api_statuses import user_token
from tests.test_web_federation import copy_of, populated
from tests.test_web_pages import login

WAIT = 5.0


@dataclass
class _Connection:
    app: Starlette


async def dm(node: Node, auth: dict[str, str], text: str, reply_to: int | None = None) -> int:
    data = {"status": text, "visibility": "direct"}
    if reply_to is not None:
        data["in_reply_to_id"] = str(reply_to)
    response = await node.client.post("/api/v1/statuses", data=data, headers=auth)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def listed(node: Node, auth: dict[str, str], **query: str) -> httpx.Response:
    response = await node.client.get("/api/v1/conversations", params=query, headers=auth)
    assert response.status_code == 200, response.text
    return response


def accts(conversation: dict[str, Any]) -> list[str]:
    return [account["acct"] for account in conversation["accounts"]]


async def test_direct_messages_both_ways_make_one_conversation(
    tmp_path: Path, template_root: Path
) -> None:
    async with populated(tmp_path, template_root) as (_, alice, bob):
        alice_auth = await user_token(alice.client)
        bob_auth = await user_token(bob.client, username="bob")
        assert (await listed(alice, alice_auth)).json() == []

        relay = relay_of(_Connection(alice.app))  # type: ignore[arg-type]
        token = AccessToken(1, 1, "Test app", None, ("read",), True, 0.0, None)
        listener = relay.join(Caller(token))
        listener.streams.add(Stream("direct"))
        try:
            await dm(bob, bob_auth, "@alice@alice.test the secret plan")
            first = await copy_of(alice, "the secret plan")
            message = await asyncio.wait_for(listener.next(), WAIT)
        finally:
            relay.leave(listener)
        assert message.event == "conversation" and message.stream.label == ["direct"]
        streamed = json.loads(message.payload)
        assert streamed["last_status"]["id"] == str(first) and streamed["unread"] is True

        [conversation] = (await listed(alice, alice_auth)).json()
        assert conversation["id"] == streamed["id"]
        assert conversation["unread"] is True
        assert accts(conversation) == ["bob@bob.test"]
        assert conversation["last_status"]["visibility"] == "direct"
        assert "the secret plan" in conversation["last_status"]["content"]

        # alice answers: the same conversation, read (it is her own message), last hers.
        answer = await dm(alice, alice_auth, "@bob@bob.test agreed", reply_to=first)
        [conversation] = (await listed(alice, alice_auth)).json()
        assert conversation["last_status"]["id"] == str(answer)
        assert conversation["unread"] is False
        assert accts(conversation) == ["bob@bob.test"]

        # At bob's: one conversation too, with alice's answer in it, unread.
        await copy_of(bob, "agreed")
        [at_bob] = (await listed(bob, bob_auth)).json()
        assert "agreed" in at_bob["last_status"]["content"] and at_bob["unread"] is True
        assert accts(at_bob) == ["alice@alice.test"]
        read = await bob.client.post(f"/api/v1/conversations/{at_bob['id']}/read", headers=bob_auth)
        assert read.status_code == 200 and read.json()["unread"] is False
        assert (await listed(bob, bob_auth)).json()[0]["unread"] is False

        # Removed at alice's: gone from the list until bob writes again.
        removed = await alice.client.delete(
            f"/api/v1/conversations/{conversation['id']}", headers=alice_auth
        )
        assert removed.status_code == 200 and removed.json() == {}
        assert (await listed(alice, alice_auth)).json() == []
        bob_answer = await copy_of(bob, "agreed")
        await dm(bob, bob_auth, "@alice@alice.test see you then", reply_to=bob_answer)
        back_id = await copy_of(alice, "see you then")
        [back] = (await listed(alice, alice_auth)).json()
        assert back["id"] == conversation["id"] and back["unread"] is True

        # Public posts never make conversations; a new direct message makes a second one.
        await alice.client.post(
            "/api/v1/statuses", data={"status": "@bob@bob.test hi all"}, headers=alice_auth
        )
        newest = await dm(alice, alice_auth, "@bob@bob.test another matter")
        both = await listed(alice, alice_auth)
        assert [c["last_status"]["id"] for c in both.json()] == [str(newest), str(back_id)]

        # Paged by the last message, newest first, with Link headers.
        first_page = await listed(alice, alice_auth, limit="1")
        assert [c["last_status"]["id"] for c in first_page.json()] == [str(newest)]
        older = first_page.links["next"]["url"]
        second = await alice.client.get(older, headers=alice_auth)
        assert [c["id"] for c in second.json()] == [conversation["id"]]


async def test_conversation_refusals(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        alice = nodes["alice"]
        auth = await user_token(alice.client)
        for method, path in (
            ("POST", "/api/v1/conversations/999/read"),
            ("DELETE", "/api/v1/conversations/999"),
            ("POST", "/api/v1/conversations/x/read"),
        ):
            response = await alice.client.request(method, path, headers=auth)
            assert response.status_code == 404, path
            assert response.json() == {"error": "Record not found"}
        assert (await alice.client.get("/api/v1/conversations")).status_code == 401
        bad = await alice.client.get("/api/v1/conversations?max_id=abc", headers=auth)
        assert bad.status_code == 422


async def test_held_back_direct_messages_wait_for_their_request(
    tmp_path: Path, template_root: Path
) -> None:
    """carol is not followed: her direct message waits as a notification request (Mastodon's
    default policy) and stays out of the conversations until the request is accepted."""
    async with fleet_of(tmp_path, template_root, "alice", "carol") as (_, nodes):
        alice, carol = nodes["alice"], nodes["carol"]
        for node in (alice, carol):
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        alice_auth = await user_token(alice.client)
        carol_auth = await user_token(carol.client, username="carol")
        await dm(carol, carol_auth, "@alice@alice.test buy my stuff")
        await copy_of(alice, "buy my stuff")

        async def requested() -> bool:
            got = await alice.client.get("/api/v1/notifications/requests", headers=alice_auth)
            return bool(got.json())

        await eventually(requested, what="carol's notification request")
        assert (await listed(alice, alice_auth)).json() == []
        [request] = (
            await alice.client.get("/api/v1/notifications/requests", headers=alice_auth)
        ).json()
        accepted = await alice.client.post(
            f"/api/v1/notifications/requests/{request['id']}/accept", headers=alice_auth
        )
        assert accepted.status_code == 200
        [conversation] = (await listed(alice, alice_auth)).json()
        assert accts(conversation) == ["carol@carol.test"]
        assert "buy my stuff" in conversation["last_status"]["content"]
