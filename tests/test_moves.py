"""Account moves between Solo instances: c follows a; b names a as an alias; a moves to b; c
ends up following b (even when b is locked), b's follower count grows, and everyone's pages and
API say where a went. Then the undo and the cooldown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from solo.actions import ActionError, WrongPassword
from solo.actions import follows as follow_actions
from solo.actions import moves as move_actions
from solo.federation.handlers.move import UNFOLLOW_DELAY
from solo.store import account as account_store
from solo.store import follows
from tests.conftest import PASSWORD
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import follow_solo, notifications_of
from tests.test_api_statuses import user_token
from tests.test_federation_follow import follow_state
from tests.test_login import login


async def actor_json(node: Node) -> dict[str, object]:
    response = await node.client.get(
        f"/users/{node.settings.username}", headers={"Accept": "application/activity+json"}
    )
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


async def moved_away(a: Node, b: Node, c: Node) -> None:
    """c follows a; b aliases a; a moves to b; wait until c follows b."""
    await follow_solo(c, a)
    alias = await move_actions.add_alias(b.federation, "@a@a.test")
    assert (alias.ap_id, alias.handle) == (a.actor, "a@a.test")
    assert (await actor_json(b))["alsoKnownAs"] == [a.actor]
    target = await move_actions.move_away(a.federation, "@b@b.test", PASSWORD)
    assert target.ap_id == b.actor

    async def c_follows_b() -> bool:
        return await follow_state(c, "out", b) == "accepted"

    await eventually(c_follows_b, within=20, what="c to follow b after the move")


async def test_a_move_carries_followers_to_the_new_account(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "a", "b", "c") as (_, nodes):
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        assert await follows.count_accepted(b.federation.db, "in") == 0
        await moved_away(a, b, c)
        assert await follow_state(b, "in", c) == "accepted"
        assert await follows.count_accepted(b.federation.db, "in") == 1
        # c no longer follows a; a hears of it after the delay that lets b read a's followers.
        assert await follow_state(c, "out", a) is None
        undo = await c.federation.db.fetchone(
            "SELECT jobs.next_attempt_at FROM jobs JOIN activities ON activities.id = jobs.ref"
            " WHERE activities.type = 'Undo' AND jobs.queue = 'push'"
        )
        assert undo is not None and undo[0] > time.time() + UNFOLLOW_DELAY / 2
        # a's actor says where it went; c was told with a move notification.
        assert (await actor_json(a))["movedTo"] == b.actor
        # c refetched a: its copy says where a went.
        raw = await c.federation.db.fetchval("SELECT raw FROM actors WHERE ap_id = ?", (a.actor,))
        assert json.loads(raw)["movedTo"] == b.actor
        assert [kind for kind, _, _ in await notifications_of(c)] == ["move"]

        # c's client API: the notification names the old account, with the new as its target.
        auth = await user_token(c.client, username="c")
        listed = (await c.client.get("/api/v1/notifications", headers=auth)).json()
        assert [n["type"] for n in listed] == ["move"]
        assert listed[0]["account"]["acct"] == "a@a.test"
        assert listed[0]["account"]["moved"]["acct"] == "b@b.test"
        assert listed[0]["target"]["acct"] == "b@b.test"
        # a's own API account and its profile pages say it moved.
        a_auth = await user_token(a.client, username="a")
        me = (await a.client.get("/api/v1/accounts/verify_credentials", headers=a_auth)).json()
        assert me["moved"]["acct"] == "b@b.test"
        public = await a.client.get("/@a")
        assert "has moved to" in public.text and b.actor in public.text
        assert (await login(c.client, username="c")).status_code == 303
        notified = await c.client.get("/notifications")
        assert "moved to a new account; you follow the new one now" in notified.text
        seen = await c.client.get("/@a@a.test")
        assert "has moved to" in seen.text and 'href="/@b@b.test"' in seen.text


async def test_a_locked_target_accepts_the_old_accounts_followers(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "a", "b", "c", "d") as (_, nodes):
        a, b, c, d = nodes["a"], nodes["b"], nodes["c"], nodes["d"]
        assert await account_store.update_settings(b.federation.db, locked=True)
        await moved_away(a, b, c)
        assert await follow_state(b, "in", c) == "accepted"
        assert [kind for kind, _, _ in await notifications_of(b)] == ["follow"]
        # Someone who never followed a still asks first.
        await follow_actions.follow(d.federation, "@b@b.test")

        async def requested() -> bool:
            return await follow_state(b, "in", d) == "pending"

        await eventually(requested, what="d's request to wait at b")
        # a has moved: Mastodon refuses it new followers, and so does Solo.
        await follow_actions.follow(d.federation, "@a@a.test")

        async def refused() -> bool:
            return await follow_state(d, "out", a) is None

        await eventually(refused, what="a to reject d's follow")
        assert await follow_state(a, "in", d) is None


async def test_a_move_needs_the_target_to_alias_us_and_the_password(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "a", "b") as (_, nodes):
        a, b = nodes["a"], nodes["b"]
        with pytest.raises(WrongPassword):
            await move_actions.move_away(a.federation, "@b@b.test", "wrong")
        with pytest.raises(ActionError, match="does not name this account as an alias"):
            await move_actions.move_away(a.federation, "@b@b.test", PASSWORD)
        with pytest.raises(ActionError, match="this account itself"):
            await move_actions.move_away(a.federation, "@a@a.test", PASSWORD)
        account = await account_store.get_account(a.federation.db)
        assert account is not None and account.moved_to is None
        assert "movedTo" not in await actor_json(a)
        assert (
            await a.federation.db.fetchval("SELECT COUNT(*) FROM activities WHERE type = 'Move'")
            == 0
        )

        await move_actions.add_alias(b.federation, "@a@a.test")
        # The alias reaches b's followers' servers in an Update(Person).
        update = await b.federation.db.fetchval(
            "SELECT body FROM activities WHERE type = 'Update' ORDER BY id DESC LIMIT 1"
        )
        assert json.loads(update)["object"]["alsoKnownAs"] == [a.actor]
        await move_actions.move_away(a.federation, "@b@b.test", PASSWORD)
        with pytest.raises(ActionError, match="already moved"):
            await move_actions.move_away(a.federation, "@b@b.test", PASSWORD)
        # The undo clears movedTo and tells followers; another move waits 30 days.
        await move_actions.undo_move(a.federation)
        assert "movedTo" not in await actor_json(a)
        with pytest.raises(ActionError, match="30 days"):
            await move_actions.move_away(a.federation, "@b@b.test", PASSWORD)
        # Posting still works, and a moved account refuses new followers as Mastodon does.
        await move_actions.add_alias(b.federation, "@a@a.test")  # idempotent
        account = await account_store.get_account(b.federation.db)
        assert account is not None and len(account.aliases) == 1
        await move_actions.remove_alias(b.federation, a.actor)
        assert "alsoKnownAs" not in await actor_json(b)
        with pytest.raises(ActionError, match="not one of your aliases"):
            await move_actions.remove_alias(b.federation, a.actor)
