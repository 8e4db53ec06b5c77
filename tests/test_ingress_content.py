"""Incoming content through the real inbox and ingress worker: Create, Update, Delete, Announce,
Like and Block, sent by another Solo instance or by small fake ActivityStreams servers."""

from __future__ import annotations

import functools
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
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
from solo.federation.activitystreams import PUBLIC
from solo.federation.signatures import HTTPSignatureAuth
from solo.store import actors as actor_store
from solo.store import follows, hosts, interactions, statuses
from solo.store.follows import Direction
from solo.store.statuses import NewStatus, Status
from tests.fleet import Fleet, Node, eventually, fleet_of

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


# --- Create --------------------------------------------------------------------------------


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


# --- Update --------------------------------------------------------------------------------


async def test_update_edits_content_and_only_the_author_may(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (fleet, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        edited = {**sent, "content": "<p>edited</p>", "summary": "now with cw", "sensitive": True}
        edited["updated"] = "2024-05-01T11:00:00Z"
        assert (await deliver(alice, sender, activity("Update", sender, edited))).applied
        stored = await status_of(alice, sent["id"])
        assert stored is not None
        assert (stored.content_html, stored.summary, stored.sensitive) == (
            "<p>edited</p>",
            "now with cw",
            True,
        )
        assert stored.edited_at is not None
        # An older version arriving late does not undo the edit.
        stale = {**sent, "content": "<p>stale</p>", "updated": "2024-05-01T10:30:00Z"}
        assert (await deliver(alice, sender, activity("Update", sender, stale))).ignored
        # Another server cannot edit bob's post…
        intruder = solo_sender(carol)
        forged = {**sent, "content": "<p>forged</p>"}
        outcome = await deliver(alice, intruder, activity("Update", intruder, forged))
        assert outcome.ignored
        # …nor can another actor of the same host.
        server = FakeServer(fleet, "https://shared.example")
        owner = server.actor("https://shared.example/users/owner")
        other = server.actor("https://shared.example/users/other")
        await follow_directly(alice, owner.actor)
        theirs = note(owner)
        assert (await deliver(alice, owner, create(owner, theirs))).applied
        taken = {**theirs, "attributedTo": other.actor, "content": "<p>taken</p>"}
        assert (await deliver(alice, other, activity("Update", other, taken))).ignored
        stored_theirs = await status_of(alice, theirs["id"])
        assert stored_theirs is not None and stored_theirs.content_html == theirs["content"]
        assert await notifications_of(alice) == []


async def test_update_of_a_post_we_boosted_notifies(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        stored = await status_of(alice, sent["id"])
        assert stored is not None
        async with alice.federation.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO interactions (kind, actor_id, status_id, created_at)"
                " VALUES ('announce', NULL, ?, 0)",
                (stored.id,),
            )
        edited = {**sent, "content": "<p>changed</p>"}
        assert (await deliver(alice, sender, activity("Update", sender, edited))).applied
        assert await notifications_of(alice) == [
            ("update", await actor_row(alice, bob.actor), stored.id)
        ]


async def test_update_person_takes_the_profile_but_keys_only_from_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol", name="Carol")
        await follow_directly(alice, carol.actor)
        profile = dict(server.documents[carol.actor], name="Carol Updated")
        assert (await deliver(alice, carol, activity("Update", carol, profile))).applied
        stored = await actor_store.get_actor(alice.federation.db, carol.actor)
        assert stored is not None and stored.display_name == "Carol Updated"
        # A new key in the Update is not believed; the origin is asked, and it says otherwise.
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rotated = dict(
            profile,
            name="Carol Rotated",
            publicKey={
                "id": carol.key_id,
                "owner": carol.actor,
                "publicKeyPem": public_pem(other_key),
            },
        )
        assert (await deliver(alice, carol, activity("Update", carol, rotated))).applied
        stored = await actor_store.get_actor(alice.federation.db, carol.actor)
        assert stored is not None
        assert stored.public_key_pem == public_pem(carol.key)
        assert stored.display_name == "Carol"  # what the origin serves
        # Someone else's profile cannot be updated.
        dave = server.actor("https://carol.example/users/dave")
        outcome = await deliver(
            alice, carol, activity("Update", carol, server.documents[dave.actor])
        )
        assert outcome.ignored


# --- Delete --------------------------------------------------------------------------------


async def test_delete_tombstones_and_a_replayed_create_does_not_return(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (_, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        created = create(sender, sent)
        assert (await deliver(alice, sender, created)).applied
        # Someone else cannot delete it.
        intruder = solo_sender(carol)
        assert (await deliver(alice, intruder, activity("Delete", intruder, sent["id"]))).ignored
        assert await status_of(alice, sent["id"]) is not None
        tombstone = {"id": sent["id"], "type": "Tombstone"}
        assert (await deliver(alice, sender, activity("Delete", sender, tombstone))).applied
        assert await status_of(alice, sent["id"]) is None
        assert await statuses.is_tombstoned(alice.federation.db, sent["id"])
        replay = dict(created, id=created["id"] + "/again")
        outcome = await deliver(alice, sender, replay)
        assert outcome.ignored and "deleted" in (outcome.error or "")
        assert await status_of(alice, sent["id"]) is None


async def test_delete_before_create_is_never_stored(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        sent = note(sender)
        assert (await deliver(alice, sender, activity("Delete", sender, sent["id"]))).applied
        remembered = await alice.federation.db.fetchval(
            "SELECT kind FROM early_removals WHERE object_ap_id = ?", (sent["id"],)
        )
        assert remembered == "Delete"
        assert (await deliver(alice, sender, create(sender, sent))).ignored
        assert await status_of(alice, sent["id"]) is None


async def test_actor_delete_removes_everything_of_theirs(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        await follow_solo(bob, alice)
        sender = solo_sender(bob)
        sent = note(sender, tag=[{"type": "Mention", "href": alice.actor}])
        assert (await deliver(alice, sender, create(sender, sent))).applied
        ours = await local_post(alice)
        assert (await deliver(alice, sender, activity("Like", sender, ours.ap_id))).applied
        db = alice.federation.db
        bob_row = await actor_row(alice, bob.actor)
        gone = activity("Delete", sender, {"id": bob.actor, "type": "Person"})
        assert (await deliver(alice, sender, gone)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM actors WHERE id = ?", (bob_row,)) == 0
        for table in ("statuses", "follows", "interactions", "notifications"):
            count = await db.fetchval(
                f"SELECT COUNT(*) FROM {table} WHERE actor_id = ?", (bob_row,)
            )
            assert count == 0, table
        assert await status_of(alice, ours.ap_id) is not None


# --- Announce ------------------------------------------------------------------------------


async def test_announce_of_our_post_notifies_and_undo_takes_it_back(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        announce = activity(
            "Announce", sender, ours.ap_id, to=[PUBLIC], cc=[alice.actor, sender.followers]
        )
        assert (await deliver(alice, sender, announce)).applied
        bob_row = await actor_row(alice, bob.actor)
        boost = await status_of(alice, announce["id"])
        assert boost is not None
        assert (boost.actor_id, boost.reblog_of_id, boost.visibility) == (
            bob_row,
            ours.id,
            "public",
        )
        assert await notifications_of(alice) == [("reblog", bob_row, ours.id)]
        db = alice.federation.db
        assert (
            await db.fetchval(
                "SELECT ap_id FROM interactions WHERE kind = 'announce' AND actor_id = ?",
                (bob_row,),
            )
            == announce["id"]
        )
        # Again with another id: one boost per account and post.
        again = dict(announce, id=announce["id"] + "/again")
        assert (await deliver(alice, sender, again)).applied
        assert len(await notifications_of(alice)) == 1
        undo = activity("Undo", sender, {k: v for k, v in announce.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await status_of(alice, announce["id"]) is None
        assert await notifications_of(alice) == []
        assert await db.fetchval("SELECT COUNT(*) FROM interactions") == 0


async def test_private_announce_and_unrelated_boosts_are_ignored(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        private = activity("Announce", sender, ours.ap_id, to=[sender.followers])
        assert (await deliver(alice, sender, private)).ignored
        # Not followed and not ours: nothing is fetched.
        unrelated = activity("Announce", sender, "https://elsewhere.test/notes/1", to=[PUBLIC])
        outcome = await deliver(alice, sender, unrelated)
        assert outcome.ignored and "do not follow" in (outcome.error or "")
        followers_only = await local_post(alice, visibility="private")
        boost = activity("Announce", sender, followers_only.ap_id, to=[PUBLIC])
        assert (await deliver(alice, sender, boost)).ignored
        assert await notifications_of(alice) == []


async def test_announce_of_a_third_party_post_is_fetched_from_its_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        original = note(carol, content="<p>carol's words</p>")
        server.serve(original)
        sender = solo_sender(bob)
        announce = activity("Announce", sender, original["id"], to=[PUBLIC])
        assert (await deliver(alice, sender, announce)).applied
        boosted = await status_of(alice, original["id"])
        assert boosted is not None
        assert boosted.actor_id == await actor_row(alice, carol.actor)
        assert boosted.content_html == "<p>carol's words</p>"
        boost = await status_of(alice, announce["id"])
        assert boost is not None and boost.reblog_of_id == boosted.id
        assert boost.actor_id == await actor_row(alice, bob.actor)
        assert await notifications_of(alice) == []
        # bob's own post, embedded, is taken as sent: nothing is fetched from bob.
        own = note(sender, content="<p>mine</p>")
        fetched_before = len([r for r in fleet.requests if r.url.host == "bob.test"])
        self_boost = activity("Announce", sender, own, to=[PUBLIC])
        assert (await deliver(alice, sender, self_boost)).applied
        assert len([r for r in fleet.requests if r.url.host == "bob.test"]) == fetched_before
        stored_own = await status_of(alice, own["id"])
        assert stored_own is not None and stored_own.content_html == "<p>mine</p>"


async def test_spoofed_embedded_announce_is_checked_at_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        sender = solo_sender(bob)
        # The origin has never heard of it: refused, nothing stored.
        invented = note(carol, content="<p>words carol never wrote</p>")
        announce = activity("Announce", sender, invented, to=[PUBLIC])
        assert (await deliver(alice, sender, announce)).ignored
        assert await status_of(alice, invented["id"]) is None
        assert await status_of(alice, announce["id"]) is None
        # The origin has it, with other words: the origin's words are stored.
        real = note(carol, content="<p>what carol wrote</p>")
        server.serve(real)
        doctored = dict(real, content="<p>doctored</p>")
        assert (
            await deliver(alice, sender, activity("Announce", sender, doctored, to=[PUBLIC]))
        ).applied
        stored = await status_of(alice, real["id"])
        assert stored is not None and stored.content_html == "<p>what carol wrote</p>"
        # The origin serves a post whose author lives on another host.
        dave = FakeServer(fleet, "https://dave.example").actor("https://dave.example/users/dave")
        stolen = note(carol, attributedTo=dave.actor)
        server.serve(stolen)
        outcome = await deliver(
            alice, sender, activity("Announce", sender, stolen["id"], to=[PUBLIC])
        )
        assert outcome.ignored and "author's host" in (outcome.error or "")


async def test_announce_from_a_blocked_domain_is_refused_without_fetching(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        original = note(carol)
        server.serve(original)
        await hosts.block_domain(alice.federation.db, "carol.example")
        sender = solo_sender(bob)
        announce = activity("Announce", sender, original["id"], to=[PUBLIC])
        outcome = await deliver(alice, sender, announce)
        assert outcome.ignored and "blocked" in (outcome.error or "")
        assert server.fetched == []
        assert await status_of(alice, original["id"]) is None


async def test_accounts_we_block_get_in_neither_directly_nor_by_boosts(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        server = FakeServer(fleet, "https://carol.example")
        carol = server.actor("https://carol.example/users/carol")
        carol_row = await follow_directly(alice, carol.actor)
        async with alice.federation.db.transaction() as conn:
            await interactions.add(conn, "block", actor_id=None, target_actor_id=carol_row)
        mention = note(carol, tag=[{"type": "Mention", "href": alice.actor}])
        server.serve(mention)
        outcome = await deliver(alice, carol, create(carol, mention))
        assert outcome.ignored and "blocked" in (outcome.error or "")
        sender = solo_sender(bob)
        boost = activity("Announce", sender, mention["id"], to=[PUBLIC])
        outcome = await deliver(alice, sender, boost)
        assert outcome.ignored and "blocked" in (outcome.error or "")
        ours = await local_post(alice)
        outcome = await deliver(alice, carol, activity("Like", carol, ours.ap_id))
        assert outcome.ignored and "blocked" in (outcome.error or "")
        assert await status_of(alice, mention["id"]) is None
        assert await notifications_of(alice) == []


# --- Like and Block ------------------------------------------------------------------------


async def test_likes_of_our_posts_and_their_undo(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        assert (await deliver(alice, sender, like)).applied
        bob_row = await actor_row(alice, bob.actor)
        assert await notifications_of(alice) == [("favourite", bob_row, ours.id)]
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 1
        # Idempotent: another Like of the same post adds nothing.
        assert (await deliver(alice, sender, activity("Like", sender, ours.ap_id))).applied
        assert len(await notifications_of(alice)) == 1
        # Not ours: ignored.
        theirs = note(sender)
        assert (await deliver(alice, sender, create(sender, theirs))).applied
        assert (await deliver(alice, sender, activity("Like", sender, theirs["id"]))).ignored
        undo = activity("Undo", sender, {k: v for k, v in like.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 0
        assert await notifications_of(alice) == []
        # A Misskey reaction is a Like with extras; an EmojiReact is not handled yet.
        reaction = activity("Like", sender, ours.ap_id, _misskey_reaction="🍮", content="🍮")
        assert (await deliver(alice, sender, reaction)).applied
        assert await notifications_of(alice) == [("favourite", bob_row, ours.id)]
        emoji = activity("EmojiReact", sender, ours.ap_id, content="🍮")
        assert (await deliver(alice, sender, emoji)).state == "dead"


async def test_undo_of_a_like_with_another_id_matches_by_the_liked_post(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        assert (await deliver(alice, sender, like)).applied
        assert len(await notifications_of(alice)) == 1
        renamed = {k: v for k, v in like.items() if k != "@context"}
        renamed["id"] = like["id"] + "-as-remembered-by-another-server"
        assert (await deliver(alice, sender, activity("Undo", sender, renamed))).applied
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM interactions WHERE kind = 'like'") == 0
        assert await notifications_of(alice) == []


async def test_like_undone_before_it_arrives_is_not_applied(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        sender = solo_sender(bob)
        ours = await local_post(alice)
        like = activity("Like", sender, ours.ap_id)
        undo = activity("Undo", sender, {k: v for k, v in like.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert (await deliver(alice, sender, like)).ignored
        assert await notifications_of(alice) == []


async def test_block_cuts_follows_both_ways(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(alice, bob)
        await follow_solo(bob, alice)
        sender = solo_sender(bob)
        bob_row = await actor_row(alice, bob.actor)
        db = alice.federation.db
        assert await db.fetchval("SELECT COUNT(*) FROM follows WHERE actor_id = ?", (bob_row,)) == 2
        elsewhere = activity("Block", sender, "https://elsewhere.test/users/x")
        assert (await deliver(alice, sender, elsewhere)).ignored
        block = activity("Block", sender, alice.actor)
        assert (await deliver(alice, sender, block)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM follows WHERE actor_id = ?", (bob_row,)) == 0
        row = await db.fetchone("SELECT * FROM interactions WHERE kind = 'block'")
        assert row is not None
        assert (row["actor_id"], row["target_actor_id"], row["ap_id"]) == (
            bob_row,
            None,
            block["id"],
        )
        undo = activity("Undo", sender, {k: v for k, v in block.items() if k != "@context"})
        assert (await deliver(alice, sender, undo)).applied
        assert await db.fetchval("SELECT COUNT(*) FROM interactions") == 0
