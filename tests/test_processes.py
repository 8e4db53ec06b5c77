"""Real `solo serve` processes federating over sockets on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fleet import eventually
from tests.processes import SoloProcess, submit

AS = {"Accept": "application/activity+json"}


async def followers_of(node: SoloProcess) -> list[str]:
    async with node.client() as client:
        response = await client.get(f"/users/{node.name}/followers?page=true", headers=AS)
    items: list[str] = json.loads(response.text)["orderedItems"]
    return items


async def test_follow_between_processes(tmp_path: Path, template_root: Path) -> None:
    async with SoloProcess("alice", tmp_path) as alice, SoloProcess("bob", tmp_path) as bob:
        for node in (alice, bob):
            await node.initialise(template_root)
            await node.start()
        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account=f"@alice@{alice.domain}")
            assert response.status_code == 200, response.text
            assert f"@alice@{alice.domain}" in response.text

        async def followed() -> bool:
            return await followers_of(alice) == [bob.actor]

        await eventually(followed, within=20, what="alice to list bob as a follower")

        async with bob.logged_in() as browser:
            response = await submit(browser, "/", "/follow", account="@nobody@nowhere.invalid")
            assert response.status_code == 400
            assert "Could not find @nobody@nowhere.invalid" in response.text
