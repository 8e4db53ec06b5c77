"""The Person, the instance actor and the collections, as peers fetch them."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from solo import urls
from solo.actions.statuses import post
from solo.config import Settings
from solo.db import Database
from solo.instance import Instance

AS_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MASTODON_ACCEPT = "application/activity+json, application/ld+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BASE_ID = 110_000_000_000_000_000


def instance(app: Starlette) -> Instance:
    found: Instance = app.state.instance
    return found


async def add_actor(db: Database, n: int, *, deleted: bool = False) -> int:
    """A remote actor row, as the inbox would store it."""
    ap_id = f"https://remote{n}.test/users/r{n}"
    return await db.execute(
        "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            ap_id,
            f"r{n}",
            f"remote{n}.test",
            f"{ap_id}/inbox",
            json.dumps({"id": ap_id, "type": "Person"}),
            time.time(),
            time.time() if deleted else None,
        ),
    )


async def add_follow(db: Database, direction: str, actor_id: int, state: str = "accepted") -> int:
    return await db.execute(
        "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (direction, actor_id, f"https://follow.test/{direction}/{actor_id}", state, time.time()),
    )


async def add_status(
    db: Database, settings: Settings, status_id: int, visibility: str = "public", **columns: Any
) -> int:
    """A local status row (actor_id NULL unless given), with the real schema's columns."""
    values: dict[str, Any] = {
        "id": status_id,
        "ap_id": urls.status(settings, status_id),
        "url": urls.status_page(settings, status_id),
        "visibility": visibility,
        "content_html": f"<p>post {status_id}</p>",
        "published_at": 1_700_000_000.0 + (status_id - BASE_ID),
        **columns,
    }
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    await db.execute(f"INSERT INTO statuses ({names}) VALUES ({marks})", tuple(values.values()))
    return status_id


async def get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers={"Accept": MASTODON_ACCEPT})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == AS_JSON
    document: dict[str, Any] = response.json()
    return document


