"""Inbox POSTs go past the browsers' middleware (sessions among them) in a lane of their own;
pages still get their session."""

from __future__ import annotations

import httpx

from solo.edge.middleware import is_inbox
from solo.edge.sessions import COOKIE


def test_inbox_paths() -> None:
    assert is_inbox("/inbox")
    assert is_inbox("/actor/inbox")
    assert is_inbox("/users/alice/inbox")
    for path in ("/", "/login", "/users/alice", "/users//inbox", "/users/a/b/inbox", "/inboxes"):
        assert not is_inbox(path)


async def test_an_inbox_post_gets_no_cookie(client: httpx.AsyncClient) -> None:
    for path in ("/inbox", "/users/alice/inbox"):
        response = await client.post(
            path, content=b"{}", headers={"Content-Type": "application/activity+json"}
        )
        assert response.status_code in (400, 401, 404)
        assert "set-cookie" not in response.headers


async def test_an_inbox_post_never_builds_a_session(client: httpx.AsyncClient) -> None:
    """Error pages are rendered only with a session: a plain-text error shows none was built,
    with a cookie or without; the lane keeps the inbox's body limit and its 404s."""
    headers = {"Content-Type": "application/activity+json", "Accept": "text/html"}
    for cookie in (None, "1"):
        if cookie:
            client.cookies.set("other", cookie)
        answer = await client.post("/inbox", content=b"[]", headers=headers)
        assert answer.status_code == 400
        assert "text/html" not in answer.headers["content-type"]
        assert "set-cookie" not in answer.headers
    huge = await client.post("/inbox", content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert huge.status_code == 413 and "too large" in huge.text
    nobody = await client.post("/users/nobody/inbox", content=b"{}", headers=headers)
    assert nobody.status_code == 404
    # A GET of an inbox is no server's delivery: it goes the pages' way.
    assert (await client.get("/inbox")).status_code == 405


async def test_pages_still_have_sessions(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert COOKIE in response.headers.get("set-cookie", "")
