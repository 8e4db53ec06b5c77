"""Inbox POSTs pass the session middleware untouched; pages still get their session."""

from __future__ import annotations

import httpx

from solo.edge.sessions import COOKIE, _is_inbox


def test_inbox_paths() -> None:
    assert _is_inbox("/inbox")
    assert _is_inbox("/users/alice/inbox")
    for path in ("/", "/login", "/users/alice", "/users//inbox", "/users/a/b/inbox", "/inboxes"):
        assert not _is_inbox(path)


async def test_an_inbox_post_gets_no_cookie(client: httpx.AsyncClient) -> None:
    for path in ("/inbox", "/users/alice/inbox"):
        response = await client.post(
            path, content=b"{}", headers={"Content-Type": "application/activity+json"}
        )
        assert response.status_code in (400, 401, 404)
        assert "set-cookie" not in response.headers


async def test_the_session_is_skipped_only_without_a_cookie(client: httpx.AsyncClient) -> None:
    """Error pages are rendered only with a session: they show whether it was built."""
    headers = {"Content-Type": "application/activity+json", "Accept": "text/html"}
    bare = await client.post("/inbox", content=b"[]", headers=headers)
    assert bare.status_code == 400
    assert "text/html" not in bare.headers["content-type"]
    client.cookies.set("other", "1")
    with_cookie = await client.post("/inbox", content=b"[]", headers=headers)
    assert with_cookie.status_code == 400
    assert "text/html" in with_cookie.headers["content-type"]


async def test_pages_still_have_sessions(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert COOKIE in response.headers.get("set-cookie", "")
