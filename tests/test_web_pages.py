"""The web pages of one instance: every page empty and with posts, compose and its refusals,
the buttons on a post (plain and in place), bookmarks, paging, CSRF on every form."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from solo.actions import statuses
from solo.federation.context import Federation
from tests.test_login import csrf_from, login

FRAGMENT = {"Accept": "text/html-fragment"}


def federation_of(app: Starlette) -> Federation:
    federation: Federation = app.state.federation
    return federation


async def token(client: httpx.AsyncClient) -> str:
    return csrf_from((await client.get("/compose")).text)


async def send(client: httpx.AsyncClient, path: str, **fields: Any) -> httpx.Response:
    """A form as the browser sends it: with the session's CSRF token."""
    return await client.post(path, data={"csrf": await token(client), **fields})


def pressed(state: str, label: str, count: int | None = None) -> str:
    """A pattern for a status action button: its pressed state, its label, its count."""
    after = f' <span class="count">{count}</span>' if count else "</button>"
    return rf'aria-pressed="{state}" title="{label}">.*?<span class="label">{label}</span>{after}'


def cards(html: str) -> list[str]:
    """The ids of the status cards on a page, in order."""
    return re.findall(r'<article class="status[^"]*" id="s-\d+" data-id="(\d+)"', html)


async def count(app: Starlette, sql: str, *params: object) -> int:
    return int(await federation_of(app).db.fetchval(sql, params))


