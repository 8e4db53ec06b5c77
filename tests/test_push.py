"""Web Push for apps: `/api/v1/push/subscription`, and the messages a real push service on
127.0.0.1 receives for new notifications, decrypted with the subscriber's private key."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from mastodon import Mastodon
from starlette.applications import Starlette

from solo.app import create_app
from solo.config import Settings
from solo.edge.i18n import save_language
from solo.federation.context import Federation
from solo.store import actors as actor_store
from solo.store import follows, mutes, statuses
from solo.store import notifications as notification_store
from solo.store.actors import RemoteActor
from solo.store.statuses import NewStatus
from tests.conftest import PASSWORD, initialise_fast, make_settings
from tests.fleet import eventually
from tests.push_service import (
    PushService,
    Subscriber,
    b64url,
    free_port,
    push_service,
    vapid_claims,
)
from tests.test_api_statuses import user_token

SCOPES = ["read", "write", "follow", "push"]
ALL_ALERTS = {
    "data[alerts][mention]": "1",
    "data[alerts][follow]": "1",
    "data[alerts][favourite]": "1",
    "data[alerts][reblog]": "1",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The push service listens on 127.0.0.1: private addresses are allowed, as in every test
    # that talks over sockets. (conftest's `app` is built with these settings.)
    return make_settings(tmp_path / "data", allow_private_addresses=True)


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    async with push_service() as running:
        yield running


def federation(app: Starlette) -> Federation:
    running: Federation = app.state.federation
    return running


async def remote_actor(app: Starlette, name: str = "bob") -> int:
    actor = RemoteActor(
        ap_id=f"https://remote.example/users/{name}",
        type="Person",
        username=name,
        domain="remote.example",
        inbox=f"https://remote.example/users/{name}/inbox",
        shared_inbox=None,
        key_id=None,
        public_key_pem=None,
        display_name=name.capitalize(),
    )
    async with federation(app).db.transaction() as conn:
        return await actor_store.upsert_actor(conn, actor)


async def notify(app: Starlette, kind: str, actor_id: int) -> int | None:
    """A notification as the ingress handlers make one: stored, then the feeds told."""
    running = federation(app)
    async with running.db.transaction() as conn:
        notification = await notification_store.add(conn, kind, actor_id)
    if notification is not None:
        await running.feeds.notification_added(notification)
    return notification


async def subscribe(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    endpoint: str,
    subscriber: Subscriber,
    **extra: str,
) -> httpx.Response:
    return await client.post(
        "/api/v1/push/subscription",
        headers=auth,
        data={
            "subscription[endpoint]": endpoint,
            "subscription[keys][p256dh]": subscriber.p256dh,
            "subscription[keys][auth]": b64url(subscriber.auth),
            "subscription[standard]": "true",
            **ALL_ALERTS,
            **extra,
        },
    )


async def test_vapid_key_is_in_instance_v2_and_kept_across_restarts(
    client: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    key = (await client.get("/api/v2/instance")).json()["configuration"]["vapid"]["public_key"]
    assert len(key) == 87  # base64url of a 65-byte P-256 point
    registered = await client.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    )
    assert registered.json()["vapid_key"] == key
    again = create_app(settings)
    async with again.router.lifespan_context(again):
        assert again.state.instance.vapid.public_key == key


async def test_subscription_entity_get_put_delete(
    client: httpx.AsyncClient, service: PushService
) -> None:
    auth = await user_token(client)
    subscriber = Subscriber()
    created = await subscribe(client, auth, service.endpoint("a"), subscriber, policy="followed")
    assert created.status_code == 200, created.text
    entity = created.json()
    server_key = (await client.get("/api/v2/instance")).json()["configuration"]["vapid"]
    assert entity["server_key"] == server_key["public_key"]
    assert entity["endpoint"] == service.endpoint("a")
    assert entity["standard"] is True
    assert entity["policy"] == "followed"
    assert entity["alerts"]["mention"] is True and entity["alerts"]["poll"] is False
    assert set(entity["alerts"]) >= {"follow_request", "status", "update", "admin.report"}
    assert (await client.get("/api/v1/push/subscription", headers=auth)).json() == entity

    changed = await client.put(
        "/api/v1/push/subscription",
        headers=auth,
        json={"data": {"alerts": {"poll": True, "mention": False}, "policy": "all"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["alerts"]["poll"] is True
    assert changed.json()["alerts"]["mention"] is False
    assert changed.json()["alerts"]["follow"] is True  # left as it was
    assert changed.json()["policy"] == "all"

    # Another token (another app) has its own subscription, none yet.
    other = await user_token(client)
    missing = await client.get("/api/v1/push/subscription", headers=other)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Record not found"}

    deleted = await client.delete("/api/v1/push/subscription", headers=auth)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await client.get("/api/v1/push/subscription", headers=auth)).status_code == 404


async def test_push_scope_is_needed(client: httpx.AsyncClient) -> None:
    auth = await user_token(client, scope="read write")
    response = await client.get("/api/v1/push/subscription", headers=auth)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subscription[endpoint]", "", "endpoint can't be blank"),
        ("subscription[endpoint]", "ftp://push.example/x", "only http or https URLs"),
        ("subscription[endpoint]", "https://push.example/" + "x" * 2100, "too long"),
        ("subscription[keys][p256dh]", "AAAA", "65-byte uncompressed P-256 point"),
        ("subscription[keys][p256dh]", "BA" + "A" * 85, "not a point on the P-256 curve"),
        ("subscription[keys][p256dh]", "!!!", "not base64"),
        ("subscription[keys][auth]", b64url(b"short"), "must be 16 bytes"),
        ("policy", "friends", "policy must be one of"),
    ],
)
async def test_bad_subscriptions_are_refused_and_nothing_stored(
    client: httpx.AsyncClient, app: Starlette, field: str, value: str, message: str
) -> None:
    auth = await user_token(client)
    subscriber = Subscriber()
    response = await subscribe(client, auth, "https://push.example/x", subscriber, **{field: value})
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]
    assert await federation(app).db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0


async def test_private_endpoint_is_refused_without_a_fetch(
    tmp_path: Path, template_root: Path, service: PushService
) -> None:
    settings = make_settings(tmp_path / "strict")  # private addresses not allowed
    await initialise_fast(settings, template_root)
    strict = create_app(settings)
    async with (
        strict.router.lifespan_context(strict),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=strict), base_url=settings.base_url
        ) as client,
    ):
        auth = await user_token(client)
        for endpoint in (
            f"https://127.0.0.1:{service.port}/push/a",
            "https://10.1.2.3/push",
            "https://[::1]/push",
            "https://localhost/push",
        ):
            response = await subscribe(client, auth, endpoint, Subscriber())
            assert response.status_code == 422, (endpoint, response.text)
            assert "Validation failed: endpoint" in response.json()["error"]
        assert (
            await strict.state.instance.db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0
        )
    assert service.received == []


async def test_a_notification_is_pushed_encrypted_and_signed(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    subscriber = Subscriber()
    entity = (await subscribe(client, auth, service.endpoint("a"), subscriber)).json()
    bob = await remote_actor(app)
    notification = await notify(app, "follow", bob)

    message = await service.message(1)
    assert message.path == "/push/a"
    assert message.headers["content-encoding"] == "aes128gcm"
    assert int(message.headers["ttl"]) > 0
    payload = json.loads(subscriber.decrypt(message))
    assert payload == {
        "access_token": token,
        "preferred_locale": "en",
        "notification_id": str(notification),
        "notification_type": "follow",
        "icon": payload["icon"],
        "title": "Bob is now following you",
        "body": "Bob",
    }
    assert payload["icon"].startswith("https://solo.test/")
    claims = vapid_claims(message, entity["server_key"])
    assert claims["aud"] == f"http://127.0.0.1:{service.port}"
    assert claims["sub"] == "https://solo.test"
    assert time.time() < float(str(claims["exp"])) <= time.time() + 24 * 3600

    # The notification's id is the one the API lists.
    listed = (await client.get("/api/v1/notifications", headers=auth)).json()
    assert listed[0]["id"] == payload["notification_id"]


async def test_alerts_and_policy_choose_what_is_pushed(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    subscriber = Subscriber()
    response = await subscribe(
        client,
        auth,
        service.endpoint("a"),
        subscriber,
        policy="followed",
        **{"data[alerts][favourite]": "0"},
    )
    assert response.status_code == 200, response.text
    stranger = await remote_actor(app, "stranger")
    friend = await remote_actor(app, "friend")
    async with federation(app).db.transaction() as conn:
        await follows.put_follow(conn, "out", friend, "https://solo.test/f1", "accepted")
    await notify(app, "follow", stranger)  # not followed: no push
    await notify(app, "favourite", friend)  # alert off: no push
    await notify(app, "follow", friend)  # pushed
    message = await service.message(1)
    assert json.loads(subscriber.decrypt(message))["title"] == "Friend is now following you"
    await asyncio.sleep(0.3)
    assert len(service.received) == 1

    await client.put("/api/v1/push/subscription", headers=auth, data={"data[policy]": "none"})
    await notify(app, "follow", friend)
    await asyncio.sleep(0.3)
    assert len(service.received) == 1


async def test_an_endpoint_answering_410_is_unsubscribed(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    await subscribe(client, auth, service.endpoint("gone"), Subscriber())
    service.statuses["/push/gone"] = 410
    await notify(app, "follow", await remote_actor(app))
    await service.message(1)
    db = federation(app).db

    async def unsubscribed() -> bool:
        state = await db.fetchval("SELECT state FROM jobs WHERE queue = 'webpush'")
        return state == "dead"

    await eventually(unsubscribed, what="the push job to be settled")
    assert await db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0
    job = await db.fetchone("SELECT state, last_error FROM jobs WHERE queue = 'webpush'")
    assert "unsubscribed" in job["last_error"]
    assert (await client.get("/api/v1/push/subscription", headers=auth)).status_code == 404


async def test_a_failing_push_service_is_retried(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    await subscribe(client, auth, service.endpoint("busy"), Subscriber())
    service.statuses["/push/busy"] = 503
    await notify(app, "follow", await remote_actor(app))
    await service.message(1)
    db = federation(app).db

    async def retrying() -> bool:
        state = await db.fetchval("SELECT state FROM jobs WHERE queue = 'webpush'")
        return bool(state == "retrying")

    await eventually(retrying, what="the push to wait for a retry")
    assert await db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 1


async def test_a_revoked_token_gets_no_push(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    await subscribe(client, auth, service.endpoint("a"), Subscriber())
    db = federation(app).db
    await db.execute("UPDATE oauth_tokens SET revoked_at = ?", (time.time(),))
    await notify(app, "follow", await remote_actor(app))
    await asyncio.sleep(0.3)
    assert service.received == []


def _mastodon_py_subscribe(base_url: str, secrets: Path, endpoint: str) -> tuple[Any, Any, str]:
    """Log in with Mastodon.py and subscribe as an app does; its private keys and the
    server's key."""
    Mastodon.create_app("Solo push", scopes=SCOPES, api_base_url=base_url, to_file=secrets)
    mastodon = Mastodon(client_id=secrets)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    private, public = mastodon.push_subscription_generate_keys()
    subscription = mastodon.push_subscription_set(
        endpoint, public, follow_events=True, mention_events=True
    )
    assert mastodon.push_subscription()["id"] == subscription["id"]
    return mastodon, private, str(subscription["server_key"])


