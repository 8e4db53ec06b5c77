"""The notification policy and requests through the client API (the NotificationPolicy and
NotificationRequest entities of Mastodon 4.3), the policy's settings page, and what the
streams say of held-back and accepted notifications."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette

from solo.actions import notification_requests
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store import notifications as notification_store
from solo.store.actors import RemoteActor
from tests.test_api_statuses import user_token
from tests.test_api_streaming import Live, live, receive, subscribe  # noqa: F401 (a fixture)
from tests.test_login import login
from tests.test_web_pages import federation_of, send

POLICY_KEYS = {
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
    "summary",
}
REQUEST_KEYS = {"id", "created_at", "updated_at", "notifications_count", "account", "last_status"}


async def stranger(federation: Federation, name: str) -> int:
    async with federation.db.transaction() as conn:
        return await actor_store.upsert_actor(
            conn,
            RemoteActor(
                ap_id=f"https://far.test/users/{name}",
                type="Person",
                username=name,
                domain="far.test",
                inbox=f"https://far.test/users/{name}/inbox",
                shared_inbox=None,
                key_id=None,
                public_key_pem=None,
            ),
        )


async def follows_from(federation: Federation, actor_id: int, times: int = 1) -> list[int | None]:
    """Follow notifications from `actor_id`, as ingress adds them; their ids when shown."""
    added = []
    for _ in range(times):
        async with federation.db.transaction() as conn:
            added.append(await notification_store.add(conn, "follow", actor_id))
    for notification_id in added:
        if notification_id is not None:
            await federation.feeds.notification_added(notification_id)
    return added


async def test_policy_shapes_and_changes(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    response = await client.get("/api/v2/notifications/policy", headers=auth)
    assert response.status_code == 200
    assert response.json() == {
        "for_not_following": "accept",
        "for_not_followers": "accept",
        "for_new_accounts": "accept",
        "for_private_mentions": "filter",
        "for_limited_accounts": "filter",
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }
    changed = await client.patch(
        "/api/v2/notifications/policy",
        data={"for_not_following": "filter", "for_new_accounts": "drop"},
        headers=auth,
    )
    assert changed.status_code == 200 and set(changed.json()) == POLICY_KEYS
    assert changed.json()["for_not_following"] == "filter"
    assert changed.json()["for_new_accounts"] == "drop"
    assert changed.json()["for_private_mentions"] == "filter"  # untouched
    refused = await client.patch(
        "/api/v2/notifications/policy",
        json={"for_not_following": "maybe", "for_not_followers": "drop"},
        headers=auth,
    )
    assert refused.status_code == 422
    assert "for_not_following must be one of accept, filter or drop" in refused.json()["error"]
    after = (await client.get("/api/v2/notifications/policy", headers=auth)).json()
    assert after["for_not_followers"] == "accept"  # nothing of a refused change is applied
    huge = await client.patch(
        "/api/v2/notifications/policy", json={"for_not_following": "x" * 5000}, headers=auth
    )
    assert huge.status_code == 422
    read_only = await user_token(client, scope="read")
    assert (
        await client.patch(
            "/api/v2/notifications/policy", data={"for_not_following": "drop"}, headers=read_only
        )
    ).status_code == 403
    assert (await client.get("/api/v2/notifications/policy")).status_code == 401

    # The first shape: booleans, "filter" for true.
    v1 = (await client.get("/api/v1/notifications/policy", headers=auth)).json()
    assert v1 == {
        "filter_not_following": True,
        "filter_not_followers": False,
        "filter_new_accounts": True,
        "filter_private_mentions": True,
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }
    put = await client.put(
        "/api/v1/notifications/policy",
        data={"filter_private_mentions": "false", "filter_not_followers": "1"},
        headers=auth,
    )
    assert put.status_code == 200
    assert put.json()["filter_private_mentions"] is False
    assert put.json()["filter_not_followers"] is True
    v2 = (await client.get("/api/v2/notifications/policy", headers=auth)).json()
    assert v2["for_private_mentions"] == "accept" and v2["for_not_followers"] == "filter"
    assert v2["for_new_accounts"] == "drop"  # v1 only says it filters; the choice stays
    bad = await client.put(
        "/api/v1/notifications/policy", data={"filter_new_accounts": "perhaps"}, headers=auth
    )
    assert bad.status_code == 422 and "filter_new_accounts" in bad.json()["error"]


async def test_requests_list_accept_and_dismiss(app: Starlette, client: httpx.AsyncClient) -> None:
    federation = federation_of(app)
    auth = await user_token(client)
    await client.patch(
        "/api/v2/notifications/policy", data={"for_not_following": "filter"}, headers=auth
    )
    ids = {name: await stranger(federation, name) for name in ("ann", "ben", "cid", "dot")}
    for name, actor_id in ids.items():
        assert await follows_from(federation, actor_id, times=2 if name == "ann" else 1) in (
            [None],
            [None, None],
        )
    assert federation.feeds.unread == 0
    assert (await client.get("/api/v1/notifications", headers=auth)).json() == []
    everything = await client.get("/api/v1/notifications?include_filtered=1", headers=auth)
    assert len(everything.json()) == 5
    policy = (await client.get("/api/v2/notifications/policy", headers=auth)).json()
    assert policy["summary"] == {"pending_requests_count": 4, "pending_notifications_count": 5}

    first = await client.get("/api/v1/notifications/requests?limit=3", headers=auth)
    assert first.status_code == 200
    page = first.json()
    assert [r["account"]["acct"] for r in page] == ["dot@far.test", "cid@far.test", "ben@far.test"]
    for item in page:
        assert set(item) == REQUEST_KEYS
        assert item["last_status"] is None  # follows are about no post
    assert 'rel="next"' in first.headers["link"]
    rest = await client.get(f"/api/v1/notifications/requests?max_id={page[-1]['id']}", headers=auth)
    (ann,) = rest.json()
    assert ann["account"]["acct"] == "ann@far.test" and ann["notifications_count"] == "2"
    one = await client.get(f"/api/v1/notifications/requests/{ann['id']}", headers=auth)
    assert one.status_code == 200 and one.json() == ann
    for missing in ("999999", "abc"):
        gone = await client.get(f"/api/v1/notifications/requests/{missing}", headers=auth)
        assert gone.status_code == 404
        refused = await client.post(
            f"/api/v1/notifications/requests/{missing}/accept", headers=auth
        )
        assert refused.status_code == 404

    accepted = await client.post(f"/api/v1/notifications/requests/{ann['id']}/accept", headers=auth)
    assert accepted.status_code == 200 and accepted.json() == {}
    shown = (await client.get("/api/v1/notifications", headers=auth)).json()
    assert [n["account"]["acct"] for n in shown] == ["ann@far.test", "ann@far.test"]
    assert federation.feeds.unread == 2
    merged = await client.get("/api/v1/notifications/requests/merged", headers=auth)
    assert merged.json() == {"merged": True}

    # Many at once with id[]; ids of no request are passed over, malformed ones refused.
    dot, cid, ben = (r["id"] for r in page)
    dismissed = await client.post(
        "/api/v1/notifications/requests/dismiss", data={"id[]": [dot, cid, "424242"]}, headers=auth
    )
    assert dismissed.status_code == 200 and dismissed.json() == {}
    held = (await client.get("/api/v1/notifications?include_filtered=true", headers=auth)).json()
    assert {n["account"]["acct"] for n in held} == {"ann@far.test", "ben@far.test"}
    assert (
        await client.post("/api/v1/notifications/requests/accept", data={}, headers=auth)
    ).status_code == 422
    assert (
        await client.post(
            "/api/v1/notifications/requests/accept", data={"id[]": ["x1"]}, headers=auth
        )
    ).status_code == 422
    too_many = {"id[]": [str(i) for i in range(101)]}
    assert (
        await client.post("/api/v1/notifications/requests/accept", data=too_many, headers=auth)
    ).status_code == 422
    bulk = await client.post(
        "/api/v1/notifications/requests/accept", json={"id": [ben]}, headers=auth
    )
    assert bulk.status_code == 200
    assert (await client.get("/api/v1/notifications/requests", headers=auth)).json() == []
    # A dismissed account is held back again; an accepted one is not.
    await follows_from(federation, ids["dot"])
    assert [n is None for n in await follows_from(federation, ids["ben"])] == [False]
    again = (await client.get("/api/v1/notifications/requests", headers=auth)).json()
    assert [r["account"]["acct"] for r in again] == ["dot@far.test"]
    assert int(again[0]["id"]) > int(dot)  # a new request, never an old id again
    # Clearing the list leaves what waits in requests.
    await client.post("/api/v1/notifications/clear", headers=auth)
    summary = (await client.get("/api/v2/notifications/policy", headers=auth)).json()["summary"]
    assert summary == {"pending_requests_count": 1, "pending_notifications_count": 1}


async def test_the_policy_settings_page(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get("/settings/notifications")).status_code == 303  # log in first
    assert (await login(client)).status_code == 303
    page = await client.get("/settings/notifications")
    assert page.status_code == 200
    assert 'name="for_private_mentions" value="filter" checked' in page.text
    assert 'name="for_not_following" value="accept" checked' in page.text
    assert 'href="/settings/notifications"' in (await client.get("/settings")).text
    forged = await client.post("/settings/notifications", data={"for_not_following": "drop"})
    assert forged.status_code == 403
    wrong = await send(client, "/settings/notifications", for_not_following="never")
    assert wrong.status_code == 400
    assert "for_not_following must be one of accept, filter or drop" in wrong.text
    saved = await send(
        client, "/settings/notifications", for_not_following="drop", for_new_accounts="filter"
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/settings/notifications"
    page = await client.get("/settings/notifications")
    assert "Your notification policy is saved" in page.text
    assert 'name="for_not_following" value="drop" checked' in page.text
    assert 'name="for_new_accounts" value="filter" checked' in page.text


async def test_web_requests_page_dismisses(app: Starlette, client: httpx.AsyncClient) -> None:
    federation = federation_of(app)
    await notification_requests.change_policy(federation, {"for_not_following": "filter"})
    await follows_from(federation, await stranger(federation, "eve"))
    assert (await login(client)).status_code == 303
    page = (await client.get("/notifications/requests")).text
    assert "@eve@far.test" in page and "Followed you" in page
    request_id = await federation.db.fetchval("SELECT id FROM notification_requests")
    forged = await client.post(f"/notifications/requests/{request_id}/dismiss", data={})
    assert forged.status_code == 403
    done = await send(client, f"/notifications/requests/{request_id}/dismiss")
    assert done.status_code == 303 and done.headers["location"] == "/notifications/requests"
    page = (await client.get("/notifications/requests")).text
    assert "Dismissed the notifications from @eve@far.test." in page
    assert "No requests: nothing is held back." in page
    again = await send(client, f"/notifications/requests/{request_id}/dismiss")
    assert again.status_code == 404 and "That request is gone" in again.text
    assert (await send(client, "/notifications/requests/abc/accept")).status_code == 400


async def test_held_back_notifications_are_not_streamed(live: Live) -> None:  # noqa: F811
    federation = live.federation
    await notification_requests.change_policy(federation, {"for_not_following": "filter"})
    async with live.socket(additional_headers=live.bearer()) as socket:
        await subscribe(socket, "user:notification")
        quiet = await stranger(federation, "quiet")
        assert await follows_from(federation, quiet) == [None]
        request_id = await federation.db.fetchval("SELECT id FROM notification_requests")
        async with live.client() as http:
            accepted = await http.post(
                f"/api/v1/notifications/requests/{request_id}/accept", headers=live.bearer()
            )
            assert accepted.status_code == 200
        # The first message is the merge: the held-back follow was never sent on its own.
        message = await receive(socket)
        assert message["event"] == "notifications_merged" and message["payload"] == "1"
        assert message["stream"] == ["user:notification"]
        (shown,) = await follows_from(federation, quiet)
        message = await receive(socket)
        assert message["event"] == "notification"
        assert json.loads(message["payload"])["id"] == str(shown)
