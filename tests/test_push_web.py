"""Installing the web interface and its push notifications: the manifest and icons, the service
worker's route, and /settings/push (this browser's subscription, the alerts form), with a real
push service on 127.0.0.1 receiving what the browser would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from solo.app import create_app
from tests.conftest import initialise_fast, make_settings
from tests.push_service import PushService, Subscriber, b64url, vapid_claims
from tests.test_login import csrf_from, login
from tests.test_push import notify, remote_actor, service, settings

__all__ = ["service", "settings"]  # the fixtures, used by name


async def test_manifest_is_valid_and_its_icons_resolve(client: httpx.AsyncClient) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["name"] == "alice · Solo" or manifest["name"].endswith("· Solo")
    assert len(manifest["short_name"]) <= 12
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = set()
    for icon in manifest["icons"]:
        served = await client.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        assert served.headers["content-type"].split(";")[0] == icon["type"]
        if icon["type"] == "image/png":
            width, height = Image.open(io.BytesIO(served.content)).size
            assert f"{width}x{height}" == icon["sizes"]
            sizes.add((width, icon["purpose"]))
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes


async def test_pages_link_the_manifest_and_icons(client: httpx.AsyncClient) -> None:
    page = (await client.get("/@alice")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'rel="apple-touch-icon"' in page and 'type="image/svg+xml"' in page
    favicon = await client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.content[:4] == b"\x00\x00\x01\x00"
    touch = await client.get("/static/icons/apple-touch-icon.png")
    assert Image.open(io.BytesIO(touch.content)).size == (180, 180)


async def test_service_worker_is_served_from_the_root(client: httpx.AsyncClient) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert "showNotification" in response.text and "notificationclick" in response.text


async def test_push_settings_need_a_login(client: httpx.AsyncClient) -> None:
    page = await client.get("/settings/push")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    refused = await client.post("/settings/push/subscribe", data={"endpoint": "x"})
    assert refused.status_code in (303, 403)


async def _logged_in_csrf(client: httpx.AsyncClient) -> str:
    await login(client)
    page = await client.get("/settings/push")
    assert page.status_code == 200
    return csrf_from(page.text)


async def test_settings_page_shows_the_device_toggle_and_the_alerts(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await login(client)
    page = (await client.get("/settings/push")).text
    key = app.state.instance.vapid.public_key
    assert f'data-vapid-key="{key}"' in page
    assert 'id="push-toggle"' in page and "/static/push.js" in page
    assert "needs JavaScript" in page  # the <noscript> note
    assert 'value="mention" checked' in page and 'value="update">' in page
    assert 'value="all" checked' in page
    settings_page = (await client.get("/settings")).text
    assert 'href="/settings/push"' in settings_page


async def test_a_browser_subscribes_and_gets_a_push_with_the_page_to_open(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    csrf = await _logged_in_csrf(client)
    subscriber = Subscriber()
    response = await client.post(
        "/settings/push/subscribe",
        data={
            "csrf": csrf,
            "endpoint": service.endpoint("browser"),
            "p256dh": subscriber.p256dh,
            "auth": b64url(subscriber.auth),
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"subscribed": True, "browsers": 1}
    assert "1 browser gets notifications." in (await client.get("/settings/push")).text

    await notify(app, "follow", await remote_actor(app, "dana"))
    message = await service.message(1)
    payload = json.loads(subscriber.decrypt(message))
    assert payload["title"] == "Dana is now following you"
    assert payload["url"] == "https://solo.test/@dana@remote.example"
    assert payload["access_token"] is None  # a browser has its session, not a token
    vapid_claims(message, app.state.instance.vapid.public_key)

    gone = await client.post(
        "/settings/push/unsubscribe",
        data={"csrf": csrf, "endpoint": service.endpoint("browser")},
        headers={"Accept": "application/json"},
    )
    assert gone.json() == {"subscribed": False, "removed": True, "browsers": 0}


async def test_the_alerts_form_applies_to_every_browser(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    csrf = await _logged_in_csrf(client)
    subscriber = Subscriber()
    await client.post(
        "/settings/push/subscribe",
        data={
            "csrf": csrf,
            "endpoint": service.endpoint("browser"),
            "p256dh": subscriber.p256dh,
            "auth": b64url(subscriber.auth),
        },
    )
    saved = await client.post(
        "/settings/push/alerts",
        data={"csrf": csrf, "alert": ["mention", "favourite"], "policy": "follower"},
    )
    assert saved.status_code == 303
    page = (await client.get("/settings/push")).text
    assert 'value="favourite" checked' in page and 'value="follow">' in page
    assert 'value="follower" checked' in page
    row = await app.state.instance.db.fetchone("SELECT alerts, policy FROM push_subscriptions")
    assert json.loads(row["alerts"])["follow"] is False and row["policy"] == "follower"

    refused = await client.post(
        "/settings/push/alerts", data={"csrf": csrf, "alert": ["bogus"], "policy": "all"}
    )
    assert "does not know “bogus”" in refused.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"endpoint": "https://10.0.0.1/push"}, "is not a public address"),
        ({"endpoint": ""}, "endpoint can't be blank"),
        ({"p256dh": "AAAA"}, "65-byte uncompressed P-256 point"),
        ({"auth": "AAAA"}, "must be 16 bytes"),
    ],
)
async def test_bad_browser_subscriptions_are_refused(
    tmp_path: Path, template_root: Path, fields: dict[str, str], message: str
) -> None:
    settings = make_settings(tmp_path / "strict")
    await initialise_fast(settings, template_root)
    strict = create_app(settings)
    async with (
        strict.router.lifespan_context(strict),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=strict), base_url=settings.base_url
        ) as client,
    ):
        csrf = await _logged_in_csrf(client)
        subscriber = Subscriber()
        data = {
            "csrf": csrf,
            "endpoint": "https://push.example/x",
            "p256dh": subscriber.p256dh,
            "auth": b64url(subscriber.auth),
            **fields,
        }
        response = await client.post(
            "/settings/push/subscribe", data=data, headers={"Accept": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert message in response.json()["error"]
        assert (
            await strict.state.instance.db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0
        )


async def test_every_browser_can_be_turned_off_and_their_number_is_bounded(
    client: httpx.AsyncClient, app: Starlette, service: PushService
) -> None:
    csrf = await _logged_in_csrf(client)
    for n in range(21):
        subscriber = Subscriber()
        response = await client.post(
            "/settings/push/subscribe",
            data={
                "csrf": csrf,
                "endpoint": service.endpoint(f"b{n}"),
                "p256dh": subscriber.p256dh,
                "auth": b64url(subscriber.auth),
            },
            headers={"Accept": "application/json"},
        )
        assert response.status_code == (200 if n < 20 else 422), (n, response.text)
    assert "20 browsers already get notifications" in response.json()["error"]
    page = (await client.get("/settings/push")).text
    assert "20 browsers get notifications." in page
    off = await client.post("/settings/push/unsubscribe-all", data={"csrf": csrf})
    assert off.status_code == 303
    page = (await client.get("/settings/push")).text
    assert "No browser gets notifications now." in page
    assert await app.state.instance.db.fetchval("SELECT COUNT(*) FROM push_subscriptions") == 0


async def test_the_manifest_speaks_the_installers_language(client: httpx.AsyncClient) -> None:
    german = await client.get("/manifest.webmanifest", headers={"Accept-Language": "de"})
    manifest = german.json()
    assert manifest["lang"] == "de"
    assert [shortcut["name"] for shortcut in manifest["shortcuts"]] == [
        "Neuer Beitrag",
        "Benachrichtigungen",
    ]
    assert "auf Solo" in manifest["description"]
    assert "Accept-Language" in german.headers["vary"]
    english = (await client.get("/manifest.webmanifest", headers={"Accept-Language": "xx"})).json()
    assert english["lang"] == "en" and english["shortcuts"][0]["name"] == "New post"