async def test_mastodon_py_subscribes_and_decrypts(
    tmp_path: Path, template_root: Path, service: PushService
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path / "data", domain=f"127.0.0.1:{port}", allow_private_addresses=True
    )
    await initialise_fast(settings, template_root)
    solo = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(solo, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server), what="Solo to start")
        mastodon, private, server_key = await asyncio.to_thread(
            _mastodon_py_subscribe,
            settings.base_url,
            tmp_path / "secrets.txt",
            service.endpoint("app"),
        )
        notification = await notify(solo, "follow", await remote_actor(solo, "carol"))
        message = await service.message(1)
        # Mastodon.py subscribes without `standard`: the draft encoding Mastodon used before 4.4.
        assert message.headers["content-encoding"] == "aesgcm"
        assert message.headers["authorization"].startswith("WebPush ")
        assert f"p256ecdsa={server_key}" in message.headers["crypto-key"]
        payload = mastodon.push_subscription_decrypt_push(
            message.body, private, message.headers["encryption"], message.headers["crypto-key"]
        )
        assert payload["notification_id"] == str(notification)
        assert payload["notification_type"] == "follow"
        assert payload["title"] == "Carol is now following you"
        await asyncio.to_thread(mastodon.push_subscription_delete)
        assert await solo.state.instance.db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


