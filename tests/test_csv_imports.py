"""CSV import and export over several instances: what alice exports, a fresh instance imports
from the settings page with the same sets as the result; importing again changes nothing;
overwrite undoes what the file does not name; refused files store nothing; the pages show
progress, counts and each line not imported with why."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from solo.actions import blocks, bookmarks
from solo.actions import domain_blocks as domain_actions
from solo.store import actors as actor_store
from solo.store import csv_imports as store
from solo.store.csv_imports import Import
from tests.fleet import Node, eventually, fleet_of
from tests.test_login import login
from tests.test_web_federation import copy_of, follow_state
from tests.test_web_pages import send, token

KINDS = ("following", "blocks", "mutes", "domain-blocks", "bookmarks")


async def upload(
    client: httpx.AsyncClient, kind: str, text: str | bytes, *, mode: str = "merge"
) -> httpx.Response:
    data = text.encode() if isinstance(text, str) else text
    return await client.post(
        "/settings/import",
        data={"csrf": await token(client), "kind": kind, "mode": mode},
        files={"file": (f"{kind}.csv", data, "text/csv")},
    )


async def finished(node: Node, response: httpx.Response) -> Import:
    """The import a successful upload made, once it has run."""
    assert response.status_code == 303, response.text
    import_id = int(response.headers["location"].rsplit("/", 1)[1])
    done: list[Import] = []

    async def ran() -> bool:
        job = await store.get(node.federation.db, import_id)
        assert job is not None
        if not job.running:
            done.append(job)
        return bool(done)

    await eventually(ran, within=30, what=f"import {import_id} to finish")
    return done[0]


async def exported(client: httpx.AsyncClient, kind: str) -> list[list[str]]:
    response = await client.get(f"/settings/export/{kind}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


async def imports_count(node: Node) -> int:
    return int(await node.federation.db.fetchval("SELECT COUNT(*) FROM csv_imports"))


async def _actor(node: Node, other: Node) -> actor_store.RemoteActor:
    actor = await node.federation.resolver.actor(other.actor)
    assert actor.id is not None
    return actor


async def _set_up_alice(alice: Node, bob: Node, carol: Node, dave: Node) -> None:
    for other in (bob, carol):
        await send(
            alice.client, "/follow", account=f"@{other.settings.username}@{other.settings.domain}"
        )

        async def accepted(other: Node = other) -> bool:
            return await follow_state(alice, "out", other) == "accepted"

        await eventually(accepted, what=f"alice to follow {other.settings.domain}")
    await blocks.block(alice.federation, await _actor(alice, dave))
    await blocks.mute(alice.federation, await _actor(alice, carol), notifications=False, duration=0)
    await domain_actions.block(alice.federation, [("spam.example", ""), ("junk.example", "")])
    await send(bob.client, "/statuses", text="Worth keeping", visibility="public")
    await bookmarks.bookmark(alice.federation, await copy_of(alice, "Worth keeping"))


async def test_exports_from_one_instance_import_into_another_with_the_same_sets(
    tmp_path: Path, template_root: Path
) -> None:
    names = ("alice", "bob", "carol", "dave", "nova")
    async with fleet_of(tmp_path, template_root, *names) as (_, nodes):
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        alice, nova = nodes["alice"], nodes["nova"]
        await _set_up_alice(alice, nodes["bob"], nodes["carol"], nodes["dave"])
        files = {kind: await alice.client.get(f"/settings/export/{kind}.csv") for kind in KINDS}
        following = list(csv.reader(io.StringIO(files["following"].text)))
        assert following[0] == [
            "Account address",
            "Show boosts",
            "Notify on new posts",
            "Languages",
        ]
        assert sorted(row[0] for row in following[1:]) == ["bob@bob.test", "carol@carol.test"]
        assert files["blocks"].text == "dave@dave.test\n"
        assert files["mutes"].text == "Account address,Hide notifications\ncarol@carol.test,false\n"
        assert sorted(files["domain-blocks"].text.split()) == ["junk.example", "spam.example"]
        assert files["bookmarks"].text.startswith("https://bob.test/users/bob/statuses/")

        for kind in KINDS:
            job = await finished(nova, await upload(nova.client, kind, files[kind].text))
            assert (job.state, job.failed) == ("done", 0), kind
        for kind in KINDS:
            ours, theirs = await exported(alice.client, kind), await exported(nova.client, kind)
            assert sorted(ours) == sorted(theirs), kind
        assert await follow_state(nova, "out", nodes["bob"]) in ("pending", "accepted")

        # Again: every line is found done already, and nothing is sent twice.
        deliveries = await nova.federation.db.fetchval(
            "SELECT COUNT(*) FROM jobs WHERE queue = 'push'"
        )
        again = await finished(
            nova, await upload(nova.client, "following", files["following"].text)
        )
        assert (again.added, again.skipped, again.failed) == (0, 2, 0)
        assert (
            await nova.federation.db.fetchval("SELECT COUNT(*) FROM jobs WHERE queue = 'push'")
            == deliveries
        )
        page = await nova.client.get(f"/settings/import/{again.id}")
        assert "already followed" in page.text and "0 added · 2 skipped · 0 failed" in page.text


async def test_overwrite_undoes_what_the_file_does_not_name(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "carol", "dave") as (_, nodes):
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        alice, bob, carol, dave = nodes["alice"], nodes["bob"], nodes["carol"], nodes["dave"]
        await _set_up_alice(alice, bob, carol, dave)
        job = await finished(
            alice,
            await upload(alice.client, "following", "bob@bob.test\n", mode="overwrite"),
        )
        assert (job.added, job.skipped, job.removed) == (0, 1, 1)
        assert await follow_state(alice, "out", carol) is None
        assert await follow_state(alice, "out", bob) == "accepted"

        async def carol_told() -> bool:
            return await follow_state(carol, "in", alice) is None

        await eventually(carol_told, what="carol to receive the Undo")

        job = await finished(
            alice,
            await upload(
                alice.client, "domain-blocks", "junk.example\nnew.example\n", mode="overwrite"
            ),
        )
        assert (job.added, job.skipped, job.removed) == (1, 1, 1)
        assert sorted(await exported(alice.client, "domain-blocks")) == [
            ["junk.example"],
            ["new.example"],
        ]

        # A merge keeps what is there and adds what is new; failures are listed with why.
        text = "Account address,Hide notifications\ndave@dave.test,true\nnobody@nowhere.test,true\n"
        job = await finished(alice, await upload(alice.client, "mutes", text))
        assert (job.added, job.skipped, job.failed) == (1, 0, 1)
        assert sorted(await exported(alice.client, "mutes")) == sorted(
            [
                ["Account address", "Hide notifications"],
                ["carol@carol.test", "false"],
                ["dave@dave.test", "true"],
            ]
        )
        page = await alice.client.get(f"/settings/import/{job.id}")
        assert "nobody@nowhere.test" in page.text and "Failed:" in page.text


BAD_FILES = [
    ("following", b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a text file"),
    ("following", "caf\xe9@x.test\n".encode("latin-1"), "not UTF-8"),
    ("following", b"", "empty"),
    ("following", b"name,email\nann,ann@example.com\n", "neither a header"),
    (
        "following",
        b"Account address,Hide notifications\nann@x.test,true\n",
        "Mastodon&#39;s “Muted accounts” export",
    ),
    (
        "mutes",
        b"Account address,Show boosts,Notify on new posts,Languages\na@x.test,true,false,\n",
        "Mastodon&#39;s “Follows” export",
    ),
    ("bookmarks", b"#domain\nx.test\n", "no #uri column"),
    ("blocks", b"not an address\nalso not\n", "neither a header"),
    ("following", b"Account address\n", "a header and nothing else"),
    (
        "following",
        "".join(f"u{i}@h.test\n" for i in range(100_000)).encode(),
        "more than 20,000 lines",
    ),
    ("domain-blocks", b"\x00\x01", "not a text file"),
    ("nonsense", b"a@b.test\n", "not something Solo imports"),
]


@pytest.mark.parametrize(("kind", "data", "message"), BAD_FILES)
async def test_a_file_that_cannot_be_imported_is_refused_whole_with_why(
    client: httpx.AsyncClient, kind: str, data: bytes, message: str
) -> None:
    assert (await login(client)).status_code == 303
    response = await upload(client, kind, data)
    assert response.status_code == 422
    assert message in response.text and "Nothing was imported." in response.text
    app_db = client._transport.app.state.federation.db  # type: ignore[attr-defined]
    assert await app_db.fetchval("SELECT COUNT(*) FROM csv_imports") == 0


async def test_the_import_page_needs_a_login_and_a_csrf_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/settings/import")).status_code == 303
    assert (await client.get("/settings/export/following.csv")).status_code == 303
    assert (await login(client)).status_code == 303
    forged = await client.post(
        "/settings/import",
        data={"csrf": "forged", "kind": "blocks", "mode": "merge"},
        files={"file": ("blocks.csv", b"a@b.test\n", "text/csv")},
    )
    assert forged.status_code == 403
    app_db = client._transport.app.state.federation.db  # type: ignore[attr-defined]
    assert await app_db.fetchval("SELECT COUNT(*) FROM csv_imports") == 0
    page = await client.get("/settings/import")
    assert page.status_code == 200 and 'action="/settings/import"' in page.text
    assert (await client.get("/settings/export/nothing.csv")).status_code == 404
    assert (await client.get("/settings/import/999")).status_code == 404


async def test_lists_round_trip(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob", "nova") as (_, nodes):
        for node in nodes.values():
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        alice, nova = nodes["alice"], nodes["nova"]
        job = await finished(alice, await upload(alice.client, "lists", "Friends,bob@bob.test\n"))
        assert (job.added, job.failed) == (1, 0)
        text = (await alice.client.get("/settings/export/lists.csv")).text
        assert text == "Friends,bob@bob.test\n"
        await finished(nova, await upload(nova.client, "lists", text))
        assert (await nova.client.get("/settings/export/lists.csv")).text == text
