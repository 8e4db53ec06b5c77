"""WebFinger and host-meta, as Mastodon and Pleroma ask for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import httpx
import pytest

from solo import urls
from solo.app import create_app
from solo.config import Settings
from solo.instance import initialise
from tests.conftest import PASSWORD, make_settings

AS_ACCEPT = "application/activity+json, application/ld+json"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second instance with its own settings, for domains the shared fixture does not use."""
    await initialise(settings, PASSWORD)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
            yield http


async def finger(client: httpx.AsyncClient, resource: str) -> httpx.Response:
    return await client.get("/.well-known/webfinger", params={"resource": resource})


def link(document: dict[str, object], rel: str) -> dict[str, str]:
    links = document["links"]
    assert isinstance(links, list)
    matches = [item for item in links if item["rel"] == rel]
    assert len(matches) == 1, f"expected one {rel} link in {links}"
    found: dict[str, str] = matches[0]
    return found


async def test_user_by_acct(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await finger(client, "acct:alice@solo.test")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    assert response.headers["access-control-allow-origin"] == "*"
    document = response.json()
    assert document["subject"] == "acct:alice@solo.test"
    assert document["aliases"] == ["https://solo.test/users/alice", "https://solo.test/@alice"]
    assert link(document, "self") == {
        "rel": "self",
        "type": "application/activity+json",
        "href": urls.actor(settings),
    }
    assert link(document, "http://webfinger.net/rel/profile-page") == {
        "rel": "http://webfinger.net/rel/profile-page",
        "type": "text/html",
        "href": urls.profile(settings),
    }


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@solo.test",
        "ACCT:Alice@SOLO.test",
        "acct:@alice@solo.test",
        " acct:alice@solo.test ",
        "https://solo.test/users/alice",
        "https://solo.test/users/alice/",
        "https://solo.test/@alice",
        "http://solo.test/users/alice",
    ],
)
async def test_user_spellings(client: httpx.AsyncClient, resource: str) -> None:
    response = await finger(client, resource)
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "acct:alice@solo.test"


@pytest.mark.parametrize("resource", ["acct:solo.test@solo.test", "https://solo.test/actor"])
async def test_instance_actor(client: httpx.AsyncClient, resource: str) -> None:
    response = await finger(client, resource)
    assert response.status_code == 200
    document = response.json()
    assert document["subject"] == "acct:solo.test@solo.test"
    self_link = link(document, "self")
    assert self_link["href"] == "https://solo.test/actor"
    assert self_link["type"] == "application/activity+json"
    actor = (await client.get(self_link["href"], headers={"Accept": AS_ACCEPT})).json()
    assert actor["id"] == self_link["href"]
    assert actor["preferredUsername"] == "solo.test"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:bob@solo.test",
        "acct:alice@other.test",
        "acct:alice@solo.test.evil",
        "mailto:alice@solo.test",
        "xmpp:alice@solo.test",
        "https://solo.test/users/bob",
        "https://solo.test/@bob",
        "https://solo.test/",
    ],
)
async def test_unknown_is_404(client: httpx.AsyncClient, resource: str) -> None:
    response = await finger(client, resource)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "   ",
        "acct:",
        "acct:alice",
        "acct:alice@",
        "acct:@solo.test",
        "acct:a@b@solo.test",
        "alice",
        "http://",
        "alice@solo.test",
        "@alice@solo.test",
        "alice@other.test",
        "alice@solo.test:8000",
        "1x:alice@solo.test",
    ],
)
async def test_malformed_is_400(client: httpx.AsyncClient, resource: str) -> None:
    response = await finger(client, resource)
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize("resource", ["http://other/", "https://other.test/users/alice"])
async def test_another_hosts_url_is_404(client: httpx.AsyncClient, resource: str) -> None:
    response = await finger(client, resource)
    assert response.status_code == 404
    assert response.json()["error"]


async def test_missing_resource_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger")
    assert response.status_code == 400
    assert response.json()["error"]


async def test_round_trip(client: httpx.AsyncClient) -> None:
    """Mastodon's check: the actor's preferredUsername@host must finger back to the subject."""
    first = (await finger(client, "acct:alice@solo.test")).json()
    actor_url = link(first, "self")["href"]
    actor_response = await client.get(actor_url, headers={"Accept": AS_ACCEPT})
    assert actor_response.status_code == 200
    actor = actor_response.json()
    assert actor["id"] == actor_url
    handle = f"{actor['preferredUsername']}@{urlsplit(actor['id']).netloc}"
    assert f"acct:{handle}" == first["subject"]
    second = (await finger(client, f"acct:{handle}")).json()
    assert second["subject"] == first["subject"]
    assert link(second, "self")["href"] == actor["id"]


async def test_domain_with_port(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "port", domain="localhost:8000", username="bob")
    async with running(settings) as client:
        response = await finger(client, "acct:bob@localhost:8000")
        assert response.status_code == 200
        document = response.json()
        assert document["subject"] == "acct:bob@localhost:8000"
        actor_url = link(document, "self")["href"]
        assert actor_url == "http://localhost:8000/users/bob"
        actor = (await client.get(actor_url, headers={"Accept": AS_ACCEPT})).json()
        assert f"{actor['preferredUsername']}@{urlsplit(actor['id']).netloc}" == (
            "bob@localhost:8000"
        )
        assert (await finger(client, "bob@localhost:8000")).status_code == 400  # not a URI
        assert (await finger(client, "acct:bob@localhost")).status_code == 404
        assert (await finger(client, "acct:bob@localhost:9000")).status_code == 404
        instance = await finger(client, "acct:localhost:8000@localhost:8000")
        assert link(instance.json(), "self")["href"] == "http://localhost:8000/actor"


async def test_resource_in_query_is_decoded(client: httpx.AsyncClient) -> None:
    # Mastodon percent-encodes the whole resource, @ and : included.
    encoded = quote("acct:alice@solo.test", safe="")
    response = await client.get(f"/.well-known/webfinger?resource={encoded}")
    assert response.json()["subject"] == "acct:alice@solo.test"


async def test_host_meta_xml(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xrd+xml"
    assert response.headers["access-control-allow-origin"] == "*"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{XRD_NS}XRD"
    links = root.findall(f"{XRD_NS}Link")
    assert [item.attrib for item in links] == [
        {
            "rel": "lrdd",
            "template": "https://solo.test/.well-known/webfinger?resource={uri}",
        }
    ]


async def test_host_meta_template_works(client: httpx.AsyncClient) -> None:
    """What Pleroma does with the template: substitute the acct URI and fetch."""
    document = (await client.get("/.well-known/host-meta.json")).json()
    [lrdd] = document["links"]
    assert lrdd["rel"] == "lrdd"
    url = lrdd["template"].replace("{uri}", quote("acct:alice@solo.test", safe=""))
    response = await client.get(url)
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:alice@solo.test"
