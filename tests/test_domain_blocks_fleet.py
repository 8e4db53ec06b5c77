"""Domain blocks over three instances: blocking bob.test from alice's settings page ends the
follows both ways, purges bob's cached files (a subdomain's too), stops deliveries (queued ones
dropped, new ones never queued), hides bob's posts and carol's boost of one from every page and
API list, and refuses bob's inbox deliveries and every fetch of his URLs; unblocking shows what
was kept again."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo.net.fetch import ForbiddenAddress
from solo.store import actors as actor_store
from tests.fleet import Node, eventually, fleet_of
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_media_cache import Pictures, cached_files, cached_urls, proxied
from tests.test_web_federation import copy_of, follow_state, kinds_of
from tests.test_web_pages import send


async def _mutual(a: Node, b: Node) -> None:
    await send(a.client, "/follow", account=f"@{b.settings.username}@{b.settings.domain}")
    await send(b.client, "/follow", account=f"@{a.settings.username}@{a.settings.domain}")

    async def both() -> bool:
        return (
            await follow_state(a, "out", b) == "accepted"
            and await follow_state(b, "out", a) == "accepted"
        )

    await eventually(both, what=f"{a.settings.domain} and {b.settings.domain} to follow")


async def _push_jobs(node: Node, host: str) -> dict[str, int]:
    """The push jobs to `host` not delivered, by state."""
    rows = await node.federation.db.fetchall(
        "SELECT state, COUNT(*) FROM jobs WHERE queue = 'push' AND host = ? AND state != 'done'"
        " GROUP BY state",
        (host,),
    )
    return {row[0]: row[1] for row in rows}


async def test_a_domain_block_cuts_a_server_off_and_lifting_it_shows_its_posts(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol") as (fleet, nodes):
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        await _mutual(alice, bob)
        await _mutual(alice, carol)
        await _mutual(carol, bob)
        await send(bob.client, "/statuses", text="Hello from bob", visibility="public")
        bob_post = await copy_of(alice, "Hello from bob")
        boosted = await copy_of(carol, "Hello from bob")
        await send(carol.client, f"/statuses/{boosted}/boost", back="/")

        async def boost_arrived() -> bool:
            return bool(
                await alice.federation.db.fetchval(
                    "SELECT 1 FROM statuses WHERE reblog_of_id = ?", (bob_post,)
                )
            )

        await eventually(boost_arrived, what="carol's boost of bob's post to reach alice")
        home = await alice.client.get("/")
        assert home.text.count("Hello from bob") == 1  # the post, the boost shown once
        for path in ("/federated", "/@carol@carol.test"):
            assert "Hello from bob" in (await alice.client.get(path)).text, path
        auth = await user_token(alice.client)
        search = {"q": "bob", "type": "accounts"}
        found = await alice.client.get("/api/v2/search", params=search, headers=auth)
        assert [a["acct"] for a in found.json()["accounts"]] == ["bob@bob.test"]
        assert "follow" in await kinds_of(alice)

        # Files in alice's media cache: on a subdomain of bob.test, and on an unrelated host.
        bob_pics, other_pics = Pictures(), Pictures()
        fleet.add("pics.bob.test", bob_pics.app)
        fleet.add("pics.test", other_pics.app)
        bob_file, other_file = "https://pics.bob.test/a.png", "https://pics.test/b.png"
        for url in (bob_file, other_file):
            assert (await alice.client.get(proxied(alice, url))).status_code == 200
        assert await cached_urls(alice) == {bob_file, other_file}
        assert len(cached_files(alice)) == 2

        # A delivery to bob waits for a retry while bob.test is down.
        fleet.down.add("bob.test")
        await send(alice.client, "/statuses", text="While bob is down", visibility="public")

        async def retrying() -> bool:
            return "retrying" in await _push_jobs(alice, "bob.test")

        await eventually(retrying, what="the delivery to bob to wait for a retry")
        fleet.down.discard("bob.test")

        added = await send(
            alice.client, "/settings/domain_blocks", domain="BOB.test", reason="spam"
        )
        assert added.status_code == 303
        page = await alice.client.get("/settings/domain_blocks")
        assert "bob.test" in page.text and "spam" in page.text
        assert "bob.test is blocked" in page.text

        # Follows both ways are gone; nothing was sent to bob for it.
        assert await follow_state(alice, "out", bob) is None
        assert await follow_state(alice, "in", bob) is None
        assert await follow_state(alice, "out", carol) == "accepted"
        # bob's cached file went, row and file; the other stayed.
        assert await cached_urls(alice) == {other_file}
        assert len(cached_files(alice)) == 1
        # The queued delivery to bob is dropped; a new post is queued for carol only.
        assert await _push_jobs(alice, "bob.test") == {"dead": 1}
        await send(alice.client, "/statuses", text="After the block", visibility="public")
        await copy_of(carol, "After the block")
        assert await _push_jobs(alice, "bob.test") == {"dead": 1}

        # bob's post and carol's boost of it are gone from every page and list.
        for path in ("/", "/federated", "/notifications", "/@carol@carol.test"):
            shown = await alice.client.get(path)
            assert shown.status_code == 200, path
            assert "Hello from bob" not in shown.text, path
        assert not await alice.federation.db.fetchval(
            "SELECT COUNT(*) FROM notifications n JOIN actors a ON a.id = n.actor_id"
            " WHERE a.domain = 'bob.test'"
        )
        api_home = await alice.client.get("/api/v1/timelines/home", headers=auth)
        assert "Hello from bob" not in api_home.text
        single = await alice.client.get(f"/api/v1/statuses/{bob_post}", headers=auth)
        assert single.status_code == 404
        found = await alice.client.get("/api/v2/search", params=search, headers=auth)
        assert found.json()["accounts"] == []
        blocks = await alice.client.get("/api/v1/domain_blocks", headers=auth)
        assert blocks.json() == ["bob.test"]

        # bob's new posts are refused at alice's inbox (403), and nothing of his is fetched.
        await send(bob.client, "/statuses", text="Still there?", visibility="public")

        async def refused() -> bool:
            rows = await bob.federation.db.fetchall(
                "SELECT last_error FROM jobs WHERE queue = 'push' AND host = 'alice.test'"
                " AND state = 'dead'"
            )
            return any("403" in str(row[0]) for row in rows)

        await eventually(refused, what="alice's inbox to refuse bob")
        assert not await alice.federation.db.fetchval(
            "SELECT 1 FROM statuses WHERE content_html LIKE '%Still there%'"
        )
        with pytest.raises(ForbiddenAddress, match="blocked domain"):
            await alice.federation.fetcher.get_activity(bob.actor, auth=None)
        fetches = len(bob_pics.hits)
        again = await alice.client.get(proxied(alice, "https://pics.bob.test/c.png"))
        assert again.status_code == 404 and len(bob_pics.hits) == fetches

        # Lifted: the kept post shows again (the follows stay ended).
        removed = await send(alice.client, "/settings/domain_blocks/remove", domain="bob.test")
        assert removed.status_code == 303
        assert "Hello from bob" in (await alice.client.get("/federated")).text
        assert await follow_state(alice, "out", bob) is None
        assert await actor_store.get_actor(alice.federation.db, bob.actor) is not None
        assert "You block no domain." in (await alice.client.get("/settings/domain_blocks")).text
