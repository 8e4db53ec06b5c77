"""A small relay for tests, in both dialects, served in the test fleet by host name.

It keeps subscribers as real relays do: a Follow of the Public collection (Mastodon's dialect)
or of its actor (LitePub's, which it follows back) is answered with a signed Accept; a public
Create from a subscriber is passed on to every other subscriber as a signed Announce of the
object's id (or, with `forward_creates`, as the Create itself, signed by the relay, as
pub-relay does). Everything it receives and sends is kept for the tests to look at.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.activitystreams import PUBLIC, id_of
from solo.federation.signatures import HTTPSignatureAuth
from tests.fleet import Fleet
from tests.ingress_helpers import AS_CONTEXT, AS_JSON, Sender, public_pem, shared_key


class FakeRelay:
    def __init__(self, fleet: Fleet, host: str = "relay.test", *, accept: bool = True) -> None:
        self.fleet = fleet
        self.origin = f"https://{host}"
        self.actor = f"{self.origin}/actor"
        self.inbox = f"{self.origin}/inbox"
        self.sender = Sender(self.actor, shared_key())
        self.accept = accept
        self.forward_creates = False
        self.received: list[dict[str, Any]] = []
        self.signers: list[str] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.subscribers: dict[str, str] = {}  # subscriber actor → its inbox
        self._serial = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        app = Starlette(
            routes=[
                Route("/actor", self.actor_document, methods=["GET"]),
                Route("/inbox", self.receive, methods=["POST"]),
            ]
        )
        fleet.add(host, app)

    async def actor_document(self, request: Request) -> Response:
        document = {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Application",
            "preferredUsername": "relay",
            "inbox": self.inbox,
            "followers": f"{self.origin}/followers",
            "publicKey": {
                "id": self.sender.key_id,
                "owner": self.actor,
                "publicKeyPem": public_pem(self.sender.key),
            },
        }
        return Response(json.dumps(document), media_type=AS_JSON)

    async def receive(self, request: Request) -> Response:
        activity = json.loads(await request.body())
        self.received.append(activity)
        self.signers.append(request.headers.get("signature", ""))
        self._later(self._apply(activity))
        return Response(status_code=202)

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks)

    def next_id(self, kind: str) -> str:
        return f"{self.origin}/activities/{kind}/{next(self._serial)}"

    async def _apply(self, activity: dict[str, Any]) -> None:
        kind = activity.get("type")
        actor = id_of(activity.get("actor"))
        assert actor is not None
        if kind == "Follow" and id_of(activity.get("object")) in (PUBLIC, self.actor):
            inbox = await self._inbox_of(actor)
            answer = "Accept" if self.accept else "Reject"
            await self.send(inbox, self.activity(answer, activity))
            if not self.accept:
                return
            self.subscribers[actor] = inbox
            if id_of(activity.get("object")) == self.actor:  # LitePub: follow back
                await self.send(inbox, self.activity("Follow", actor))
        elif kind == "Undo" and isinstance(activity.get("object"), dict):
            if activity["object"].get("type") == "Follow":
                self.subscribers.pop(actor, None)
        elif kind == "Create" and PUBLIC in _audience(activity):
            await self.share(id_of(activity.get("object")) or "", activity, but=actor)

    async def share(self, object_id: str, create: dict[str, Any] | None, *, but: str) -> None:
        """Pass a post on to every subscriber other than its sender's server."""
        sender_host = but.split("/")[2]
        for subscriber, inbox in list(self.subscribers.items()):
            if subscriber.split("/")[2] == sender_host:
                continue
            if self.forward_creates and create is not None:
                await self.send(inbox, create)
            else:
                await self.send(inbox, self.announce(object_id))

    def announce(self, object_id: str) -> dict[str, Any]:
        return {
            **self.activity("Announce", object_id),
            "to": [f"{self.origin}/followers"],
            "published": "2026-01-01T00:00:00Z",
        }

    def activity(self, kind: str, obj: Any) -> dict[str, Any]:
        return {
            "@context": AS_CONTEXT,
            "id": self.next_id(kind.lower()),
            "type": kind,
            "actor": self.actor,
            "object": obj,
        }

    async def _inbox_of(self, actor: str) -> str:
        async with httpx.AsyncClient(transport=self.fleet) as client:
            response = await client.get(actor, headers={"Accept": AS_JSON})
        response.raise_for_status()
        inbox = response.json()["inbox"]
        assert isinstance(inbox, str)
        return inbox

    async def send(self, inbox: str, activity: dict[str, Any]) -> httpx.Response:
        self.sent.append((inbox, activity))
        auth = HTTPSignatureAuth(self.sender.key_id, self.sender.key)
        async with httpx.AsyncClient(transport=self.fleet, auth=auth) as client:
            return await client.post(
                inbox, content=json.dumps(activity).encode(), headers={"Content-Type": AS_JSON}
            )


def _audience(activity: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for key in ("to", "cc"):
        value = activity.get(key)
        found.extend(value if isinstance(value, list) else [value])
    return found
