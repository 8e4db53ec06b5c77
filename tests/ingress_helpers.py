"""Helpers for tests of incoming content through the real inbox and ingress worker: signed
senders, small fake ActivityStreams servers, `deliver` (POST and wait for the worker), and
builders for the activities and rows the tests need."""

from __future__ import annotations

import functools
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo import urls
from solo.actions import follows as follow_actions
from solo.activitystreams import PUBLIC
from solo.federation.signatures import HTTPSignatureAuth
from solo.store import actors as actor_store
from solo.store import follows, statuses
from solo.store.follows import Direction
from solo.store.statuses import NewStatus, Status
from tests.fleet import Fleet, Node, eventually

AS_JSON = "application/activity+json"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
_serial = itertools.count(1)


@functools.cache
def shared_key() -> rsa.RSAPrivateKey:
    """One key for every fake actor: a key generation costs tens of milliseconds."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class Sender:
    """Whoever signs activities sent to a target: an actor id and its key."""

    actor: str
    key: rsa.RSAPrivateKey

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    @property
    def followers(self) -> str:
        return f"{self.actor}/followers"


def solo_sender(node: Node) -> Sender:
    return Sender(node.actor, node.app.state.instance.user_keys.private_key())


class FakeServer:
    """A tiny ActivityStreams server: documents served at their ids, inboxes that answer 202."""

    def __init__(self, fleet: Fleet, origin: str) -> None:
        self.origin = origin.rstrip("/")
        self.documents: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.fetched: list[str] = []
        app = Starlette(routes=[Route("/{path:path}", self.endpoint, methods=["GET", "POST"])])
        fleet.add(urlsplit(self.origin).netloc, app)

    def actor(self, actor_id: str, **extra: Any) -> Sender:
        """Serve an actor document at `actor_id` with the shared key; returns its sender."""
        key = shared_key()
        name = actor_id.rstrip("/").rsplit("/", 1)[-1] or urlsplit(actor_id).hostname or "x"
        self.serve(
            {
                "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
                "id": actor_id,
                "type": "Person",
                "preferredUsername": name,
                "inbox": f"{actor_id.rstrip('/')}/inbox",
                "followers": f"{actor_id.rstrip('/')}/followers",
                "publicKey": {
                    "id": f"{actor_id}#main-key",
                    "owner": actor_id,
                    "publicKeyPem": public_pem(key),
                },
                **extra,
            }
        )
        return Sender(actor_id, key)

    def serve(self, document: dict[str, Any]) -> None:
        self.documents[document["id"]] = document

    async def endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            self.received.append(json.loads(await request.body()))
            return Response(status_code=202)
        url = str(request.url)
        self.fetched.append(url)
        document = self.documents.get(url)
        if document is None:
            return Response("not found", status_code=404)
        return Response(json.dumps(document), media_type=AS_JSON)


@dataclass(frozen=True)
class Outcome:
    state: str
    error: str | None

    @property
    def applied(self) -> bool:
        return self.state == "done"

    @property
    def ignored(self) -> bool:
        return self.state == "dead" and (self.error or "").startswith("ignored:")


async def post_signed(target: Node, sender: Sender, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=target.app),
        base_url=target.settings.base_url,
        auth=HTTPSignatureAuth(sender.key_id, sender.key),
    ) as client:
        return await client.post("/inbox", content=body, headers={"Content-Type": AS_JSON})


async def deliver(target: Node, sender: Sender, activity: dict[str, Any] | bytes) -> Outcome:
    """POST a signed activity to the target's inbox and wait until the worker has settled it."""
    db = target.federation.db
    before = await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM jobs WHERE queue = 'ingress'")
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    response = await post_signed(target, sender, body)
    assert response.status_code == 202, response.text
    found: list[Any] = []

    async def settled() -> bool:
        row = await db.fetchone(
            "SELECT state, last_error FROM jobs WHERE queue = 'ingress' AND id > ?"
            " ORDER BY id LIMIT 1",
            (before,),
        )
        if row is not None and row["state"] in ("done", "dead", "retrying"):
            found.append(row)
            return True
        return False

    await eventually(settled, what="the ingress job to settle")
    return Outcome(found[0]["state"], found[0]["last_error"])


def note(author: Sender, **fields: Any) -> dict[str, Any]:
    """A public Note by `author`, with a fresh id."""
    n = next(_serial)
    document: dict[str, Any] = {
        "id": f"{author.actor}/notes/{n}",
        "type": "Note",
        "attributedTo": author.actor,
        "content": f"<p>note {n}</p>",
        "published": "2024-05-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [author.followers],
    }
    document.update(fields)
    return document


def activity(kind: str, actor: Sender, obj: Any, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{actor.actor}/activities/{kind.lower()}/{next(_serial)}",
        "type": kind,
        "actor": actor.actor,
        "object": obj,
    }
    document.update(fields)
    return document


def create(actor: Sender, obj: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(obj, str):
        return activity("Create", actor, obj, to=[PUBLIC])
    return activity("Create", actor, obj, to=obj.get("to", []), cc=obj.get("cc", []))


async def local_post(node: Node, text: str = "hello", visibility: str = "public") -> Status:
    """One of our own posts, stored directly (posting is another module's business)."""
    federation = node.federation
    status_id = federation.ids.next()
    async with federation.db.transaction() as conn:
        await statuses.insert_status(
            conn,
            NewStatus(
                id=status_id,
                ap_id=urls.status(node.settings, status_id),
                actor_id=None,
                visibility=visibility,  # type: ignore[arg-type]
                content_html=f"<p>{text}</p>",
                published_at=time.time(),
            ),
        )
    found = await statuses.get_status(federation.db, status_id)
    assert found is not None
    return found


async def follow_solo(follower: Node, followed: Node) -> None:
    """`follower` follows `followed` for real, and waits for the Accept."""
    await follow_actions.follow(follower.federation, followed.actor)

    async def accepted() -> bool:
        actor = await actor_store.get_actor(follower.federation.db, followed.actor)
        assert actor is not None and actor.id is not None
        found = await follows.get_follow(follower.federation.db, "out", actor.id)
        return found is not None and found.state == "accepted"

    await eventually(accepted, what="the follow to be accepted")


async def follow_directly(node: Node, actor_id: str, direction: Direction = "out") -> int:
    """An accepted follow of a remote actor, written straight into the store."""
    actor = await node.federation.resolver.actor(actor_id)
    assert actor.id is not None
    async with node.federation.db.transaction() as conn:
        await follows.put_follow(conn, direction, actor.id, f"{actor_id}#follow", "accepted")
    return actor.id


async def status_of(node: Node, ap_id: str) -> Status | None:
    return await statuses.get_status_by_ap_id(node.federation.db, ap_id)


async def actor_row(node: Node, ap_id: str) -> int:
    actor = await actor_store.get_actor(node.federation.db, ap_id)
    assert actor is not None and actor.id is not None
    return actor.id


async def notifications_of(node: Node) -> list[tuple[str, int | None, int | None]]:
    rows = await node.federation.db.fetchall(
        "SELECT type, actor_id, status_id FROM notifications ORDER BY id"
    )
    return [(row[0], row[1], row[2]) for row in rows]