@pytest.fixture
async def user(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


EMPTY_PAGES = [
    ("/", ["Your home timeline is empty", "@alice@solo.test", 'id="compose-text"']),
    ("/local", ["You have not posted anything public yet."]),
    ("/federated", ["No public posts have reached this server yet."]),
    ("/notifications", ["No notifications yet."]),
    ("/bookmarks", ["No bookmarks yet."]),
    ("/tags/solo", ["No posts with #solo yet."]),
    ("/@alice", ["@alice@solo.test", "<strong>0</strong> posts", "0</strong> followers"]),
    ("/followers", ["Nobody follows you yet."]),
    ("/following", ["You do not follow anyone yet."]),
    ("/follow_requests", ["No follow requests are waiting."]),
    ("/search", ['id="search-page-q"']),
    ("/compose", ["New post", 'name="visibility"', "At most 500 characters"]),
    ("/settings", ['name="display_name"', 'name="field_name"', "Change password"]),
]


@pytest.mark.parametrize(("path", "expected"), EMPTY_PAGES)
async def test_every_page_renders_for_an_empty_instance(
    user: httpx.AsyncClient, path: str, expected: list[str]
) -> None:
    response = await user.get(path)
    assert response.status_code == 200, response.text
    for text in expected:
        assert text in response.text
    # No inline scripts or styles: the CSP would refuse them.
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
    assert " style=" not in response.text
    assert re.search(r'<script src="/static/app\.[0-9a-f]{10}\.js" defer></script>', response.text)


async def test_visitors_see_the_profile_and_nothing_private(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    await statuses.post(federation, "For everyone to read")
    await statuses.post(federation, "For followers only", visibility="private")
    profile = await client.get("/@alice")
    assert "For everyone to read" in profile.text
    assert "For followers only" not in profile.text
    assert "<strong>1</strong> post" in profile.text
    assert "app.js" not in profile.text  # visitors get no script and no stream
    for path in ("/local", "/federated", "/notifications", "/bookmarks", "/settings", "/compose"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
    assert (await client.get("/streaming")).status_code == 401
    private = await federation_of(app).db.fetchval(
        "SELECT id FROM statuses WHERE visibility = 'private'"
    )
    assert (await client.get(f"/@alice/{private}")).status_code == 404


async def test_a_post_shows_everywhere_it_belongs(user: httpx.AsyncClient, app: Starlette) -> None:
    response = await send(user, "/statuses", text="Hello #Solo world", summary="", back="/")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    status_id = await count(app, "SELECT id FROM statuses")
    for path in ("/", "/local", "/federated", "/@alice", "/tags/solo", "/tags/SOLO"):
        page = await user.get(path)
        assert cards(page.text) == [str(status_id)], path
        assert "Hello" in page.text
    thread = await user.get(f"/@alice/{status_id}")
    assert thread.status_code == 200
    assert 'class="status focused"' in thread.text
    assert "No replies yet." in thread.text
    assert "<title>alice: Hello #Solo world · Solo</title>" in thread.text
    # The card has every button, and times are relative with the exact time on hover.
    for action in ("boost", "favourite", "bookmark", "delete"):
        assert f'action="/statuses/{status_id}/{action}"' in thread.text
    assert re.search(r'<time datetime="[^"]+Z" title="[^"]+ UTC">\d+s</time>', thread.text)
    assert f'href="/compose?edit={status_id}"' in thread.text


async def test_reply_and_edit_through_the_compose_page(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    first = await statuses.post(federation_of(app), "The first post")
    compose = await user.get(f"/compose?in_reply_to={first.id}")
    assert "Reply to @alice@solo.test" in compose.text
    assert f'name="in_reply_to" value="{first.id}"' in compose.text
    assert "The first post" in compose.text  # the post answered is shown above the form
    response = await send(
        user, "/statuses", text="A reply", in_reply_to=str(first.id), back=f"/@alice/{first.id}"
    )
    assert response.headers["location"] == f"/@alice/{first.id}"
    thread = await user.get(f"/@alice/{first.id}")
    assert "A reply" in thread.text
    assert re.search(r'<article class="[^"]*\bdepth-1\b', thread.text)
    assert 'Replying to <a href="/@alice">@alice@solo.test</a>' in thread.text
    assert re.search(
        r'class="action reply" href="[^"]+" title="Reply">.*?<span class="label">Reply</span> '
        r'<span class="count">1</span>',
        thread.text,
    )

    edit = await user.get(f"/compose?edit={first.id}")
    assert "Edit your post" in edit.text
    assert ">The first post</textarea>" in edit.text
    response = await send(user, f"/statuses/{first.id}/edit", text="The first post, edited")
    assert response.status_code == 303
    thread = await user.get(f"/@alice/{first.id}")
    assert "The first post, edited" in thread.text
    assert 'class="edited"' in thread.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "   "}, "Write something first."),
        ({"text": "x" * 480, "summary": "y" * 30}, "at most 500 characters long; this one has 510"),
        ({"text": "hi", "visibility": "everyone"}, "Visibility must be one of"),
    ],
)
async def test_a_refused_post_keeps_the_draft_and_stores_nothing(
    user: httpx.AsyncClient, app: Starlette, fields: dict[str, str], message: str
) -> None:
    response = await send(user, "/statuses", **{"summary": "my warning", "back": "/", **fields})
    assert response.status_code == 400
    assert message in response.text
    assert 'role="alert"' in response.text
    assert fields["text"].strip()[:100] in response.text  # the draft is still in the form
    assert fields.get("summary", "my warning") in response.text
    assert await count(app, "SELECT COUNT(*) FROM statuses") == 0
    assert await count(app, "SELECT COUNT(*) FROM jobs") == 0


