"""The `list` stream: a post by a member reaches subscribers of that list (filtered as home),
not those of another list, and a list id is needed to subscribe."""

from __future__ import annotations

import json
import time

from solo.actions import lists as list_actions
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store import follows as follow_store
from solo.store.actors import RemoteActor
from tests import test_api_streaming
from tests.test_api_streaming import Live, event_of, receive, subscribe

live = test_api_streaming.live  # the fixture: one instance served by uvicorn


async def _followed(federation: Federation, name: str) -> int:
    async with federation.db.transaction() as conn:
        actor_id = await actor_store.upsert_actor(
            conn,
            RemoteActor(
                ap_id=f"https://{name}.test/users/{name}",
                type="Person",
                username=name,
                domain=f"{name}.test",
                inbox=f"https://{name}.test/users/{name}/inbox",
                shared_inbox=None,
                key_id=None,
                public_key_pem=None,
            ),
        )
        await follow_store.put_follow(
            conn, "out", actor_id, f"https://solo.test/follows/{name}", "accepted"
        )
    return actor_id


async def _arrives(federation: Federation, actor_id: int, text: str) -> int:
    """A post by a remote account, stored and told to the feeds as ingress does."""
    status_id = federation.ids.next()
    async with federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO statuses (id, ap_id, actor_id, visibility, content_html, published_at)"
            " VALUES (?, ?, ?, 'public', ?, ?)",
            (status_id, f"https://x.test/{status_id}", actor_id, f"<p>{text}</p>", time.time()),
        )
    await federation.feeds.status_added(status_id)
    return status_id


async def test_the_list_stream(live: Live) -> None:
    federation = live.federation
    bob = await _followed(federation, "bob")
    carol = await _followed(federation, "carol")
    friends = await list_actions.create(federation, "Friends")
    others = await list_actions.create(federation, "Others")
    await list_actions.add_members(federation, friends, [bob])
    await list_actions.add_members(federation, others, [carol])
    async with live.socket(subprotocols=[live.token]) as socket:
        await subscribe(socket, "list", list=str(friends.id))
        await _arrives(federation, carol, "Carol speaks")
        posted = await _arrives(federation, bob, "Bob speaks")
        stream, event, status = event_of(await receive(socket))
        assert (stream, event) == (["list", str(friends.id)], "update")
        assert status["id"] == str(posted) and "Bob speaks" in status["content"]
        await socket.send(json.dumps({"type": "subscribe", "stream": "list"}))
        refused = await receive(socket)
        assert refused["status"] == 422 and "list" in refused["error"]
    async with live.client() as http:
        sse = f"/api/v1/streaming/list?list={friends.id}&access_token=nope"
        assert (await http.get(sse)).status_code == 401
