"""Hostile requests to the inbox: each gets its expected answer, and nothing is stored."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from solo.app import create_app
from solo.federation.signatures import sign_headers
from solo.store import hosts
from solo.store.actors import RemoteActor, upsert_actor
from solo.store.follows import put_follow
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Node, eventually, fleet_of

AS_TYPE = "application/activity+json"


def like(actor: str, target: str, n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#likes/{n}",
        "type": "Like",
        "actor": actor,
        "object": target,
    }


def signed(
    node: Node,
    target: Node,
    activity: dict[str, Any] | bytes,
    *,
    key_id: str | None = None,
    now: float | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> tuple[bytes, dict[str, str]]:
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = {"Content-Type": AS_TYPE}
    headers.update(
        sign_headers(
            "POST",
            f"{target.settings.base_url}/inbox",
            headers,
            body,
            key_id=key_id or f"{node.actor}#main-key",
            private_key=key or node.app.state.instance.user_keys.private_key(),
            now=now,
        )
    )
    return body, headers


def signed_over(
    node: Node, target: Node, body: bytes, names: list[str], *, host: str | None = None
) -> dict[str, str]:
    """A draft-cavage signature over exactly `names`, to build requests our signer refuses."""
    values = {
        "(request-target)": "post /inbox",
        "host": host or target.settings.domain,
        "date": formatdate(time.time(), usegmt=True),
        "digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "content-type": AS_TYPE,
    }
    text = "\n".join(f"{name}: {values[name]}" for name in names)
    key = node.app.state.instance.user_keys.private_key()
    signature = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()))
    return {
        "Host": values["host"],
        "Date": values["date"],
        "Digest": values["digest"],
        "Content-Type": AS_TYPE,
        "Signature": f'keyId="{node.actor}#main-key",algorithm="rsa-sha256",'
        f'headers="{" ".join(names)}",signature="{signature.decode()}"',
    }


async def stored(node: Node) -> dict[str, int]:
    db = node.federation.db
    counts = {}
    for table in ("jobs", "activities", "statuses", "interactions", "notifications"):
        counts[table] = int(await db.fetchval(f"SELECT COUNT(*) FROM {table}"))
    return counts


NOTHING = {"jobs": 0, "activities": 0, "statuses": 0, "interactions": 0, "notifications": 0}

Case = Callable[[Node, Node], tuple[bytes, dict[str, str]]]


def _unsigned(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return json.dumps(like(bob.actor, alice.actor)).encode(), {"Content-Type": AS_TYPE}


def _bad_signature(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    body, headers = signed(bob, alice, like(bob.actor, alice.actor))
    headers["Signature"] = headers["Signature"].replace('signature="', 'signature="AAAA')
    return body, headers


def _wrong_digest(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    body, headers = signed(bob, alice, like(bob.actor, alice.actor))
    return body.replace(b"Like", b"Announce"), headers


def _digest_not_signed(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(like(bob.actor, alice.actor)).encode()
    return body, signed_over(bob, alice, body, ["(request-target)", "host", "date"])


def _host_not_signed(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(like(bob.actor, alice.actor)).encode()
    return body, signed_over(bob, alice, body, ["(request-target)", "date", "digest"])


def _other_host(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(like(bob.actor, alice.actor)).encode()
    names = ["(request-target)", "host", "date", "digest"]
    return body, signed_over(bob, alice, body, names, host="elsewhere.test")


def _stale(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, like(bob.actor, alice.actor), now=time.time() - 2 * 3600)


def _future(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, like(bob.actor, alice.actor), now=time.time() + 2 * 3600)


def _signer_is_not_actor(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, like("https://carol.test/users/carol", alice.actor))


def _wrong_key(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return signed(bob, alice, like(bob.actor, alice.actor), key=other)


def _invalid_json(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, b'{"type": "Like", "actor": ')


def _not_an_object(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, b'["Like"]')


def _no_actor(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return signed(bob, alice, {"type": "Like", "id": "https://bob.test/x"})


def _oversized(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    activity = like(bob.actor, alice.actor)
    activity["padding"] = "x" * (1024 * 1024)
    return signed(bob, alice, activity)


def _deep(levels: int) -> Case:
    def case(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
        activity = like(bob.actor, alice.actor)
        nested = "[" * levels + "]" * levels
        body = json.dumps(activity)[:-1] + f', "tag": {nested}}}'
        return signed(bob, alice, body.encode())

    return case


def _deep_unsigned(bob: Node, alice: Node) -> tuple[bytes, dict[str, str]]:
    return b"[" * 1000 + b"]" * 1000, {"Content-Type": AS_TYPE}


HOSTILE: list[tuple[str, Case, int, str]] = [
    ("unsigned", _unsigned, 401, "not signed"),
    ("bad signature", _bad_signature, 401, "signature"),
    ("wrong digest", _wrong_digest, 401, "Digest"),
    ("digest not signed", _digest_not_signed, 401, "digest"),
    ("host not signed", _host_not_signed, 401, "host"),
    ("signed for another host", _other_host, 401, "not this server"),
    ("stale date", _stale, 401, ""),
    ("future date", _future, 401, ""),
    ("signer is not the actor", _signer_is_not_actor, 401, "activity's actor"),
    ("key of someone else", _wrong_key, 401, "signature"),
    ("invalid JSON", _invalid_json, 400, "not valid JSON"),
    ("JSON that is not an object", _not_an_object, 400, "object"),
    ("no actor", _no_actor, 400, "actor"),
    ("oversized body", _oversized, 413, "too large"),
    ("nested 1000 deep, unsigned", _deep_unsigned, 400, "nested deeper"),
    ("nested 1000 deep", _deep(1000), 400, "nested deeper"),
    ("nested 200 deep", _deep(200), 400, "nested deeper"),
]


@pytest.mark.parametrize(("name", "case", "status", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_hostile_request(
    tmp_path: Path, template_root: Path, name: str, case: Case, status: int, reason: str
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = case(bob, alice)
        response = await alice.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == status, response.text
        assert reason.lower() in response.text.lower()
        assert await stored(alice) == NOTHING


async def test_blocked_domain_is_403(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await hosts.block_domain(alice.federation.db, "bob.test")
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        before = len(fleet.requests)
        response = await alice.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 403
        assert "blocked" in response.text
        assert len(fleet.requests) == before  # refused before fetching any key
        assert await stored(alice) == NOTHING


async def test_unknown_actor_deleting_itself_is_202_without_a_fetch(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        gone = "https://gone.test/users/x"
        activity = {"id": f"{gone}#delete", "type": "Delete", "actor": gone, "object": gone}
        response = await alice.client.post(
            "/inbox", content=json.dumps(activity), headers={"Content-Type": AS_TYPE}
        )
        assert response.status_code == 202
        assert fleet.requests == []
        assert await stored(alice) == NOTHING


async def test_a_replayed_activity_is_applied_once(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        for _ in range(3):
            response = await alice.client.post("/inbox", content=body, headers=headers)
            assert response.status_code == 202
        assert (await stored(alice))["activities"] == 1
        assert (await stored(alice))["jobs"] == 1


async def test_the_inbox_of_an_unknown_user_is_404(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        response = await alice.client.post("/users/nobody/inbox", content=body, headers=headers)
        assert response.status_code == 404
        personal = await alice.client.post("/users/alice/inbox", content=body, headers=headers)
        assert personal.status_code == 401  # signed for /inbox, not this path
        assert (await stored(alice))["jobs"] == 0


@pytest.mark.parametrize(
    "origin",
    [
        "https://127.0.0.1",
        "https://10.0.0.1",
        "https://169.254.169.254",
        "https://[::1]",
        "https://[64:ff9b::7f00:1]",
        "https://localhost",
    ],
)
async def test_ssrf_key_ids_are_refused_without_connecting(
    tmp_path: Path, template_root: Path, origin: str
) -> None:
    """A real instance (no test transport): the address policy must stop the key fetch."""
    settings = make_settings(tmp_path / "alice", domain="alice.example", username="alice")
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            actor = f"{origin}/users/evil"
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            body = json.dumps(like(actor, f"{settings.base_url}/users/alice")).encode()
            headers = {"Content-Type": AS_TYPE}
            headers.update(
                sign_headers(
                    "POST",
                    f"{settings.base_url}/inbox",
                    headers,
                    body,
                    key_id=f"{actor}#main-key",
                    private_key=key,
                )
            )
            response = await client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 401
        assert "signing key" in response.text
        db = app.state.instance.db
        assert await db.fetchval("SELECT COUNT(*) FROM actors") == 0
        assert await db.fetchval("SELECT COUNT(*) FROM jobs") == 0


async def test_a_valid_signed_request_is_accepted(tmp_path: Path, template_root: Path) -> None:
    """The control case: the same request, correctly signed, is accepted and queued."""
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        body, headers = signed(bob, alice, like(bob.actor, alice.actor))
        response = await alice.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 202

        async def settled() -> bool:
            state = await alice.federation.db.fetchval("SELECT state FROM jobs")
            return state in ("done", "dead")

        await eventually(settled, what="the ingress job to settle")


SSRF_OBJECTS = [
    "https://127.0.0.1/notes/1",
    "https://10.0.0.1/notes/1",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/notes/1",
    "https://[64:ff9b::7f00:1]/notes/1",
    "https://localhost/notes/1",
]


@pytest.mark.parametrize("target", SSRF_OBJECTS)
async def test_ssrf_object_ids_are_never_fetched(
    tmp_path: Path, template_root: Path, target: str
) -> None:
    """A followed remote actor boosts an object at a private address: nothing is fetched."""
    settings = make_settings(tmp_path / "alice", domain="alice.example", username="alice")
    await initialise_fast(settings, template_root)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    actor = "https://remote.example/users/m"
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.instance.db
        # The booster is known and followed: its key is cached, so no fetch is needed for it.
        async with db.transaction() as conn:
            actor_id = await upsert_actor(
                conn,
                RemoteActor(
                    ap_id=actor,
                    type="Person",
                    username="m",
                    domain="remote.example",
                    inbox=f"{actor}/inbox",
                    shared_inbox=None,
                    key_id=f"{actor}#main-key",
                    public_key_pem=pem.decode(),
                ),
            )
            await put_follow(conn, "out", actor_id, "https://alice.example/f/1", "accepted")
        announce = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor}/statuses/1/activity",
            "type": "Announce",
            "actor": actor,
            "object": target,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        }
        body = json.dumps(announce).encode()
        headers = {"Content-Type": AS_TYPE}
        headers.update(
            sign_headers(
                "POST",
                f"{settings.base_url}/inbox",
                headers,
                body,
                key_id=f"{actor}#main-key",
                private_key=key,
            )
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            response = await client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 202

        async def settled() -> bool:
            state = await db.fetchval("SELECT state FROM jobs WHERE queue = 'ingress'")
            return state in ("done", "dead")

        await eventually(settled, what="the Announce to be handled")
        row = await db.fetchone("SELECT state, last_error FROM jobs WHERE queue = 'ingress'")
        assert row is not None and row["state"] == "dead"  # refused for good, never retried
        assert "not a public address" in row["last_error"]
        assert await db.fetchval("SELECT COUNT(*) FROM statuses") == 0


async def test_a_create_of_an_object_on_another_host_stores_nothing(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        note = {
            "id": "https://alice.test/users/alice/statuses/999",  # claims to be alice's
            "type": "Note",
            "attributedTo": bob.actor,
            "content": "forged",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [alice.actor],
        }
        create = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{bob.actor}/forged/activity",
            "type": "Create",
            "actor": bob.actor,
            "object": note,
        }
        body, headers = signed(bob, alice, create)
        response = await alice.client.post("/inbox", content=body, headers=headers)
        assert response.status_code == 202

        async def settled() -> bool:
            state = await alice.federation.db.fetchval("SELECT state FROM jobs")
            return state in ("done", "dead")

        await eventually(settled, what="the Create to be handled")
        assert await alice.federation.db.fetchval("SELECT state FROM jobs") == "dead"
        assert (await stored(alice))["statuses"] == 0
