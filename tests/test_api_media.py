"""Uploads through the API (v1 and v2, the file part without a content type, as toot sends
it), reading and describing them, posting with them, refusals that leave nothing stored, and
the round trip between two instances through the API alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from solo.config import Settings
from solo.store import media as media_store
from solo.store import notifications as notification_store
from solo.store import statuses as status_store
from tests.conftest import make_settings
from tests.fleet import eventually, fleet_of
from tests.test_actions_statuses import befriend
from tests.test_api_statuses import check_status, stored, user_token
from tests.test_media_attachments import jpeg_with_location, png
from tests.test_web_pages import federation_of

MEDIA_KEYS = {
    "id", "type", "url", "preview_url", "remote_url", "preview_remote_url", "text_url", "meta",
    "description", "blurhash",
}  # fmt: skip
MAX_UPLOAD = 64 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_upload_bytes=MAX_UPLOAD)


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await user_token(client)


def check_media(item: dict[str, Any]) -> None:
    assert set(item) == MEDIA_KEYS, set(item) ^ MEDIA_KEYS
    assert isinstance(item["id"], str)


async def upload(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    data: bytes,
    version: str = "v2",
    **fields: str,
) -> httpx.Response:
    # No content type on the part, as toot sends it: what the file is comes from its bytes.
    return await client.post(
        f"/api/{version}/media",
        files={"file": ("picture", data)},
        data=fields,
        headers=auth,
    )


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_an_upload_is_processed_at_once(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings, version: str
) -> None:
    response = await upload(
        client, auth, jpeg_with_location(), version, description="A red door", focus="0.5,-0.25"
    )
    assert response.status_code == 200, response.text
    item = response.json()
    check_media(item)
    assert item["type"] == "image" and item["description"] == "A red door"
    assert item["url"].startswith(f"{settings.base_url}/media/")
    assert item["preview_url"].startswith(f"{settings.base_url}/media/")
    assert item["remote_url"] is None and item["blurhash"]
    assert item["meta"]["original"] == {"width": 48, "height": 64, "size": "48x64", "aspect": 0.75}
    assert item["meta"]["small"]["size"] == "48x64"
    assert item["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    served = await client.get(item["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    again = await client.get(f"/api/v1/media/{item['id']}", headers=auth)
    assert again.status_code == 200 and again.json() == item


async def test_describe_post_and_edit_alt_text(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    item = (await upload(client, auth, png())).json()
    described = await client.put(
        f"/api/v1/media/{item['id']}", json={"description": "Green", "focus": "0,1"}, headers=auth
    )
    assert described.status_code == 200
    assert described.json()["description"] == "Green"
    assert described.json()["meta"]["focus"] == {"x": 0.0, "y": 1.0}
    made = await client.post(
        "/api/v1/statuses", json={"status": "", "media_ids": [item["id"]]}, headers=auth
    )
    assert made.status_code == 200, made.text
    status = made.json()
    check_status(status)
    [attached] = status["media_attachments"]
    check_media(attached)
    assert attached["id"] == item["id"] and attached["description"] == "Green"
    # Once posted, it changes through the post's edit only.
    late = await client.put(f"/api/v1/media/{item['id']}", json={"description": "x"}, headers=auth)
    assert late.status_code == 404
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={
            "status": "Now with words",
            "media_ids": [item["id"]],
            "media_attributes": [{"id": item["id"], "description": "A green square"}],
        },
        headers=auth,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["media_attachments"][0]["description"] == "A green square"
    other = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "x", "media_attributes": [{"id": "1234", "description": "No"}]},
        headers=auth,
    )
    assert other.status_code == 422 and "media_attributes" in other.json()["error"]
    reused = await client.post(
        "/api/v1/statuses", json={"status": "again", "media_ids": [item["id"]]}, headers=auth
    )
    assert reused.status_code == 422


async def test_an_edit_adds_reorders_and_removes_attachments(
    client: httpx.AsyncClient, auth: dict[str, str], app: Starlette
) -> None:
    first = (await upload(client, auth, png())).json()
    second = (await upload(client, auth, jpeg_with_location())).json()
    made = await client.post(
        "/api/v1/statuses", json={"status": "Two soon", "media_ids": [first["id"]]}, headers=auth
    )
    status_id = made.json()["id"]
    both = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={
            "status": "Two now",
            "media_ids": [second["id"], first["id"]],
            "media_attributes": [{"id": second["id"], "description": "The door"}],
        },
        headers=auth,
    )
    assert both.status_code == 200, both.text
    assert [(m["id"], m["description"]) for m in both.json()["media_attachments"]] == [
        (second["id"], "The door"),
        (first["id"], None),
    ]
    served = await client.get(
        f"/users/alice/statuses/{status_id}", headers={"Accept": "application/activity+json"}
    )
    assert [a["url"] for a in served.json()["attachment"]] == [second["url"], first["url"]]
    # Removing one detaches it (it goes a day later, with the uploads no post took).
    one = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={"status": "One again", "media_ids": [second["id"]]},
        headers=auth,
    )
    assert [m["id"] for m in one.json()["media_attachments"]] == [second["id"]]
    detached = await media_store.get_media(federation_of(app).db, int(first["id"]))
    assert detached is not None and detached.status_id is None
    # Refusals change nothing: five attachments, another post's upload, a poll with media.
    other = await client.post(
        "/api/v1/statuses", json={"status": "Mine", "media_ids": [first["id"]]}, headers=auth
    )
    taken = await client.put(
        f"/api/v1/statuses/{status_id}",
        json={"status": "Grab", "media_ids": [second["id"], first["id"]]},
        headers=auth,
    )
    assert other.status_code == 200 and taken.status_code == 422
    polled = await client.post(
        "/api/v1/statuses",
        json={"status": "Vote", "poll": {"options": ["a", "b"], "expires_in": 3600}},
        headers=auth,
    )
    fresh = (await upload(client, auth, png())).json()
    refused = await client.put(
        f"/api/v1/statuses/{polled.json()['id']}",
        json={"status": "Vote", "media_ids": [fresh["id"]]},
        headers=auth,
    )
    assert refused.status_code == 422 and "not both" in refused.json()["error"]
    after = await client.get(f"/api/v1/statuses/{status_id}", headers=auth)
    assert [m["id"] for m in after.json()["media_attachments"]] == [second["id"]]
    assert "One again" in after.json()["content"]


async def test_refused_uploads_store_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], app: Starlette, settings: Settings
) -> None:
    before = await stored(app, "media")
    not_media = await upload(client, auth, b"%PDF-1.4 definitely not a picture" * 10)
    assert not_media.status_code == 422
    assert not_media.json()["error"]
    too_big = await upload(client, auth, os.urandom(MAX_UPLOAD + 10))
    assert too_big.status_code == 413
    assert too_big.json()["error"]
    no_file = await client.post("/api/v2/media", data={"description": "x"}, headers=auth)
    assert no_file.status_code == 422 and "file" in no_file.json()["error"]
    bad_focus = await upload(client, auth, png(), focus="left")
    assert bad_focus.status_code == 422
    assert await stored(app, "media") == before
    uploads = settings.data_dir / "media" / "uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]
    read_only = await user_token(client, "read")
    assert (await upload(client, read_only, png())).status_code == 403
    assert (await client.get("/api/v1/media/999", headers=auth)).status_code == 404


async def test_two_instances_through_the_api(tmp_path: Path, template_root: Path) -> None:
    """A posts a picture through the API; B, following A, receives it and favourites it
    through the API; A is told."""
    async with fleet_of(tmp_path, template_root, "ann", "bob") as (_, nodes):
        ann, bob = nodes["ann"], nodes["bob"]
        await befriend(bob, ann)
        ann_auth = await user_token(ann.client, username="ann")
        bob_auth = await user_token(bob.client, username="bob")
        item = (await upload(ann.client, ann_auth, png(), description="Green")).json()
        made = await ann.client.post(
            "/api/v1/statuses",
            json={"status": "Look", "media_ids": [item["id"]]},
            headers={**ann_auth, "Idempotency-Key": "one"},
        )
        assert made.status_code == 200, made.text
        ap_id = made.json()["uri"]

        async def arrived() -> bool:
            return await status_store.get_status_by_ap_id(bob.federation.db, ap_id) is not None

        await eventually(arrived, what="the post to reach bob")
        copy = await status_store.get_status_by_ap_id(bob.federation.db, ap_id)
        assert copy is not None
        seen = await bob.client.get(f"/api/v1/statuses/{copy.id}", headers=bob_auth)
        assert seen.status_code == 200
        check_status(seen.json())
        [attachment] = seen.json()["media_attachments"]
        assert attachment["remote_url"] == item["url"]
        assert attachment["url"].startswith(f"{bob.settings.base_url}/proxy/")
        assert attachment["description"] == "Green"
        assert seen.json()["account"]["acct"] == "ann@ann.test"
        liked = await bob.client.post(f"/api/v1/statuses/{copy.id}/favourite", headers=bob_auth)
        assert liked.status_code == 200 and liked.json()["favourited"] is True

        async def told() -> bool:
            found = await notification_store.latest(ann.federation.db)
            return any(n.type == "favourite" for n in found)

        await eventually(told, what="ann to be told of the favourite")
        people = await ann.client.get(
            f"/api/v1/statuses/{made.json()['id']}/favourited_by", headers=ann_auth
        )
        assert [a["acct"] for a in people.json()] == ["bob@bob.test"]

        # A poll posted through the API on A, voted in through the API on B.
        asked = await ann.client.post(
            "/api/v1/statuses",
            json={"status": "Tea?", "poll": {"options": ["Yes", "No"], "expires_in": 3600}},
            headers=ann_auth,
        )
        assert asked.status_code == 200, asked.text
        poll_ap_id = asked.json()["uri"]

        async def poll_arrived() -> bool:
            return await status_store.get_status_by_ap_id(bob.federation.db, poll_ap_id) is not None

        await eventually(poll_arrived, what="the poll to reach bob")
        question = await status_store.get_status_by_ap_id(bob.federation.db, poll_ap_id)
        assert question is not None
        voted = await bob.client.post(
            f"/api/v1/polls/{question.id}/votes", data={"choices[]": ["1"]}, headers=bob_auth
        )
        assert voted.status_code == 200, voted.text
        assert voted.json()["voted"] is True and voted.json()["own_votes"] == [1]
        twice = await bob.client.post(
            f"/api/v1/polls/{question.id}/votes", data={"choices[]": ["0"]}, headers=bob_auth
        )
        assert twice.status_code == 422

        async def counted() -> bool:
            poll = (await ann.client.get(f"/api/v1/polls/{asked.json()['id']}")).json()
            return [o["votes_count"] for o in poll["options"]] == [0, 1]

        await eventually(counted, what="ann to count bob's vote")
