"""Reports both ways: alice reports bob and a post of his from the web form, the Flag goes out
signed by her instance actor, and bob sees it as an `admin.report` notification (API and web)
and on his Reports page; POST /api/v1/reports with its refusals; incoming Flags from a fake
server's instance actor: objects not ours ignored, 10,000 objects refused, and the per-host
rate limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from solo.store import refusals
from tests.fleet import Node, eventually, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    Sender,
    activity,
    deliver,
    follow_solo,
    local_post,
    notifications_of,
)
from tests.test_api_statuses import user_token
from tests.test_login import login
from tests.test_web_federation import copy_of
from tests.test_web_pages import count, federation_of, send
from tests.test_web_queries import Builder

REPORT_KEYS = {
    "id", "action_taken", "action_taken_at", "category", "comment", "forwarded", "created_at",
    "status_ids", "rule_ids", "target_account",
}  # fmt: skip


async def _bob_posts(alice: Node, bob: Node) -> tuple[int, int, int]:
    """bob posts twice; the row ids of both at alice, and of the first at bob."""
    await follow_solo(alice, bob)
    assert (await login(bob.client, username="bob")).status_code == 303
    await send(bob.client, "/statuses", text="First post, to be reported", back="/")
    await send(bob.client, "/statuses", text="Second post, harmless", back="/")
    first = await copy_of(alice, "First post, to be reported")
    second = await copy_of(alice, "Second post, harmless")
    own_first = await copy_of(bob, "First post, to be reported")
    return first, second, own_first


async def test_a_report_arrives_as_a_notification_with_the_posts_it_names(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (fleet, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        first, second, own_first = await _bob_posts(alice, bob)
        assert (await login(alice.client)).status_code == 303

        # The form: reached from the post's menu, with that post ticked and his others offered.
        timeline = await alice.client.get("/")
        assert f'href="/@bob@bob.test/report?status={first}"' in timeline.text
        profile = await alice.client.get("/@bob@bob.test")
        assert 'href="/@bob@bob.test/report"' in profile.text
        form = await alice.client.get(f"/@bob@bob.test/report?status={first}")
        assert form.status_code == 200
        assert f'name="status" value="{first}" checked' in form.text
        assert f'name="status" value="{second}">' in form.text
        assert "Send the report to bob.test too" in form.text

        sent = await send(
            alice.client,
            "/@bob@bob.test/report",
            status=str(first),
            comment="Spam links\nin every reply",
            category="spam",
            forward="1",
        )
        assert sent.status_code == 303 and sent.headers["location"] == "/reports"

        async def reported() -> bool:
            return [n[0] for n in await notifications_of(bob)] == ["follow", "admin.report"]

        await eventually(reported, what="the report to reach bob")
        # Signed by alice's instance actor, not by alice.
        flags = [r for r in fleet.requests if r.method == "POST" and b'"Flag"' in r.content]
        assert len(flags) == 1
        assert 'keyId="https://alice.test/actor#main-key"' in flags[0].headers["signature"]

        api = await user_token(bob.client, username="bob")
        listed = await bob.client.get("/api/v1/notifications?types[]=admin.report", headers=api)
        (entity,) = listed.json()
        assert entity["type"] == "admin.report"
        assert entity["account"]["url"] == "https://alice.test"
        report = entity["report"]
        assert set(report) == REPORT_KEYS
        assert report["status_ids"] == [str(own_first)]
        assert report["comment"] == "Spam links\nin every reply"
        assert report["forwarded"] is True
        assert report["target_account"]["username"] == "bob"

        page = await bob.client.get("/notifications")
        assert (
            "The server <strong>alice.test</strong> reported you" in page.text
            and 'href="/reports"' in page.text
        )
        reports = await bob.client.get("/reports")
        assert "Spam links\nin every reply" in reports.text
        assert "First post, to be reported" in reports.text
        assert "Second post, harmless" not in reports.text
        assert "From the server <strong>alice.test</strong>" in reports.text

        async def delivered() -> bool:
            text = (await alice.client.get("/reports")).text
            return "Sent to bob.test" in text

        await eventually(delivered, what="alice's report to show as delivered")
        mine = (await alice.client.get("/reports")).text
        assert "Spam" in mine and "Spam links\nin every reply" in mine
        assert "First post, to be reported" in mine


async def _zed_and_yan(app: Starlette) -> tuple[Builder, int, int, int]:
    """Zed (remote.test) with a post, and Yan (elsewhere.test) with one: their row ids."""
    built = Builder(app)
    await built.setup()
    zed_post = await built.add(remote=True)
    async with federation_of(app).db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at)"
            " VALUES ('https://elsewhere.test/users/yan', 'yan', 'elsewhere.test',"
            " 'https://elsewhere.test/users/yan/inbox', '{}', 0)"
        )
        yan = int(cursor.lastrowid or 0)
    zed, built.zed = built.zed, yan  # the Builder writes its remote posts as `zed`'s
    yan_post = await built.add(remote=True)
    built.zed = zed
    return built, zed_post, yan, yan_post


async def test_api_report_kept_here_when_not_forwarded(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    built, zed_post, _, _ = await _zed_and_yan(app)
    auth = await user_token(client)
    response = await client.post(
        "/api/v1/reports",
        data={"account_id": str(built.zed), "status_ids[]": [str(zed_post)], "comment": "rude"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert set(report) == REPORT_KEYS
    assert (report["category"], report["comment"], report["forwarded"]) == ("other", "rude", False)
    assert report["status_ids"] == [str(zed_post)]
    assert report["target_account"]["id"] == str(built.zed)
    assert await count(app, "SELECT COUNT(*) FROM jobs WHERE queue = 'push'") == 0
    assert (await login(client)).status_code == 303
    page = await client.get("/reports")
    assert "Kept here only" in page.text and "rude" in page.text


async def test_api_report_refusals_keep_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    built, zed_post, yan, yan_post = await _zed_and_yan(app)
    auth = await user_token(client)
    own = (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).json()["id"]
    zed = str(built.zed)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"account_id": zed, "status_ids[]": [str(yan_post)]}, 422, "is not by @zed@remote.test"),
        ({"account_id": zed, "comment": "x" * 1001}, 422, "comment is too long"),
        ({"account_id": own}, 422, "your own account"),
        ({"account_id": "999999"}, 404, "Record not found"),
        ({"account_id": zed, "category": "boring"}, 422, "is not one of spam"),
        ({"account_id": zed, "rule_ids[]": ["1"]}, 422, "no rules"),
        ({"account_id": zed, "status_ids[]": ["abc"]}, 422, "no post id"),
        ({"account_id": zed, "status_ids[]": ["123456789"]}, 422, "no post 123456789"),
        ({"comment": "who?"}, 422, "account_id can't be blank"),
    ]
    for body, status, message in cases:
        response = await client.post("/api/v1/reports", data=body, headers=auth)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"], response.text
    assert await count(app, "SELECT COUNT(*) FROM reports") == 0
    # The web form says the same, keeps what was typed, and keeps nothing either.
    assert (await login(client)).status_code == 303
    refused = await send(
        client, "/@zed@remote.test/report", status=str(yan_post), comment="typed words"
    )
    assert refused.status_code == 400
    assert "is not by @zed@remote.test" in refused.text and "typed words" in refused.text
    assert await count(app, "SELECT COUNT(*) FROM reports") == 0
    assert yan and zed_post


def _instance_actor(fleet: Any, origin: str) -> Sender:
    server = FakeServer(fleet, origin)
    host = origin.split("//")[1]
    return server.actor(f"{origin}/actor", type="Application", preferredUsername=host)


async def test_incoming_flags_are_bounded_and_rate_limited(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        ours = await local_post(alice, "a post of ours")
        evil = _instance_actor(fleet, "https://evil.test")
        db = alice.federation.db

        huge = activity("Flag", evil, [alice.actor, *(f"{alice.actor}/x/{n}" for n in range(9999))])
        outcome = await deliver(alice, evil, huge)
        assert outcome.ignored and "10000 objects" in (outcome.error or "")
        assert "at most 100" in (await refusals.recent(db))[0].reason

        elsewhere = activity("Flag", evil, ["https://other.test/users/x"], content="not you")
        assert (await deliver(alice, evil, elsewhere)).ignored

        mixed = activity(
            "Flag",
            evil,
            [ours.ap_id, "https://other.test/notes/1"],
            content="<p>bad <b>post</b></p>",
        )
        assert (await deliver(alice, evil, mixed)).applied
        row = await db.fetchone("SELECT comment, status_ids_json FROM reports")
        assert row is not None and (row[0], row[1]) == ("bad post", f"[{ours.id}]")

        assert len(await notifications_of(alice)) == 1

        for n in range(9):
            flag = activity("Flag", evil, alice.actor, content=f"report {n}")
            assert (await deliver(alice, evil, flag)).applied
        over = await deliver(alice, evil, activity("Flag", evil, alice.actor))
        assert over.ignored and "more than 10 reports in the last hour" in (over.error or "")
        assert await db.fetchval("SELECT COUNT(*) FROM reports") == 10
        assert len(await notifications_of(alice)) == 10
        # Another server is not held back by this one.
        other = _instance_actor(fleet, "https://fine.test")
        assert (await deliver(alice, other, activity("Flag", other, alice.actor))).applied


async def test_reports_page_empty_and_the_form_needs_its_csrf_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    built, zed_post, _, _ = await _zed_and_yan(app)
    assert (await client.get("/reports")).headers["location"] == "/login"
    assert (await login(client)).status_code == 303
    empty = await client.get("/reports")
    assert "No server has reported you." in empty.text
    assert "You have not reported anyone." in empty.text
    assert (await client.get("/@nobody@nowhere.test/report")).status_code == 404
    for sent in ({}, {"csrf": "forged"}):
        response = await client.post(
            "/@zed@remote.test/report", data={**sent, "status": str(zed_post), "forward": "1"}
        )
        assert response.status_code == 403
    assert await count(app, "SELECT COUNT(*) FROM reports") == 0
    assert await count(app, "SELECT COUNT(*) FROM jobs") == 0
    assert built.zed