async def test_a_reply_to_a_deleted_post_is_refused_with_the_draft(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    parent = await statuses.post(federation, "Soon gone")
    await statuses.delete(federation, parent.id)
    response = await send(user, "/statuses", text="My careful answer", in_reply_to=str(parent.id))
    assert response.status_code == 400
    assert "The post you are replying to no longer exists." in response.text
    assert "My careful answer" in response.text
    assert await count(app, "SELECT COUNT(*) FROM statuses") == 0
    gone = await user.get(f"/compose?in_reply_to={parent.id}")
    assert gone.status_code == 400
    assert "no longer exists" in gone.text


async def test_buttons_work_without_the_script(user: httpx.AsyncClient, app: Starlette) -> None:
    post = await statuses.post(federation_of(app), "Press my buttons")
    back = f"/@alice/{post.id}"
    for action in ("favourite", "boost", "bookmark"):
        response = await send(user, f"/statuses/{post.id}/{action}", back=back)
        assert response.status_code == 303
        assert response.headers["location"] == back
    thread = await user.get(back)
    assert re.search(pressed("true", "Unfavourite", 1), thread.text)
    assert re.search(pressed("true", "Unboost", 1), thread.text)
    assert re.search(pressed("true", "Unbookmark"), thread.text)
    bookmarks = await user.get("/bookmarks")
    assert cards(bookmarks.text) == [str(post.id)]
    profile = await user.get("/@alice")  # our boost is an entry of its own, on top
    assert "alice</a> boosted" in profile.text
    assert len(cards(profile.text)) == 2
    for action in ("unfavourite", "unboost", "unbookmark"):
        assert (await send(user, f"/statuses/{post.id}/{action}", back=back)).status_code == 303
    thread = await user.get(back)
    assert re.search(pressed("false", "Favourite"), thread.text)
    assert re.search(pressed("false", "Boost"), thread.text)
    assert "No bookmarks yet." in (await user.get("/bookmarks")).text
    response = await send(user, f"/statuses/{post.id}/delete", back=back)
    assert response.headers["location"] == "/"  # the post's own page went with it
    assert (await user.get(back)).status_code == 404


async def test_buttons_answer_fragments_for_the_script(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    post = await statuses.post(federation_of(app), "In place")
    csrf = await token(user)
    fields = {"csrf": csrf, "back": "/#s-1", "entry": str(post.id)}
    response = await user.post(f"/statuses/{post.id}/favourite", data=fields, headers=FRAGMENT)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<article class="status"')
    assert "<html" not in response.text
    assert re.search(pressed("true", "Unfavourite", 1), response.text)
    assert 'name="back" value="/#s-' in response.text  # forms in it come back to the page
    response = await user.post(f"/statuses/{post.id}/delete", data=fields, headers=FRAGMENT)
    assert response.status_code == 204
    response = await user.post(f"/statuses/{post.id}/favourite", data=fields, headers=FRAGMENT)
    assert response.status_code == 400
    assert response.text.strip() == '<p class="error" role="alert">That post no longer exists.</p>'
    # A post written in place comes back as its card; a refused one as the reason.
    response = await user.post(
        "/statuses", data={"csrf": csrf, "text": "Fresh", "back": "/"}, headers=FRAGMENT
    )
    assert response.status_code == 201
    assert "Fresh" in response.text and 'class="status"' in response.text
    response = await user.post(
        "/statuses", data={"csrf": csrf, "text": "", "back": "/"}, headers=FRAGMENT
    )
    assert response.status_code == 400
    assert "Write something first." in response.text
    fragment = await user.get(f"/fragments/status/{cards(response.text) or 0}")
    assert fragment.status_code in (404, 400)


async def test_the_card_fragment_for_live_updates(
    user: httpx.AsyncClient, app: Starlette, client: httpx.AsyncClient
) -> None:
    post = await statuses.post(federation_of(app), "Live")
    response = await user.get(f"/fragments/status/{post.id}?back=/local")
    assert response.status_code == 200
    assert cards(response.text) == [str(post.id)]
    assert 'name="back" value="/local#s-' in response.text
    evil = await user.get(f"/fragments/status/{post.id}?back=//evil.example/")
    assert 'name="back" value="/#s-' in evil.text
    assert (await user.get("/fragments/status/1")).status_code == 404


async def test_paging_by_cursor(user: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    posted = [(await statuses.post(federation, f"Post number {n}")).id for n in range(45)]
    newest_first = [str(i) for i in reversed(posted)]
    seen: list[str] = []
    path: str | None = "/"
    pages = 0
    while path is not None:
        page = await user.get(path)
        assert page.status_code == 200
        seen += cards(page.text)
        pages += 1
        older = re.search(r'<a rel="next" href="([^"]+)">Older</a>', page.text)
        path = older.group(1).replace("&amp;", "&") if older else None
        if path is not None:
            assert f"max_id={seen[-1]}" in path
    assert pages == 3
    assert seen == newest_first
    # The newest page is the live one; older pages are not.
    assert 'data-live="home"' in (await user.get("/")).text
    assert "data-live" not in (await user.get(f"/?max_id={seen[19]}")).text
    small = await user.get("/local?limit=5")
    assert cards(small.text) == newest_first[:5]
    assert (await user.get("/?max_id=abc")).status_code == 400
    profile = await user.get(f"/@alice?max_id={seen[39]}")
    assert cards(profile.text) == newest_first[40:]


async def test_notifications_page_marks_them_read(user: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    # A remote account that followed us: the notification and its actor, written directly.
    async with federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO actors (ap_id, username, domain, display_name, inbox, raw, fetched_at)"
            " VALUES ('https://remote.test/users/zed', 'zed', 'remote.test', 'Zed Zedson',"
            " 'https://remote.test/users/zed/inbox', '{}', 0)"
        )
        await conn.execute(
            "INSERT INTO notifications (type, actor_id, created_at) VALUES ('follow', 1, 0)"
        )
    await federation.feeds.rebuild_notifications()
    home = await user.get("/")
    assert 'class="notification-count" aria-label="1 unread">1</span>' in home.text
    page = await user.get("/notifications")
    assert "Zed Zedson" in page.text and "followed you" in page.text
    assert 'class="notification follow unread"' in page.text
    assert 'class="notification-count hidden"' in page.text
    assert await count(app, "SELECT COUNT(*) FROM notifications WHERE read = 0") == 0
    again = await user.get("/notifications")
    assert 'class="notification follow"' in again.text


async def test_search_box(user: httpx.AsyncClient) -> None:
    tag = await user.get("/search?q=%23Solo")
    assert tag.status_code == 303 and tag.headers["location"] == "/tags/Solo"
    own = await user.get("/search?q=%40alice%40solo.test")
    assert own.headers["location"] == "/@alice"
    text = await user.get("/search?q=hello+there")
    assert text.status_code == 200
    assert "Nothing found for “hello there”." in text.text  # words search the posts
    local = await user.get("/search?q=https%3A%2F%2Fsolo.test%2Fnothing")
    assert local.status_code == 400
    assert "There is nothing at that address on this server." in local.text


POST_FORMS = [
    "/statuses",
    "/statuses/{id}/edit",
    "/statuses/{id}/delete",
    "/statuses/{id}/favourite",
    "/statuses/{id}/unfavourite",
    "/statuses/{id}/boost",
    "/statuses/{id}/unboost",
    "/statuses/{id}/bookmark",
    "/statuses/{id}/unbookmark",
    "/follow",
    "/unfollow",
    "/follow_requests/approve",
    "/follow_requests/reject",
    "/followers/remove",
    "/settings",
    "/settings/password",
]


@pytest.mark.parametrize("path", POST_FORMS)
async def test_every_form_needs_the_csrf_token(
    user: httpx.AsyncClient, app: Starlette, path: str
) -> None:
    post = await statuses.post(federation_of(app), "Untouchable")
    before = await _snapshot(app)
    fields = {
        "text": "changed",
        "account": "@bob@bob.test",
        "display_name": "Mallory",
        "current": "correct horse battery",
        "new": "a whole new password",
        "repeat": "a whole new password",
    }
    for sent in (fields, {**fields, "csrf": "forged"}):
        response = await user.post(path.format(id=post.id), data=sent)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert await _snapshot(app) == before
    assert (await user.get("/")).status_code == 200  # still logged in


async def _snapshot(app: Starlette) -> list[Any]:
    db = federation_of(app).db
    rows = []
    for sql in (
        "SELECT id, content_html FROM statuses ORDER BY id",
        "SELECT kind, status_id FROM interactions ORDER BY id",
        "SELECT display_name, password_hash FROM account",
        "SELECT COUNT(*) FROM jobs",
        "SELECT COUNT(*) FROM follows",
    ):
        rows.append([tuple(row) for row in await db.fetchall(sql)])
    return rows
