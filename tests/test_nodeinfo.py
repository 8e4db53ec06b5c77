"""NodeInfo discovery and documents, with counts read from the database."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import solo
from solo import urls
from solo.config import Settings
from solo.db import Database

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"
STATUS_ID = 110_000_000_000_000_000


async def add_status(db: Database, settings: Settings, n: int, **columns: Any) -> int:
    status_id = STATUS_ID + n
    values: dict[str, Any] = {
        "id": status_id,
        "ap_id": urls.status(settings, status_id),
        "visibility": "public",
        "content_html": "<p>hi</p>",
        "published_at": time.time(),
        **columns,
    }
    names, marks = ", ".join(values), ", ".join("?" for _ in values)
    await db.execute(f"INSERT INTO statuses ({names}) VALUES ({marks})", tuple(values.values()))
    return status_id


async def local_posts(client: httpx.AsyncClient) -> int:
    document = (await client.get("/nodeinfo/2.1")).json()
    count: int = document["usage"]["localPosts"]
    return count


async def test_well_known_links(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "links": [
            {"rel": f"{SCHEMA}2.0", "href": "https://solo.test/nodeinfo/2.0"},
            {"rel": f"{SCHEMA}2.1", "href": "https://solo.test/nodeinfo/2.1"},
        ]
    }


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_document(client: httpx.AsyncClient, version: str) -> None:
    links = (await client.get("/.well-known/nodeinfo")).json()["links"]
    [href] = [item["href"] for item in links if item["rel"] == f"{SCHEMA}{version}"]
    response = await client.get(href)
    assert response.status_code == 200
    expected = f'application/json; profile="{SCHEMA}{version}#"'
    assert response.headers["content-type"] == expected
    document = response.json()
    assert document["version"] == version
    assert document["software"] == {"name": "solo", "version": solo.__version__}
    assert re.fullmatch(r"[a-z0-9-]+", document["software"]["name"])
    assert document["protocols"] == ["activitypub"]
    assert document["services"] == {"inbound": [], "outbound": []}
    assert document["openRegistrations"] is False
    assert document["usage"] == {
        "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
        "localPosts": 0,
    }
    assert document["metadata"] == {"nodeName": "alice"}


async def test_node_name_follows_the_account(client: httpx.AsyncClient, app: Starlette) -> None:
    await app.state.instance.db.execute("UPDATE account SET display_name = 'Alice A.'")
    document = (await client.get("/nodeinfo/2.0")).json()
    assert document["metadata"]["nodeName"] == "Alice A."


async def test_local_posts_are_counted(client: httpx.AsyncClient, app: Starlette) -> None:
    db: Database = app.state.instance.db
    settings: Settings = app.state.settings
    assert await local_posts(client) == 0

    first = await add_status(db, settings, 1)
    await add_status(db, settings, 2, visibility="unlisted")
    await add_status(db, settings, 3, visibility="private")
    await add_status(db, settings, 4, visibility="direct")
    assert await local_posts(client) == 4

    # Deleted posts, boosts and other servers' posts are not ours to count.
    await add_status(db, settings, 5, deleted_at=time.time())
    await add_status(db, settings, 6, reblog_of_id=first)
    actor_id = await db.execute(
        "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            "https://remote.test/users/bob",
            "bob",
            "remote.test",
            "https://remote.test/users/bob/inbox",
            json.dumps({"type": "Person"}),
            time.time(),
        ),
    )
    await add_status(db, settings, 7, actor_id=actor_id, ap_id="https://remote.test/notes/7")
    assert await local_posts(client) == 4

    await db.execute("UPDATE statuses SET deleted_at = ? WHERE id = ?", (time.time(), first))
    assert await local_posts(client) == 3


@pytest.mark.parametrize("path", ["/nodeinfo/1.0", "/nodeinfo/2.2", "/nodeinfo/x"])
async def test_unknown_version(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]