async def test_a_mention_is_pushed_with_its_text_and_a_muted_account_is_not(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    auth = await user_token(client)
    subscriber = Subscriber()
    await subscribe(client, auth, service.endpoint("a"), subscriber)
    running = federation(app)
    erin = await remote_actor(app, "erin")
    muted = await remote_actor(app, "muted")
    async with running.db.transaction() as conn:
        await mutes.mute(conn, muted, notifications=True, expires_at=None)
    await notify(app, "follow", muted)  # muted: dropped unsent
    text = "<p>Hello <b>@alice</b>, " + "a long day. " * 20 + "</p>"
    async with running.db.transaction() as conn:
        status_id = await statuses.insert_status(
            conn,
            NewStatus(
                id=running.ids.next(),
                ap_id="https://remote.example/notes/1",
                actor_id=erin,
                visibility="public",
                content_html=text,
                published_at=time.time(),
            ),
        )
        assert status_id is not None
        notification = await notification_store.add(conn, "mention", erin, status_id)
    assert notification is not None
    await running.feeds.notification_added(notification)
    message = await service.message(1)
    payload = json.loads(subscriber.decrypt(message))
    assert payload["notification_type"] == "mention"
    assert payload["title"] == "Erin mentioned you"
    assert payload["body"].startswith("Hello @alice, a long day.")
    assert len(payload["body"]) == 140 and payload["body"].endswith("…")
    assert "url" not in payload  # an app's payload is Mastodon's, exactly
    await asyncio.sleep(0.3)
    assert len(service.received) == 1

    async def dropped() -> bool:
        error = await running.db.fetchval(
            "SELECT last_error FROM jobs WHERE queue = 'webpush' AND state = 'dead'"
        )
        return bool(error == "the notification is gone or not shown")

    await eventually(dropped, what="the muted account's push to be dropped")


async def test_a_push_speaks_the_language_the_owner_chose(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    await save_language(federation(app).db, "de")
    auth = await user_token(client)
    subscriber = Subscriber()
    await subscribe(client, auth, service.endpoint("de"), subscriber)
    await notify(app, "follow", await remote_actor(app))
    payload = json.loads(subscriber.decrypt(await service.message(1)))
    assert payload["preferred_locale"] == "de"
    assert payload["title"] == "Bob folgt dir jetzt"
