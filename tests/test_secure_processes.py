"""Secure mode and limited federation between real `solo serve` processes, configured through
their environment as an admin would: alice in limited federation allowing bob, bob in secure
mode, carol open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.fleet import eventually
from tests.processes import SoloProcess, submit

AS = {"Accept": "application/activity+json"}


def follower_ids(node: SoloProcess) -> list[str]:
    uri = f"file:{node.settings.db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT actors.ap_id FROM follows JOIN actors ON actors.id = follows.actor_id"
            " WHERE follows.direction = 'in' AND follows.state = 'accepted'"
        )
        return [str(row[0]) for row in rows]


async def test_limited_and_secure_processes(tmp_path: Path, template_root: Path) -> None:
    bob = SoloProcess("bob", tmp_path, SOLO_AUTHORIZED_FETCH="true")
    alice = SoloProcess(
        "alice", tmp_path, SOLO_LIMITED_FEDERATION="true", SOLO_FEDERATION_ALLOWLIST=bob.domain
    )
    async with bob, alice, SoloProcess("carol", tmp_path) as carol:
        for node in (alice, bob, carol):
            await node.initialise(template_root)
            await node.start()
        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code == 200, response.text

        async def bob_follows() -> bool:
            return follower_ids(alice) == [bob.actor]

        await eventually(bob_follows, within=20, what="alice to accept bob")

        # carol is outside alice's circle: even alice's actor is refused to her signed fetch.
        async with carol.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code == 400
            assert f"{alice.actor} answered 403" in response.text

        # Unsigned GETs of what alice and bob publish are refused; their actors answer.
        for node in (alice, bob):
            async with node.client() as client:
                outbox = await client.get(f"/users/{node.name}/outbox", headers=AS)
                assert outbox.status_code == 401
                actor = await client.get(f"/users/{node.name}", headers=AS)
                assert actor.status_code == 200 and "publicKey" in actor.json()

        # alice in her circle: a lookup of carol is refused before anything is sent.
        async with alice.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@carol@{carol.domain}")
            assert response.status_code == 400
            assert "limited federation" in response.text
        assert follower_ids(alice) == [bob.actor]
