"""The micro-cache of public pages (solo.edge.page_cache): anonymous visitors share one render a
second; a write shows on the next reload; the language, the coding and a login are respected.
And the door they wait at while the owner's page is prepared (solo.edge.owner_first).

An answer served from the cache carries an `Age` header; a fresh render does not."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.types import Message, Receive, Scope, Send

from solo.actions import statuses
from solo.config import Settings
from solo.edge.owner_first import MAX_WAIT, OwnerFirst
from solo.edge.page_cache import RENDERS_AT_ONCE, SECONDS, PageCache, keepable
from tests.test_login import login
from tests.test_web_pages import federation_of, send

GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}


@pytest.fixture
async def visitor(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same instance, never logged in, once the templates are compiled
    (on a busy machine the first render may take longer than a page is kept) and start-up's
    writes have ended."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
        await http.get("/@alice/with_replies")
        # Kept for a minute here, not a second: on a loaded machine two requests of a test can
        # be more than a second apart. The test of expiry sets its own time.
        page_cache_of(app).seconds = 60.0
        await settled(app)
        yield http


def page_cache_of(app: Starlette) -> PageCache:
    layer = app.middleware_stack  # built by the first request
    while not isinstance(layer, PageCache):
        layer = layer.app  # type: ignore[union-attr]
    return layer


async def settled(app: Starlette) -> None:
    """Once what runs in the background after a write (jobs, samples) stopped writing: a write
    retires every page kept, so a test of what is kept starts from here."""
    db = federation_of(app).db
    before = -1
    while db.writes != before:  # a quarter of a second with no write: a loaded machine is slow
        before = db.writes
        await asyncio.sleep(0.25)


async def test_a_visitor_gets_the_page_a_moment_ago_rendered(
    visitor: httpx.AsyncClient, app: Starlette
) -> None:
    await statuses.post(federation_of(app), "For everyone to read")
    await settled(app)
    first = await visitor.get("/@alice")
    second = await visitor.get("/@alice")
    assert first.status_code == second.status_code == 200
    assert "age" not in first.headers and second.headers["age"] == "0"
    assert second.text == first.text and "For everyone to read" in second.text
    assert "set-cookie" not in second.headers
    assert second.headers["content-security-policy"] == first.headers["content-security-policy"]
    for path in ("/@alice/with_replies", "/tags/solo", "/users/alice"):
        await visitor.get(path)
        again = await visitor.get(path, headers={"Accept": "text/html"})
        assert again.status_code == 200 and "age" not in again.headers  # another Accept
        assert (await visitor.get(path, headers={"Accept": "text/html"})).headers["age"] == "0"


async def test_a_new_post_shows_on_the_very_next_reload(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient, app: Starlette
) -> None:
    await statuses.post(federation_of(app), "The first post")
    await settled(app)
    await visitor.get("/@alice")
    assert "age" in (await visitor.get("/@alice")).headers
    assert (await login(client)).status_code == 303
    posted = await send(client, "/statuses", text="Straight from the oven", summary="", back="/")
    assert posted.status_code == 303
    reloaded = await visitor.get("/@alice")
    assert "Straight from the oven" in reloaded.text and "age" not in reloaded.headers
    await settled(app)
    status_id = await federation_of(app).db.fetchval("SELECT max(id) FROM statuses")
    assert "Straight from the oven" in (await visitor.get(f"/@alice/{status_id}")).text
    assert "age" in (await visitor.get(f"/@alice/{status_id}")).headers
    await statuses.delete(federation_of(app), status_id)
    assert (await visitor.get(f"/@alice/{status_id}")).status_code == 404
    assert "Straight from the oven" not in (await visitor.get("/@alice")).text


async def test_an_edited_profile_shows_at_once(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await visitor.get("/@alice")
    assert "age" in (await visitor.get("/@alice")).headers
    assert (await login(client)).status_code == 303
    response = await send(
        client, "/settings", display_name="Alice Liddell", bio="Down the rabbit hole"
    )
    assert response.status_code == 303
    profile = await visitor.get("/@alice")
    assert "Alice Liddell" in profile.text and "rabbit hole" in profile.text


async def test_each_language_and_coding_has_its_own_page(visitor: httpx.AsyncClient) -> None:
    german = await visitor.get("/@alice", headers=GERMAN)
    english = await visitor.get("/@alice", headers=ENGLISH)
    assert "Beiträge" in german.text and "Beiträge" not in english.text
    assert ">Posts<" in english.text
    again = await visitor.get("/@alice", headers={"Accept-Language": "de"})  # also German
    assert again.headers.get("age") == "0" and again.text == german.text
    again = await visitor.get("/@alice", headers=ENGLISH)
    assert again.headers.get("age") == "0" and again.text == english.text
    plain = await visitor.get("/@alice", headers={**ENGLISH, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == english.text
    gzip = await visitor.get("/@alice", headers={**ENGLISH, "Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip" and gzip.text == english.text
    gzip = await visitor.get("/@alice", headers={**ENGLISH, "Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip" and gzip.headers["age"] == "0"


async def test_a_visitor_with_the_stylesheet_has_a_page_of_their_own(
    visitor: httpx.AsyncClient,
) -> None:
    """The stylesheet's cookie is the one cookie a kept page may be served to: pages with the
    stylesheet linked and with it inlined are kept apart."""
    inlined = await visitor.get("/@alice")
    assert "<style>" in inlined.text
    again = await visitor.get("/@alice")
    assert again.headers.get("age") == "0" and again.text == inlined.text
    stylesheet = re.search(r'rel="prefetch" href="([^"]+)"', inlined.text)
    assert stylesheet
    await visitor.get(stylesheet.group(1))  # sets the cookie
    linked = await visitor.get("/@alice")
    assert "age" not in linked.headers and "<style>" not in linked.text
    again = await visitor.get("/@alice")
    assert again.headers.get("age") == "0" and again.text == linked.text
    # Any other cookie beside it: rendered for this visitor alone.
    visitor.cookies.set("other", "1")
    assert "age" not in (await visitor.get("/@alice")).headers


async def test_the_owner_is_never_served_from_the_cache(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient, app: Starlette
) -> None:
    await statuses.post(federation_of(app), "Everyone", visibility="public")
    await statuses.post(federation_of(app), "Followers only", visibility="private")
    await settled(app)
    for _ in range(2):
        seen = await visitor.get("/@alice")
        assert "Everyone" in seen.text and "Followers only" not in seen.text
    assert (await login(client)).status_code == 303
    for _ in range(2):
        mine = await client.get("/@alice")
        assert "Followers only" in mine.text and "age" not in mine.headers
        assert mine.headers["cache-control"] == "private, no-store"
    await settled(app)  # logging in wrote a session row
    for _ in range(2):
        seen = await visitor.get("/@alice")
        assert "Everyone" in seen.text and "Followers only" not in seen.text
    assert "age" in seen.headers
    mine = await client.get("/@alice")
    assert "Followers only" in mine.text and "age" not in mine.headers
    # A visitor with any cookie (here: from the login page's CSRF token) is not served from it.
    await visitor.get("/login")
    assert visitor.cookies.get("solo_session")
    assert "age" not in (await visitor.get("/@alice")).headers


async def test_a_write_from_another_process_shows_within_a_second(
    visitor: httpx.AsyncClient, settings: Settings, app: Starlette
) -> None:
    page_cache_of(app).seconds = SECONDS
    await visitor.get("/@alice")
    conn = sqlite3.connect(settings.db_path)
    try:
        with conn:
            conn.execute("UPDATE account SET display_name = 'Changed by the CLI'")
    finally:
        conn.close()
    kept = await visitor.get("/@alice")
    assert "age" in kept.headers and "Changed by the CLI" not in kept.text
    await asyncio.sleep(SECONDS + 0.05)
    assert "Changed by the CLI" in (await visitor.get("/@alice")).text


async def test_a_crowd_arriving_at_once_costs_one_render(visitor: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(visitor.get("/@alice") for _ in range(20)))
    assert all(answer.status_code == 200 for answer in answers)
    assert sum("age" not in answer.headers for answer in answers) == 1
    assert len({answer.text for answer in answers}) == 1


async def test_errors_and_other_requests_pass_by(visitor: httpx.AsyncClient) -> None:
    for _ in range(2):
        missing = await visitor.get("/@nobody")
        assert missing.status_code == 404 and "age" not in missing.headers
    for _ in range(2):  # a peer asking for the actor: JSON, not kept
        actor = await visitor.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert actor.status_code == 200 and "age" not in actor.headers
    await visitor.get("/@alice")
    assert "age" not in (await visitor.head("/@alice")).headers
    conditional = await visitor.get("/@alice", headers={"If-None-Match": '"x"'})
    assert "age" not in conditional.headers


def test_what_may_be_kept() -> None:
    html = (b"content-type", b"text/html; charset=utf-8")
    assert keepable(200, [html, (b"vary", b"Accept, Accept-Encoding")])
    assert not keepable(200, [html, (b"set-cookie", b"solo_session=x")])
    assert not keepable(200, [html, (b"cache-control", b"private, no-store")])
    assert not keepable(200, [html, (b"vary", b"Cookie")])
    assert not keepable(404, [html])
    assert not keepable(200, [(b"content-type", b"application/activity+json")])


async def test_visitors_wait_while_the_owners_page_is_prepared() -> None:
    first = OwnerFirst()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(first.turn(), 0.01)  # nobody to wait for
    with first.until_answered("GET", send) as answering:
        visitor = asyncio.create_task(first.turn())
        await asyncio.sleep(0.03)
        assert not visitor.done()
        await answering({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.wait_for(visitor, 0.01)  # the owner's answer started: the door opens
        await answering({"type": "http.response.body", "body": b"page"})
        await asyncio.wait_for(first.turn(), 0.01)  # a stream going on holds nobody back
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    loop = asyncio.get_running_loop()
    with first.preparing("GET"):  # however long the owner's request, a visitor goes on
        began = loop.time()
        await first.turn()
        assert MAX_WAIT <= loop.time() - began < MAX_WAIT + 0.2
    with first.preparing("POST"), first.until_answered("POST", send):  # an upload holds nobody
        await asyncio.wait_for(first.turn(), 0.01)


async def test_visitors_pages_are_rendered_two_at_a_time(app: Starlette) -> None:
    """A crawler on many distinct pages: the renders wait in line, two at a time."""
    running = most = 0

    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        await HTMLResponse(f"<p>{scope['path']}</p>")(scope, receive, send)

    cache = PageCache(page, owner_first=OwnerFirst())
    answers: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        answers.append(message)

    def scope(path: str) -> Scope:
        headers = [(b"host", b"solo.test")]
        return {"type": "http", "method": "GET", "scheme": "https", "path": path,
                "query_string": b"", "headers": headers, "app": app}  # fmt: skip

    await asyncio.gather(*(cache(scope(f"/tags/t{n}"), receive, send) for n in range(10)))
    assert most == RENDERS_AT_ONCE == 2
    assert sum(message["type"] == "http.response.body" for message in answers) == 10
