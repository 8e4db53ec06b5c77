"""The statuses API: posting (JSON, forms, polls, replies, Idempotency-Key), reading, editing,
deleting, the actions on a post and who did them, and the Status entity's every field."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from solo import urls
from solo.api.status_entities import render_statuses
from solo.store import cards as card_store
from solo.store import polls as poll_store
from solo.store.cards import Card
from solo.store.media import NewMedia
from solo.store.polls import PollOption, PollState
from tests.conftest import PASSWORD
from tests.test_api_oauth import bearer, register
from tests.test_web_pages import federation_of
from tests.test_web_queries import ZED, Builder, populate, statements

# Every key of Mastodon 4.2's Status, and of the entities inside it.
STATUS_KEYS = {
    "id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
    "spoiler_text", "media_attachments", "application", "mentions", "tags", "emojis",
    "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id",
    "in_reply_to_account_id", "reblog", "poll", "card", "language", "text", "edited_at",
    "favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered",
}  # fmt: skip
POLL_KEYS = {
    "id", "expires_at", "expired", "multiple", "votes_count", "voters_count", "options",
    "emojis", "voted", "own_votes",
}  # fmt: skip
MENTION_KEYS = {"id", "username", "url", "acct"}
TAG_KEYS = {"name", "url", "history"}
CARD_KEYS = {
    "url", "title", "description", "type", "author_name", "author_url", "provider_name",
    "provider_url", "html", "width", "height", "image", "embed_url", "blurhash",
}  # fmt: skip
ACCOUNT_KEYS = {"id", "username", "acct", "url", "avatar", "note", "header", "created_at"}


async def user_token(
    client: httpx.AsyncClient, scope: str = "read write follow push", username: str = "alice"
) -> dict[str, str]:
    app = await register(client, scopes="read write follow push")
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": PASSWORD,
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await user_token(client)


async def post(client: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", json=body, headers=auth)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def check_status(status: dict[str, Any]) -> None:
    """Every field Mastodon emits, and never `scheduled_at` (toot then says "scheduled")."""
    assert set(status) == STATUS_KEYS, set(status) ^ STATUS_KEYS
    assert set(status["account"]) >= ACCOUNT_KEYS
    assert isinstance(status["id"], str) and status["id"].isdigit()
    for mention in status["mentions"]:
        assert set(mention) == MENTION_KEYS
    for tag in status["tags"]:
        assert set(tag) == TAG_KEYS
    if status["poll"] is not None:
        assert set(status["poll"]) == POLL_KEYS
    if status["card"] is not None:
        assert set(status["card"]) == CARD_KEYS
    if status["reblog"] is not None:
        check_status(status["reblog"])


async def stored(app: Starlette, table: str = "statuses") -> int:
    return int(await federation_of(app).db.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def test_a_post_has_every_field_and_reads_back(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Any
) -> None:
    status = await post(
        client,
        auth,
        status="Hello #World @alice",
        spoiler_text="Careful",
        visibility="unlisted",
        language="en",
    )
    check_status(status)
    assert status["visibility"] == "unlisted" and status["spoiler_text"] == "Careful"
    assert status["sensitive"] is True and status["language"] == "en"
    assert status["text"] is None and status["edited_at"] is None
    assert status["url"].startswith(settings.base_url)
    assert [t["name"].lower() for t in status["tags"]] == ["world"]
    assert status["mentions"][0]["acct"] == "alice"
    assert status["account"]["acct"] == "alice"
    assert "Hello" in status["content"]
    fetched = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth)
    assert fetched.status_code == 200 and fetched.json() == status
    visitor = await client.get(f"/api/v1/statuses/{status['id']}")
    assert visitor.status_code == 200
    assert visitor.json()["favourited"] is False


async def test_visitors_do_not_see_private_posts(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    status = await post(client, auth, status="Only friends", visibility="private")
    assert (await client.get(f"/api/v1/statuses/{status['id']}")).status_code == 404
    mine = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth)
    assert mine.status_code == 200 and mine.json()["visibility"] == "private"


async def test_a_form_post_with_a_poll(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/statuses",
        data={
            "status": "Tea or coffee?",
            "poll[options][]": ["Tea", "Coffee"],
            "poll[expires_in]": "7200",
            "poll[multiple]": "1",
            "poll[hide_totals]": "0",
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    status = response.json()
    check_status(status)
    poll = status["poll"]
    assert poll["id"] == status["id"] and poll["multiple"] is True
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"]
    assert poll["expired"] is False and poll["voted"] is True and poll["own_votes"] == []
    shown = await client.get(f"/api/v1/polls/{poll['id']}", headers=auth)
    assert shown.status_code == 200 and shown.json() == poll
    own_vote = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": ["0"]}, headers=auth
    )
    assert own_vote.status_code == 422
    assert "own poll" in own_vote.json()["error"]
    assert (await client.get("/api/v1/polls/12345", headers=auth)).status_code == 404


async def test_the_idempotency_key_makes_one_post(
    client: httpx.AsyncClient, auth: dict[str, str], app: Starlette
) -> None:
    before = await stored(app)
    headers = {**auth, "Idempotency-Key": "abc-123"}
    body = {"status": "Only once", "media_ids": []}
    first = await client.post("/api/v1/statuses", json=body, headers=headers)
    again = await client.post("/api/v1/statuses", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert await stored(app) == before + 1
    other = await client.post(
        "/api/v1/statuses", json=body, headers={**auth, "Idempotency-Key": "other"}
    )
    assert other.json()["id"] != first.json()["id"]
    # A refused post frees its key: the corrected retry is made.
    refused = await client.post(
        "/api/v1/statuses", json={"status": ""}, headers={**auth, "Idempotency-Key": "k2"}
    )
    assert refused.status_code == 422
    retried = await client.post(
        "/api/v1/statuses", json={"status": "Fixed"}, headers={**auth, "Idempotency-Key": "k2"}
    )
    assert retried.status_code == 200 and "Fixed" in retried.json()["content"]
    # Another app's token with the same key makes its own post.
    elsewhere = await user_token(client)
    theirs = await client.post(
        "/api/v1/statuses", json=body, headers={**elsewhere, "Idempotency-Key": "abc-123"}
    )
    assert theirs.status_code == 200 and theirs.json()["id"] != first.json()["id"]


async def test_tokens_and_scopes(client: httpx.AsyncClient, app: Starlette) -> None:
    read_only = await user_token(client, "read")
    before = await stored(app)
    refused = await client.post("/api/v1/statuses", json={"status": "x"}, headers=read_only)
    assert refused.status_code == 403
    missing = await client.post("/api/v1/statuses", json={"status": "x"})
    assert missing.status_code == 401
    writer = await user_token(client, "write:statuses")
    made = await client.post("/api/v1/statuses", json={"status": "x"}, headers=writer)
    assert made.status_code == 200
    liked = await client.post(f"/api/v1/statuses/{made.json()['id']}/favourite", headers=writer)
    assert liked.status_code == 403
    assert await stored(app) == before + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "x", "visibility": "everyone"}, "visibility"),
        (
            {"status": "x", "poll": {"options": ["a", "b"], "expires_in": "soon"}},
            "poll[expires_in]",
        ),
        ({"status": "x", "media_ids": ["not-an-id"]}, "media_ids"),
        ({"status": "x", "sensitive": "perhaps"}, "sensitive"),
        ({"status": "x", "scheduled_at": "2020-01-01T00:00:00Z"}, "5 minutes in the future"),
        ({"status": "x", "scheduled_at": "next week"}, "scheduled_at is not a date"),
        ({"status": "x" * 501}, "500 characters"),
        ({"status": ""}, "Write something"),
        ({"status": "x", "poll": {"options": ["only"]}}, "at least 2 options"),
        ({"status": "x", "media_ids": ["99999"]}, "attachments"),
    ],
)
async def test_bad_posts_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, auth: dict[str, str], app: Starlette, body: Any, field: str
) -> None:
    before = await stored(app)
    response = await client.post("/api/v1/statuses", json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]
    assert response.json()["error"].startswith("Validation failed: ")
    assert await stored(app) == before


async def test_unknown_ids_are_not_found(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/v1/statuses/123"),
        ("GET", "/api/v1/statuses/abc"),
        ("DELETE", "/api/v1/statuses/123"),
        ("PUT", "/api/v1/statuses/123"),
        ("GET", "/api/v1/statuses/123/context"),
        ("GET", "/api/v1/statuses/123/source"),
        ("GET", "/api/v1/statuses/123/history"),
        ("POST", "/api/v1/statuses/123/favourite"),
        ("POST", "/api/v1/statuses/123/reblog"),
        ("POST", "/api/v1/statuses/123/bookmark"),
        ("POST", "/api/v1/statuses/123/pin"),
        ("GET", "/api/v1/statuses/123/favourited_by"),
        ("GET", "/api/v1/statuses/99999999999999999999999/reblogged_by"),
        ("GET", "/api/v1/polls/123"),
    ]:
        response = await client.request(method, path, headers=auth)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": "Record not found"}
    reply = await client.post(
        "/api/v1/statuses", json={"status": "x", "in_reply_to_id": "123"}, headers=auth
    )
    assert reply.status_code == 404


async def test_replies_context_and_counts(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    parent = await post(client, auth, status="First")
    reply = await post(client, auth, status="Second", in_reply_to_id=parent["id"])
    assert reply["in_reply_to_id"] == parent["id"]
    assert reply["in_reply_to_account_id"] == parent["account"]["id"]
    deeper = await post(client, auth, status="Third", in_reply_to_id=reply["id"])
    context = (await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=auth)).json()
    assert set(context) == {"ancestors", "descendants"}
    assert [s["id"] for s in context["ancestors"]] == [parent["id"]]
    assert [s["id"] for s in context["descendants"]] == [deeper["id"]]
    for status in context["ancestors"] + context["descendants"]:
        check_status(status)
    shown = (await client.get(f"/api/v1/statuses/{parent['id']}", headers=auth)).json()
    assert shown["replies_count"] == 1


async def test_edit_source_history_and_delete(
    client: httpx.AsyncClient, auth: dict[str, str], app: Starlette
) -> None:
    status = await post(client, auth, status="Frist post")
    source = (await client.get(f"/api/v1/statuses/{status['id']}/source", headers=auth)).json()
    assert source == {"id": status["id"], "text": "Frist post", "spoiler_text": ""}
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "First post", "spoiler_text": "typo"},
        headers=auth,
    )
    assert edited.status_code == 200, edited.text
    check_status(edited.json())
    assert "First post" in edited.json()["content"] and edited.json()["edited_at"]
    assert edited.json()["spoiler_text"] == "typo"
    history = (await client.get(f"/api/v1/statuses/{status['id']}/history", headers=auth)).json()
    assert ["Frist" in v["content"] for v in history] == [True, False]
    assert set(history[0]) == {
        "content", "spoiler_text", "sensitive", "created_at", "account", "poll",
        "media_attachments", "emojis",
    }  # fmt: skip
    too_long = await client.put(
        f"/api/v1/statuses/{status['id']}", json={"status": "x" * 600}, headers=auth
    )
    assert too_long.status_code == 422
    before = await stored(app)
    deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth)
    assert deleted.status_code == 200
    check_status(deleted.json())
    assert deleted.json()["text"] == "First post"
    assert await stored(app) == before - 1
    assert (await client.get(f"/api/v1/statuses/{status['id']}", headers=auth)).status_code == 404


async def test_favourite_boost_bookmark_pin_and_who(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    status = await post(client, auth, status="Worth it")
    base = f"/api/v1/statuses/{status['id']}"
    liked = (await client.post(f"{base}/favourite", headers=auth)).json()
    assert liked["favourited"] is True and liked["favourites_count"] == 1
    boost = await client.post(f"{base}/reblog", headers=auth)
    assert boost.status_code == 200
    wrapper = boost.json()
    check_status(wrapper)
    assert wrapper["reblog"]["id"] == status["id"] and wrapper["id"] != status["id"]
    assert wrapper["reblogged"] is True and wrapper["reblog"]["reblogs_count"] == 1
    assert (await client.get(f"/api/v1/statuses/{wrapper['id']}", headers=auth)).json()["reblog"][
        "id"
    ] == status["id"]
    marked = (await client.post(f"{base}/bookmark", headers=auth)).json()
    assert marked["bookmarked"] is True
    pinned = (await client.post(f"{base}/pin", headers=auth)).json()
    assert pinned["pinned"] is True
    for path in ("favourited_by", "reblogged_by"):
        people = await client.get(f"{base}/{path}", headers=auth)
        assert people.status_code == 200
        assert [a["acct"] for a in people.json()] == ["alice"]
        assert people.headers["link"].index('rel="next"') < people.headers["link"].index("prev")
    undone = [
        (await client.post(f"{base}/{action}", headers=auth)).json()
        for action in ("unfavourite", "unreblog", "unbookmark", "unpin")
    ]
    last = undone[-1]
    assert not (last["favourited"] or last["reblogged"] or last["bookmarked"] or last["pinned"])
    assert last["favourites_count"] == 0 and last["reblogs_count"] == 0
    assert (await client.get(f"{base}/favourited_by", headers=auth)).json() == []
    private = await post(client, auth, status="Mine", visibility="private")
    refused = await client.post(f"/api/v1/statuses/{private['id']}/reblog", headers=auth)
    assert refused.status_code == 422


async def richer_entries(app: Starlette) -> None:
    """40 more entries cycling through mentions and tags, polls, attachments, link cards and
    replies, so that any 5 in a row show every kind."""
    build = Builder(app)
    build.now = time.time() - 1000  # after `populate`'s entries
    build.zed = int(
        await build.federation.db.fetchval("SELECT id FROM actors WHERE ap_id = ?", (ZED,))
    )
    me = urls.actor(build.settings)
    tags = json.dumps(
        {
            "tag": [
                {"type": "Mention", "href": ZED, "name": "@zed@remote.test"},
                {"type": "Mention", "href": me, "name": "@alice@solo.test"},
                {"type": "Hashtag", "href": "https://remote.test/tags/x", "name": "#Cats"},
            ]
        }
    )
    previous = None
    for n in range(40):
        kind = n % 5
        if kind == 0:
            entry = await build.add(remote=True, raw=tags)
        elif kind == 1:
            entry = await build.add(remote=True, type="Question")
            async with build.federation.db.transaction() as conn:
                await poll_store.save(
                    conn,
                    entry,
                    PollState((PollOption("a", 1), PollOption("b", 2)), voters_count=3),
                    refreshed_at=time.time(),
                )
        elif kind == 2:
            picture = NewMedia(
                kind="image", media_type="image/png", remote_url="https://remote.test/a.png"
            )
            entry = await build.add(remote=True, media=(picture,))
        elif kind == 3:
            entry = await build.add(remote=False)
            async with build.federation.db.transaction() as conn:
                await card_store.save(
                    conn,
                    f"https://x.test/{n}",
                    Card(f"https://x.test/{n}", f"https://x.test/{n}", "A page"),
                )
                await card_store.attach(conn, entry, f"https://x.test/{n}")
        else:
            assert previous is not None
            entry = await build.add(
                remote=True, in_reply_to_id=previous, in_reply_to_ap_id=f"x{previous}"
            )
        previous = entry


async def test_a_page_of_statuses_costs_the_same_whatever_its_size(app: Starlette) -> None:
    await populate(app)
    await richer_entries(app)
    federation = federation_of(app)
    rows = await federation.db.fetchall("SELECT id FROM statuses ORDER BY id DESC LIMIT 80")
    ids = [row[0] for row in rows]
    counted = {}
    for size, chosen in ((5, ids[:5]), (40, ids[:40]), (45, ids[35:80])):
        async with statements(federation.db) as seen:
            page = await render_statuses(federation, chosen, None)
        assert len(page) == size
        for status in page:
            check_status(status)
        counted[size] = seen
    assert len(counted[5]) == len(counted[40]) <= 12, counted[40]
    assert len(counted[45]) <= 12, counted[45]
    shown = await render_statuses(federation, ids[:5], None)
    assert {s["id"] for s in shown} == {str(i) for i in ids[:5]}
    assert any(s["poll"] for s in shown) and any(s["card"] for s in shown)
    assert any(s["media_attachments"] for s in shown)
    assert any(s["in_reply_to_id"] for s in shown)
    mentioned = next(s for s in shown if s["mentions"])
    assert [m["acct"] for m in mentioned["mentions"]] == ["zed@remote.test", "alice"]
    assert [t["name"] for t in mentioned["tags"]] == ["Cats"]
