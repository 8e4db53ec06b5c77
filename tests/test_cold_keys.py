"""First contact: requests signed by keys Solo has never seen. However many wait for one key,
it is fetched once; a failed fetch fails them all and is not remembered; a burst of new senders
is stored in batched transactions, every one of them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from solo.store import actors as actor_store
from tests.fleet import Fleet, Node, eventually, fleet_of
from tests.ingress_helpers import FakeServer, Sender, post_signed

CAROL = "https://carol.example/users/carol"
_count = iter(range(1, 1_000_000))


class SlowServer(FakeServer):
    """A FakeServer whose answers take `delay` seconds, like a server far away."""

    def __init__(self, fleet: Fleet, origin: str, delay: float) -> None:
        super().__init__(fleet, origin)
        self.delay = delay

    async def endpoint(self, request: Request) -> Response:
        await asyncio.sleep(self.delay)
        return await super().endpoint(request)


def like(sender: Sender, target: Node) -> bytes:
    activity: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.actor}#likes/{next(_count)}",
        "type": "Like",
        "actor": sender.actor,
        "object": target.actor,
    }
    return json.dumps(activity).encode()


async def test_requests_waiting_for_one_new_key_share_one_fetch(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = SlowServer(fleet, "https://carol.example", delay=0.3)
        carol = server.actor(CAROL)
        answers = await asyncio.gather(
            *(post_signed(alice, carol, like(carol, alice)) for _ in range(20))
        )
        assert [answer.status_code for answer in answers] == [202] * 20
        assert server.fetched == [CAROL]
        assert alice.federation.resolver._key_fetches == {}  # nothing left behind


async def test_a_failed_shared_fetch_fails_every_waiter_and_is_tried_again_later(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = SlowServer(fleet, "https://carol.example", delay=0.2)
        carol = server.actor(CAROL)
        document = server.documents.pop(CAROL)  # 404 for now
        answers = await asyncio.gather(
            *(post_signed(alice, carol, like(carol, alice)) for _ in range(5))
        )
        assert [answer.status_code for answer in answers] == [401] * 5
        assert "Cannot get the signing key" in answers[0].text
        assert server.fetched == [CAROL]
        server.serve(document)
        assert (await post_signed(alice, carol, like(carol, alice))).status_code == 202
        assert server.fetched == [CAROL, CAROL]


async def test_a_burst_of_new_senders_is_stored_every_one(
    tmp_path: Path, template_root: Path
) -> None:
    """Their actors are written by group commit, several to a transaction: none is lost, each
    is cached with its key, and the next request of each needs no fetch."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        server = SlowServer(fleet, "https://many.example", delay=0.05)
        senders = [server.actor(f"https://many.example/users/u{n}") for n in range(30)]
        answers = await asyncio.gather(
            *(post_signed(alice, sender, like(sender, alice)) for sender in senders)
        )
        assert [answer.status_code for answer in answers] == [202] * 30
        assert sorted(server.fetched) == sorted(sender.actor for sender in senders)
        for sender in senders:
            stored = await actor_store.get_actor(db, sender.actor)
            assert stored is not None and stored.key_id == sender.key_id
            assert (await alice.federation.resolver.cached_key(sender.key_id)) is not None
        again = await asyncio.gather(
            *(post_signed(alice, sender, like(sender, alice)) for sender in senders)
        )
        assert [answer.status_code for answer in again] == [202] * 30
        assert len(server.fetched) == 30


@dataclass(frozen=True)
class KeyDocumentSender(Sender):
    """GoToSocial's way: the key at `actor/main-key`, a document of its own."""

    @property
    def key_id(self) -> str:
        return f"{self.actor}/main-key"


@pytest.mark.parametrize("key_document", [False, True], ids=["fragment", "key-document"])
async def test_a_delete_while_the_senders_key_is_fetched_is_kept(
    tmp_path: Path, template_root: Path, key_document: bool
) -> None:
    """An unknown account's Delete of itself costs nothing (202, nothing stored); but not while
    its first activity is being verified: that one, applied later, would keep it for good."""
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        server = SlowServer(fleet, "https://carol.example", delay=0.3)
        carol = server.actor(CAROL)
        if key_document:
            pem = server.documents[CAROL]["publicKey"]["publicKeyPem"]
            carol = KeyDocumentSender(CAROL, carol.key)
            key = {"id": carol.key_id, "owner": CAROL, "publicKeyPem": pem}
            server.documents[CAROL]["publicKey"] = key
            server.serve({"@context": "https://w3id.org/security/v1", "type": "Key", **key})
        delete = json.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{CAROL}#delete",
                "type": "Delete",
                "actor": CAROL,
                "object": CAROL,
            }
        ).encode()
        # Before any contact: taken and dropped, with nothing fetched.
        assert (await post_signed(alice, carol, delete)).status_code == 202
        assert server.fetched == []
        first = asyncio.create_task(post_signed(alice, carol, like(carol, alice)))
        for _ in range(200):
            if alice.federation.resolver.fetching(CAROL):
                break
            await asyncio.sleep(0.005)
        assert alice.federation.resolver.fetching(CAROL)
        assert (await post_signed(alice, carol, delete)).status_code == 202
        assert (await first).status_code == 202
        kinds = await db.fetchall("SELECT type FROM activities")
        assert sorted(row[0] for row in kinds) == ["Delete", "Like"]  # both stored

        async def forgotten() -> bool:
            return await actor_store.get_actor(db, CAROL) is None

        await eventually(forgotten, what="alice to forget carol")
