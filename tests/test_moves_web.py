"""The moving page: aliases added and removed through the form (checked by WebFinger), a move
away with the password, its refusals shown on the page with nothing changed, and the undo."""

from __future__ import annotations

from pathlib import Path

from solo.store import account as account_store
from tests.conftest import PASSWORD
from tests.fleet import Node, fleet_of
from tests.test_login import login
from tests.test_web_pages import send


async def account_of(node: Node) -> account_store.Account:
    account = await account_store.get_account(node.federation.db)
    assert account is not None
    return account


async def test_aliases_and_a_move_from_the_web(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "a", "b") as (_, nodes):
        a, b = nodes["a"], nodes["b"]
        assert (await b.client.get("/settings/moving")).headers["location"] == "/login"
        for node in (a, b):
            assert (await login(node.client, username=node.settings.username)).status_code == 303
        page = await b.client.get("/settings/moving")
        assert page.status_code == 200
        assert "Move to a different account" in page.text  # what to do on Mastodon
        assert "No aliases yet." in page.text
        assert "/settings/moving" in (await b.client.get("/settings")).text

        # Refusals: said on the page, nothing kept.
        refused = await b.client.post("/settings/aliases", data={"alias": "@a@a.test"})
        assert refused.status_code == 403  # no CSRF token
        for typed, said in (
            ("not an address", "neither @user@host nor an account URL"),
            ("@nobody@nowhere.test", "Could not find @nobody@nowhere.test"),
            ("@b@b.test", "That is this account itself."),
            ("@" + "x" * 400 + "@a.test", "too long"),
        ):
            answer = await send(b.client, "/settings/aliases", alias=typed)
            assert answer.status_code == 400, typed
            assert said in answer.text, typed
        assert (await account_of(b)).aliases == ()

        added = await send(b.client, "/settings/aliases", alias="@a@a.test")
        assert added.status_code == 303
        page = await b.client.get("/settings/moving")
        assert "@a@a.test is an alias of this account" in page.text
        assert "Aliases (1 of 10)" in page.text and a.actor in page.text

        # Moving a away: the wrong password, then a target that does not alias a.
        wrong = await send(a.client, "/settings/move", target="@b@b.test", password="nope")
        assert wrong.status_code == 400 and "The current password is not right." in wrong.text
        assert 'value="@b@b.test"' in wrong.text  # what was typed stays
        await send(b.client, "/settings/aliases/remove", alias=a.actor)
        assert (await account_of(b)).aliases == ()
        unaliased = await send(a.client, "/settings/move", target="@b@b.test", password=PASSWORD)
        assert unaliased.status_code == 400
        assert "does not name this account as an alias yet" in unaliased.text
        assert (await account_of(a)).moved_to is None

        await send(b.client, "/settings/aliases", alias="@a@a.test")
        moved = await send(a.client, "/settings/move", target="@b@b.test", password=PASSWORD)
        assert moved.status_code == 303
        page = await a.client.get("/settings/moving")
        assert "This account has moved to" in page.text and "@b@b.test" in page.text
        assert (await account_of(a)).moved_to == b.actor
        assert "has moved to" in (await a.client.get("/@a")).text

        undone = await send(a.client, "/settings/move/undo")
        assert undone.status_code == 303
        page = await a.client.get("/settings/moving")
        assert "The move is undone" in page.text
        assert "another move is possible in 30 days" in page.text
        assert "has moved to" not in (await a.client.get("/@a")).text
        again = await send(a.client, "/settings/move", target="@b@b.test", password=PASSWORD)
        assert again.status_code == 400 and "you can move again in 30 days" in again.text
