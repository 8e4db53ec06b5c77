"""Every page has exactly one `<h1>`: screen readers jump to it, and the outline starts there.
The test walks every GET route of the app that answers HTML, for the user and for a visitor."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from solo.actions import filters, lists, statuses
from solo.lazy import LazyRoutes
from tests.test_web_pages import federation_of, user

__all__ = ["user"]  # the fixture, used by name

# Routes that never answer a page: federation, the client API, feeds, files, streams, fragments.
NOT_PAGES = re.compile(
    r"^/(\.well-known|nodeinfo|actor|users|api|oauth/authorize/$|streaming|proxy|media|"
    r"placeholder|fragments|static/|sw.js|manifest|favicon|metrics|server.json|"
    r"settings/export|settings/archive/export|"
    r"settings/domain_blocks/export)|\.(rss|atom)$"
)
HTML = {"Accept": "text/html"}


def get_paths(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    found: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            found += get_paths(list(route.routes or []), prefix + route.path)
        elif isinstance(route, LazyRoutes):  # the pages and the client API
            found += get_paths(list(route.routes), prefix)
        elif isinstance(route, Route) and route.methods and "GET" in route.methods:
            found.append(prefix + route.path)
    return found


def headings(html: str) -> int:
    return len(re.findall(r"<h1[\s>]", html))


async def test_every_page_has_exactly_one_h1(user: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    first = await statuses.post(federation, "A #solo post with a reply")
    await statuses.post(federation, "The reply", in_reply_to=first.id)
    await statuses.post(federation, "Just for me", visibility="direct")
    shown = await lists.create(federation, "Friends")
    rule = await filters.create_filter(
        federation, filters.FilterChange(title="Spoilers", contexts=["home"])
    )
    listed = (await user.get("/conversations")).text
    conversation = re.search(r'href="/conversations/(\d+)"', listed)
    params = {
        "username": "alice",
        "status_id:int": str(first.id),
        "tag": "solo",
        "id": str(shown.id),
        "filter_id": str(rule.id),
        "import_id": "1",
    }
    pages = [path for path in get_paths(list(app.routes)) if not NOT_PAGES.search(path)]
    assert "/@{username}/with_replies" in pages and "/settings" in pages
    checked: list[str] = []
    for template in pages:
        path = re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], template)
        variants = [path]
        if template == "/conversations/{id}" and conversation:
            variants = [f"/conversations/{conversation.group(1)}"]
        for shown_path in variants:
            response = await user.get(shown_path, headers=HTML)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            assert headings(response.text) == 1, (shown_path, response.status_code)
            checked.append(f"{shown_path} {response.status_code}")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://solo.test"
    ) as visitor:
        for path in ("/@alice", "/@alice/media", f"/@alice/{first.id}", "/login", "/nowhere"):
            response = await visitor.get(path, headers=HTML)
            assert headings(response.text) == 1, (path, response.status_code)
    # Most pages were really pages, not refusals.
    assert len([c for c in checked if c.endswith(" 200")]) > 35, checked