async def walk(client: httpx.AsyncClient, collection: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a collection, following `next` as a peer would."""
    pages = []
    url: str | None = collection["first"]
    while url is not None:
        page = await get_json(client, url)
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == collection["id"]
        assert page["id"] == url
        pages.append(page)
        url = page.get("next")
        assert len(pages) < 10, "paging does not end"
    return pages


@pytest.mark.parametrize("accept", [AS_JSON, LD_JSON, MASTODON_ACCEPT])
async def test_person_content_type(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.get("/users/alice", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == AS_JSON
    assert "Accept" in response.headers["vary"]
    assert response.json()["type"] == "Person"


async def test_profile_html_on_the_same_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/alice", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert "@alice@solo.test" in response.text


async def test_person_document(client: httpx.AsyncClient, app: Starlette) -> None:
    settings = instance(app).settings
    person = await get_json(client, "/users/alice")
    context = person["@context"]
    assert context[:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert context[2]["manuallyApprovesFollowers"] == "as:manuallyApprovesFollowers"
    assert context[2]["toot"] == "http://joinmastodon.org/ns#"
    assert context[2]["featured"] == {"@id": "toot:featured", "@type": "@id"}
    assert context[2]["PropertyValue"] == "schema:PropertyValue"
    assert person["id"] == "https://solo.test/users/alice"
    assert person["preferredUsername"] == "alice"
    assert person["name"] == "alice"
    assert person["url"] == "https://solo.test/@alice"
    assert person["inbox"] == "https://solo.test/users/alice/inbox"
    assert person["outbox"] == "https://solo.test/users/alice/outbox"
    assert person["followers"] == "https://solo.test/users/alice/followers"
    assert person["following"] == "https://solo.test/users/alice/following"
    assert person["featured"] == "https://solo.test/users/alice/collections/featured"
    assert person["endpoints"] == {"sharedInbox": "https://solo.test/inbox"}
    assert person["manuallyApprovesFollowers"] is False
    assert person["discoverable"] is True
    assert person["summary"] == ""
    assert person["tag"] == []
    assert person["attachment"] == []
    assert "icon" not in person
    assert "image" not in person
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", person["published"])
    created = await instance(app).db.fetchval("SELECT created_at FROM account")
    assert person["published"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))

    key = person["publicKey"]
    assert key["id"] == "https://solo.test/users/alice#main-key" == urls.key_id(settings)
    assert key["owner"] == person["id"]
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size >= 2048
    stored = instance(app).user_keys.private_key().public_key()
    assert public.public_numbers() == stored.public_numbers()


async def test_person_profile(client: httpx.AsyncClient, app: Starlette) -> None:
    fields = [{"name": "Site", "value": "https://alice.test"}, {"name": "Tag", "value": "<b>"}]
    await instance(app).db.execute(
        "UPDATE account SET display_name = ?, summary_html = ?, fields_json = ?,"
        " avatar_url = ?, header_url = ?, locked = 1, discoverable = 0",
        (
            "Alice A.",
            "<p>Hello</p>",
            json.dumps(fields),
            "https://solo.test/media/avatar.png",
            "https://solo.test/media/header.jpg",
        ),
    )
    person = await get_json(client, "/users/alice")
    assert person["name"] == "Alice A."
    assert person["summary"] == "<p>Hello</p>"
    assert person["manuallyApprovesFollowers"] is True
    assert person["discoverable"] is False
    assert person["attachment"] == [
        {
            "type": "PropertyValue",
            "name": "Site",
            "value": '<a href="https://alice.test" rel="me nofollow noopener noreferrer"'
            ' target="_blank">https://alice.test</a>',
        },
        {"type": "PropertyValue", "name": "Tag", "value": "&lt;b&gt;"},
    ]
    assert person["icon"] == {
        "type": "Image",
        "mediaType": "image/png",
        "url": "https://solo.test/media/avatar.png",
    }
    assert person["image"] == {
        "type": "Image",
        "mediaType": "image/jpeg",
        "url": "https://solo.test/media/header.jpg",
    }


@pytest.mark.parametrize("accept", [None, "text/html", AS_JSON])
async def test_instance_actor(
    client: httpx.AsyncClient, app: Starlette, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = await client.get("/actor", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == AS_JSON
    actor = response.json()
    assert actor["id"] == "https://solo.test/actor"
    assert actor["type"] == "Application"
    assert actor["preferredUsername"] == "solo.test"
    assert actor["inbox"] == "https://solo.test/actor/inbox"
    assert actor["outbox"] == "https://solo.test/actor/outbox"
    assert actor["url"] == "https://solo.test"
    assert actor["manuallyApprovesFollowers"] is True
    key = actor["publicKey"]
    assert key["id"] == "https://solo.test/actor#main-key"
    assert key["owner"] == actor["id"]
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    keys = instance(app)
    assert public.public_numbers() == keys.instance_keys.private_key().public_key().public_numbers()
    assert key["publicKeyPem"] != keys.user_keys.public_pem
    outbox = await get_json(client, actor["outbox"])
    assert outbox["totalItems"] == 0


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/users/bob", AS_JSON),
        ("/users/bob", LD_JSON),
        ("/users/bob", "text/html"),
        ("/users/bob/outbox", AS_JSON),
        ("/users/bob/outbox?page=true", AS_JSON),
        ("/users/bob/followers", AS_JSON),
        ("/users/bob/following", AS_JSON),
        ("/users/bob/collections/featured", AS_JSON),
    ],
)
async def test_unknown_user(client: httpx.AsyncClient, path: str, accept: str) -> None:
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 404


async def test_empty_outbox(client: httpx.AsyncClient) -> None:
    outbox = await get_json(client, "/users/alice/outbox")
    assert outbox["type"] == "OrderedCollection"
    assert outbox["id"] == "https://solo.test/users/alice/outbox"
    assert outbox["totalItems"] == 0
    [page] = await walk(client, outbox)
    assert page["orderedItems"] == []
    assert "next" not in page


async def test_outbox_pages(client: httpx.AsyncClient, app: Starlette) -> None:
    db, settings = instance(app).db, instance(app).settings
    public = [await add_status(db, settings, BASE_ID + n) for n in range(22)]
    unlisted = [await add_status(db, settings, BASE_ID + n, "unlisted") for n in range(22, 25)]
    hidden = [
        await add_status(db, settings, BASE_ID + 30, "private"),
        await add_status(db, settings, BASE_ID + 31, "direct"),
        await add_status(db, settings, BASE_ID + 32, deleted_at=time.time()),
        await add_status(db, settings, BASE_ID + 33, reblog_of_id=public[0]),
    ]
    remote = await add_actor(db, 1)
    await add_status(db, settings, BASE_ID + 34, actor_id=remote, ap_id="https://remote1.test/s/1")

    outbox = await get_json(client, "/users/alice/outbox")
    assert outbox["totalItems"] == 25
    pages = await walk(client, outbox)
    assert [len(page["orderedItems"]) for page in pages] == [20, 5]
    items = [item for page in pages for item in page["orderedItems"]]
    notes = [item["object"] for item in items]
    expected = [urls.status(settings, n) for n in reversed(public + unlisted)]
    assert [note["id"] for note in notes] == expected, "newest first, each once"
    hidden_ids = {urls.status(settings, n) for n in hidden}
    assert not hidden_ids & {note["id"] for note in notes}

    # A status posted while a peer pages does not shift what the next page holds.
    await add_status(db, settings, BASE_ID + 40)
    again = await get_json(client, pages[0]["next"])
    assert again["orderedItems"] == pages[1]["orderedItems"]


async def test_outbox_items(client: httpx.AsyncClient, app: Starlette) -> None:
    db, settings = instance(app).db, instance(app).settings
    await add_status(
        db,
        settings,
        BASE_ID + 1,
        summary="cw",
        sensitive=1,
        in_reply_to_ap_id="https://remote.test/notes/9",
        language="en",
    )
    await add_status(db, settings, BASE_ID + 2, "unlisted")
    outbox = await get_json(client, "/users/alice/outbox")
    [page] = await walk(client, outbox)
    unlisted, public = page["orderedItems"]
    actor, followers = urls.actor(settings), urls.followers(settings)

    assert public["type"] == "Create"
    assert public["id"] == f"{urls.status(settings, BASE_ID + 1)}/activity"
    assert public["actor"] == actor
    assert public["to"] == [PUBLIC]
    assert public["cc"] == [followers]
    note = public["object"]
    assert note["id"] == urls.status(settings, BASE_ID + 1)
    assert note["type"] == "Note"
    assert note["attributedTo"] == actor
    assert note["content"] == f"<p>post {BASE_ID + 1}</p>"
    assert note["contentMap"] == {"en": note["content"]}
    assert note["url"] == urls.status_page(settings, BASE_ID + 1)
    assert note["summary"] == "cw"
    assert note["sensitive"] is True
    assert note["inReplyTo"] == "https://remote.test/notes/9"
    assert note["published"] == "2023-11-14T22:13:21Z" == public["published"]
    assert (note["to"], note["cc"]) == (public["to"], public["cc"])

    assert unlisted["to"] == [followers]
    assert unlisted["cc"] == [PUBLIC]
    assert unlisted["object"]["summary"] is None
    assert unlisted["object"]["sensitive"] is False
    assert unlisted["object"]["inReplyTo"] is None


async def test_followers_and_following(client: httpx.AsyncClient, app: Starlette) -> None:
    db = instance(app).db
    followers, actor_ids = [], []
    for n in range(25):
        actor_ids.append(await add_actor(db, n))
        await add_follow(db, "in", actor_ids[-1])
        followers.append(f"https://remote{n}.test/users/r{n}")
    for n in range(25, 28):
        await add_follow(db, "in", await add_actor(db, n), state="pending")
    await add_follow(db, "in", await add_actor(db, 28, deleted=True))
    await add_follow(db, "out", await add_actor(db, 29))
    await add_follow(db, "out", await add_actor(db, 30), state="pending")
    await add_follow(db, "out", actor_ids[3])  # a mutual follow appears in both

    collection = await get_json(client, "/users/alice/followers")
    assert collection["type"] == "OrderedCollection"
    assert collection["id"] == "https://solo.test/users/alice/followers"
    assert collection["totalItems"] == 25
    pages = await walk(client, collection)
    assert [len(page["orderedItems"]) for page in pages] == [20, 5]
    listed = [item for page in pages for item in page["orderedItems"]]
    assert listed == list(reversed(followers))

    following = await get_json(client, "/users/alice/following")
    assert following["totalItems"] == 2
    [page] = await walk(client, following)
    assert page["orderedItems"] == [
        "https://remote3.test/users/r3",
        "https://remote29.test/users/r29",
    ]


async def test_featured_is_empty(client: httpx.AsyncClient) -> None:
    featured = await get_json(client, "/users/alice/collections/featured")
    assert featured["type"] == "OrderedCollection"
    assert featured["id"] == "https://solo.test/users/alice/collections/featured"
    assert featured["totalItems"] == 0
    assert featured["orderedItems"] == []


@pytest.mark.parametrize("max_id", ["abc", "-1", "1.5"])
async def test_bad_cursor(client: httpx.AsyncClient, max_id: str) -> None:
    response = await client.get(
        "/users/alice/outbox",
        params={"page": "true", "max_id": max_id},
        headers={"Accept": AS_JSON},
    )
    assert response.status_code == 400


async def test_outbox_items_carry_their_tags(client: httpx.AsyncClient, app: Starlette) -> None:
    await post(app.state.federation, "Tagged #Solo and @alice")
    response = await client.get(
        "/users/alice/outbox?page=true", headers={"Accept": "application/activity+json"}
    )
    (item,) = response.json()["orderedItems"]
    tags = {(tag["type"], tag["name"]) for tag in item["object"]["tag"]}
    assert ("Hashtag", "#solo") in tags
    assert ("Mention", "@alice@solo.test") in tags
