"""Keyword filters through the client API: filters v2 and their keywords and posts, the v1 shim,
and what they do to the timelines, threads, profiles, notifications and `filtered`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from starlette.applications import Starlette

from solo.store import notifications as notification_store
from tests.test_api_statuses import check_status, user_token
from tests.test_api_streaming import WAIT, Live, event_of, live, receive, subscribe, synced
from tests.test_web_pages import federation_of
from tests.test_web_queries import Builder

__all__ = ["live"]  # the fixture, shared with the streaming tests

FILTER_KEYS = {"id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"}


async def make_filter(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    title: str,
    keywords: list[str],
    *,
    context: list[str] | None = None,
    action: str = "warn",
    whole_word: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v2/filters",
        json={
            "title": title,
            "context": context or ["home", "notifications", "public", "thread", "account"],
            "filter_action": action,
            "keywords_attributes": [{"keyword": k, "whole_word": whole_word} for k in keywords],
            **extra,
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    assert set(found) == FILTER_KEYS
    return found


async def home(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[int, dict[str, Any]]:
    response = await client.get("/api/v1/timelines/home?limit=40", headers=auth)
    assert response.status_code == 200, response.text
    for status in response.json():
        check_status(status)
    return {int(status["id"]): status for status in response.json()}


async def test_filter_crud_v2(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    assert (await client.get("/api/v2/filters", headers=auth)).json() == []
    made = await make_filter(client, auth, "Spoilers", ["finale", "#got"], context=["home"])
    assert made["title"] == "Spoilers" and made["context"] == ["home"]
    assert made["filter_action"] == "warn" and made["expires_at"] is None
    assert [k["keyword"] for k in made["keywords"]] == ["finale", "#got"]
    assert all(k["whole_word"] for k in made["keywords"])
    listed = (await client.get("/api/v2/filters", headers=auth)).json()
    assert listed == [made]
    assert (await client.get(f"/api/v2/filters/{made['id']}", headers=auth)).json() == made

    first, second = made["keywords"]
    changed = await client.put(
        f"/api/v2/filters/{made['id']}",
        json={
            "title": "TV",
            "context": ["home", "public"],
            "filter_action": "hide",
            "expires_in": 3600,
            "keywords_attributes": [
                {"id": first["id"], "keyword": "season finale", "whole_word": False},
                {"id": second["id"], "_destroy": True},
                {"keyword": "episode"},
            ],
        },
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    updated = changed.json()
    assert updated["title"] == "TV" and updated["context"] == ["home", "public"]
    assert updated["filter_action"] == "hide" and updated["expires_at"] is not None
    assert [(k["keyword"], k["whole_word"]) for k in updated["keywords"]] == [
        ("season finale", False),
        ("episode", True),
    ]
    # expires_in given empty: the filter no longer ends.
    cleared = await client.put(
        f"/api/v2/filters/{made['id']}", data={"expires_in": ""}, headers=auth
    )
    assert cleared.json()["expires_at"] is None and cleared.json()["title"] == "TV"

    keywords = f"/api/v2/filters/{made['id']}/keywords"
    added = await client.post(
        keywords, data={"keyword": "Trailer", "whole_word": "0"}, headers=auth
    )
    assert added.status_code == 200 and added.json()["whole_word"] is False
    kid = added.json()["id"]
    assert len((await client.get(keywords, headers=auth)).json()) == 3
    renamed = await client.put(
        f"/api/v2/filter_keywords/{kid}", data={"keyword": "teaser"}, headers=auth
    )
    assert renamed.json() == {"id": kid, "keyword": "teaser", "whole_word": False}
    assert (await client.get(f"/api/v2/filter_keywords/{kid}", headers=auth)).json()["id"] == kid
    assert (await client.delete(f"/api/v2/filter_keywords/{kid}", headers=auth)).json() == {}
    assert (await client.get(f"/api/v2/filter_keywords/{kid}", headers=auth)).status_code == 404

    assert (await client.delete(f"/api/v2/filters/{made['id']}", headers=auth)).json() == {}
    gone = await client.get(f"/api/v2/filters/{made['id']}", headers=auth)
    assert gone.status_code == 404 and gone.json() == {"error": "Record not found"}
    assert (await client.get("/api/v2/filters", headers=auth)).json() == []
    # Reading needs read:filters, changing write:filters.
    reader = await user_token(client, scope="read")
    refused = await client.post("/api/v2/filters", json={"title": "x"}, headers=reader)
    assert refused.status_code == 403
    assert (await client.get("/api/v2/filters")).status_code == 401


async def test_warn_and_hide_on_the_home_timeline(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build = Builder(app)
    await build.setup()
    plain = await build.add(remote=True, content_html="<p>Nothing to see</p>")
    spoiler = await build.add(remote=True, content_html="<p>The <b>FINALE</b> was great</p>")
    inside = await build.add(remote=True, content_html="<p>Finales are long</p>")
    warned = await build.add(remote=True, summary="Politics", content_html="<p>hm</p>")
    boost = await build.add(remote=True, reblog_of_id=spoiler, content_html="")
    mine = await build.add(remote=False, content_html="<p>my finale</p>")
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    await make_filter(client, auth, "Spoilers", ["finale"])
    await make_filter(client, auth, "News", ["politics"], context=["home"], action="hide")

    shown = await home(client, auth)
    assert plain in shown and shown[plain]["filtered"] == []
    result = shown[spoiler]["filtered"]
    assert len(result) == 1 and result[0]["filter"]["title"] == "Spoilers"
    assert result[0]["keyword_matches"] == ["FINALE"] and result[0]["status_matches"] is None
    assert shown[inside]["filtered"] == []  # whole word: "Finales" is another word
    assert warned not in shown  # the content warning matched a hide filter of home
    # Home leaves out a boost of a post it shows already; their profile has both.
    profile = await client.get(f"/api/v1/accounts/{build.zed}/statuses", headers=auth)
    boosted = {int(s["id"]): s for s in profile.json()}[boost]
    assert boosted["filtered"][0]["filter"]["title"] == "Spoilers"
    assert boosted["reblog"]["filtered"][0]["filter"]["title"] == "Spoilers"
    assert shown[mine]["filtered"] == []  # our own posts are never filtered
    # Not a home filter in the public timeline: shown there.
    public = await client.get("/api/v1/timelines/public?limit=40", headers=auth)
    assert warned in {int(s["id"]) for s in public.json()}
    # A single post shows what it matches, whatever the context.
    one = (await client.get(f"/api/v1/statuses/{warned}", headers=auth)).json()
    assert one["filtered"][0]["filter"]["filter_action"] == "hide"
    # Visitors are filtered by nobody's filters.
    visitor = await client.get("/api/v1/timelines/public?limit=40")
    assert all(s["filtered"] == [] for s in visitor.json())


async def test_each_context_hides_only_there(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    parent = await build.add(remote=True, content_html="<p>a question</p>")
    reply = await build.add(
        remote=True,
        content_html="<p>Reply about crypto</p>",
        in_reply_to_id=parent,
        in_reply_to_ap_id=f"x{parent}",
    )
    async with build.federation.db.transaction() as conn:
        await notification_store.add(conn, "mention", build.zed, reply)
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    contexts = ["home", "public", "thread", "account", "notifications"]
    lists = {
        "home": "/api/v1/timelines/home",
        "public": "/api/v1/timelines/public",
        "account": f"/api/v1/accounts/{build.zed}/statuses",
        "notifications": "/api/v1/notifications",
    }

    async def seen() -> dict[str, bool]:
        found = {}
        for name, path in lists.items():
            entities = (await client.get(path, headers=auth)).json()
            ids = {
                int(e["status"]["id"]) if name == "notifications" else int(e["id"])
                for e in entities
            }
            found[name] = reply in ids
        context = (await client.get(f"/api/v1/statuses/{parent}/context", headers=auth)).json()
        found["thread"] = reply in {int(s["id"]) for s in context["descendants"]}
        return found

    assert await seen() == dict.fromkeys(contexts, True)
    made = await make_filter(client, auth, "Coins", ["CRYPTO"], context=["home"], action="hide")
    for context in contexts:
        await client.put(f"/api/v2/filters/{made['id']}", json={"context": [context]}, headers=auth)
        assert await seen() == {c: c != context for c in contexts}, context


async def test_filtering_a_post_by_its_id(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    post = await build.add(remote=True, content_html="<p>Harmless words</p>")
    boost = await build.add(remote=True, reblog_of_id=post, content_html="")
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    made = await make_filter(client, auth, "This one", [], context=["home"])
    statuses = f"/api/v2/filters/{made['id']}/statuses"
    # Naming the boost names the post it boosts.
    added = await client.post(statuses, data={"status_id": str(boost)}, headers=auth)
    assert added.status_code == 200, added.text
    assert added.json()["status_id"] == str(post)
    again = await client.post(statuses, data={"status_id": str(post)}, headers=auth)
    assert again.json() == added.json()
    shown = await home(client, auth)
    assert shown[post]["filtered"][0]["status_matches"] == [str(post)]
    assert shown[post]["filtered"][0]["keyword_matches"] is None
    profile = await client.get(f"/api/v1/accounts/{build.zed}/statuses", headers=auth)
    boosted = {int(s["id"]): s for s in profile.json()}[boost]
    assert boosted["filtered"][0]["status_matches"] == [str(post)]
    listed = (await client.get(statuses, headers=auth)).json()
    assert listed == [added.json()]
    row = added.json()["id"]
    assert (await client.get(f"/api/v2/filter_statuses/{row}", headers=auth)).json() == added.json()
    unknown = await client.post(statuses, data={"status_id": "12345"}, headers=auth)
    assert unknown.status_code == 422 and "status_id" in unknown.json()["error"]
    assert (await client.delete(f"/api/v2/filter_statuses/{row}", headers=auth)).json() == {}
    assert (await home(client, auth))[post]["filtered"] == []


async def test_v1_shim(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    post = await build.add(remote=True, content_html="<p>About Rust and Go</p>")
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    created = await client.post(
        "/api/v1/filters",
        data={"phrase": "rust", "context[]": ["home", "public"], "irreversible": "false"},
        headers=auth,
    )
    assert created.status_code == 200, created.text
    v1 = created.json()
    assert v1["phrase"] == "rust" and v1["context"] == ["home", "public"]
    assert v1["whole_word"] is True and v1["irreversible"] is False
    assert (await client.get("/api/v1/filters", headers=auth)).json() == [v1]
    v2 = (await client.get("/api/v2/filters", headers=auth)).json()
    assert v2[0]["title"] == "rust" and v2[0]["keywords"][0]["id"] == v1["id"]
    assert (await home(client, auth))[post]["filtered"][0]["keyword_matches"] == ["Rust"]
    changed = await client.put(
        f"/api/v1/filters/{v1['id']}", data={"phrase": "go", "irreversible": "true"}, headers=auth
    )
    assert changed.json()["phrase"] == "go" and changed.json()["irreversible"] is True
    assert post not in await home(client, auth)
    assert (await client.delete(f"/api/v1/filters/{v1['id']}", headers=auth)).json() == {}
    assert (await client.get("/api/v2/filters", headers=auth)).json() == []
    assert (await client.get(f"/api/v1/filters/{v1['id']}", headers=auth)).status_code == 404


async def test_bad_filters_are_refused_whole(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    thousand = [f"word{n}" for n in range(1000)]
    too_many = await client.post(
        "/api/v2/filters",
        json={
            "title": "Huge",
            "context": ["home"],
            "keywords_attributes": [{"keyword": k} for k in thousand],
        },
        headers=auth,
    )
    assert too_many.status_code == 422 and "keywords" in too_many.json()["error"]
    refusals = {
        "no title": {"context": ["home"]},
        "no context": {"title": "x"},
        "bad context": {"title": "x", "context": ["everywhere"]},
        "bad action": {"title": "x", "context": ["home"], "filter_action": "delete"},
        "bad expiry": {"title": "x", "context": ["home"], "expires_in": -5},
        "long keyword": {
            "title": "x",
            "context": ["home"],
            "keywords_attributes": [{"keyword": "k" * 500}],
        },
        "blank keyword": {
            "title": "x",
            "context": ["home"],
            "keywords_attributes": [{"keyword": "  "}],
        },
    }
    for why, body in refusals.items():
        answer = await client.post("/api/v2/filters", json=body, headers=auth)
        assert answer.status_code == 422, why
        assert answer.json()["error"].startswith("Validation failed: "), why
    assert (await client.get("/api/v2/filters", headers=auth)).json() == []
    # 100 keywords is the most a filter takes; the 101st is refused and nothing changes.
    made = await make_filter(client, auth, "Full", [f"w{n}" for n in range(100)])
    one_more = await client.post(
        f"/api/v2/filters/{made['id']}/keywords", data={"keyword": "extra"}, headers=auth
    )
    assert one_more.status_code == 422 and "at most 100" in one_more.json()["error"]
    kept = (await client.get(f"/api/v2/filters/{made['id']}", headers=auth)).json()
    assert len(kept["keywords"]) == 100
    # Someone else's keyword id in keywords_attributes is refused, not moved.
    other = await make_filter(client, auth, "Other", ["x"])
    stolen = await client.put(
        f"/api/v2/filters/{made['id']}",
        json={"title": "Changed", "keywords_attributes": [{"id": other["keywords"][0]["id"]}]},
        headers=auth,
    )
    assert stolen.status_code == 422
    assert (await client.get(f"/api/v2/filters/{made['id']}", headers=auth)).json() == kept


async def test_regex_like_keywords_match_literally(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build = Builder(app)
    await build.setup()
    literal = await build.add(remote=True, content_html="<p>price: (a+)+$ today</p>")
    other = await build.add(remote=True, content_html="<p>" + "a" * 5000 + "!</p>")
    dotted = await build.add(remote=True, content_html="<p>axb</p>")
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    await make_filter(client, auth, "Regex", ["(a+)+$", "a.b", "[", "\\"], whole_word=False)
    started = time.monotonic()
    shown = await home(client, auth)
    assert time.monotonic() - started < 5
    assert shown[literal]["filtered"][0]["keyword_matches"] == ["(a+)+$"]
    assert shown[other]["filtered"] == [] and shown[dotted]["filtered"] == []


async def test_an_expired_filter_stops_applying(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    post = await build.add(remote=True, content_html="<p>weather report</p>")
    await build.federation.feeds.rebuild()
    auth = await user_token(client)
    made = await make_filter(client, auth, "Soon", ["weather"], action="hide", expires_in=2)
    ends = time.time() + 2
    if time.time() < ends - 1:  # on a slow machine the check before the end may come too late
        assert post not in await home(client, auth)
    await asyncio.sleep(max(0.0, ends - time.time()) + 0.2)
    assert post in await home(client, auth)
    assert (await client.get(f"/api/v2/filters/{made['id']}", headers=auth)).status_code == 200
    assert federation_of(app) is not None


async def test_streams_send_warned_posts_with_filtered_and_not_hidden_ones(
    live: Live,
) -> None:
    build = Builder(live.app)
    await build.setup()
    async with httpx.AsyncClient(base_url=live.url("", "http"), timeout=WAIT) as http:
        auth = live.bearer()
        await make_filter(http, auth, "Warned", ["sport"], context=["home", "public"])
        await make_filter(http, auth, "Gone", ["crypto"], context=["home"], action="hide")
    federation = live.federation
    async with live.socket("/api/v1/streaming?stream=user", subprotocols=[live.token]) as user:
        await subscribe(user, "public")
        hidden_one = await build.add(remote=True, content_html="<p>Buy crypto now</p>")
        await federation.feeds.status_added(hidden_one)
        warned = await build.add(remote=True, content_html="<p>Sport results</p>")
        await federation.feeds.status_added(warned)
        seen = [event_of(await receive(user)) for _ in range(3)]
        got = {(tuple(stream), int(status["id"])): status for stream, _, status in seen}
        # The hide filter is for home: the public stream still has that post, unfiltered.
        assert set(got) == {(("user",), warned), (("public",), warned), (("public",), hidden_one)}
        for key in ((("user",), warned), (("public",), warned)):
            assert got[key]["filtered"][0]["filter"]["title"] == "Warned"
        assert got[(("public",), hidden_one)]["filtered"][0]["filter"]["filter_action"] == "hide"
        await synced(user)  # and nothing more came
