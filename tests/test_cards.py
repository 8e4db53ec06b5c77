"""Link preview cards: the first link of a post is read through the guarded fetcher in the
background, cached by URL, and shown under the post, escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from solo.actions.statuses import post
from solo.app import create_app
from solo.federation.cards import first_link
from solo.store import cards as card_store
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Node, eventually, fleet_of
from tests.test_login import login

PAGE = """<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="A &lt;script&gt;alert(1)&lt;/script&gt; page">
<meta property="og:description" content="What the page is about.">
<meta property="og:site_name" content="Example Site">
<meta property="og:type" content="article">
<meta property="og:url" content="https://site.test/canonical">
</head><body><meta property="og:title" content="not from the body"></body></html>"""


def site() -> tuple[Starlette, list[str]]:
    seen: list[str] = []

    async def page(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(PAGE, media_type="text/html; charset=utf-8")

    async def text(request: Request) -> Response:
        seen.append(request.url.path)
        return PlainTextResponse("<title>not html</title>")

    async def broken(request: Request) -> Response:
        seen.append(request.url.path)
        return PlainTextResponse("down", status_code=500)

    routes = [Route("/page", page), Route("/text", text), Route("/broken", broken)]
    return Starlette(routes=routes), seen


@asynccontextmanager
async def solo_and_site(
    tmp_path: Path, template_root: Path
) -> AsyncIterator[tuple[Node, list[str]]]:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        app, seen = site()
        fleet.add("site.test", app)
        yield nodes["alice"], seen


async def settled(node: Node, url: str) -> card_store.Cached:
    async def stored() -> bool:
        return await card_store.get(node.federation.db, url) is not None

    await eventually(stored, what=f"the card of {url}")
    cached = await card_store.get(node.federation.db, url)
    assert cached is not None
    return cached


async def timeline(node: Node) -> str:
    if not node.client.cookies:  # the first visit logs in
        assert (await login(node.client, username="alice")).status_code == 303
    response = await node.client.get("/")
    assert response.status_code == 200
    return response.text


def test_the_first_link_skips_mentions_hashtags_and_the_quote() -> None:
    html = (
        '<p><a class="u-url mention" href="https://a.test/@x">@x</a>'
        ' <a class="mention hashtag" href="https://a.test/tags/y">#y</a>'
        ' <a href="https://a.test/notes/1">quoted</a> <a href="mailto:a@b">m</a>'
        ' <a href="https://b.test/page">page</a></p>'
    )
    assert first_link(html, "https://a.test/notes/1") == "https://b.test/page"
    assert first_link("<p>no links</p>") is None


async def test_a_card_is_stored_and_shown_escaped(tmp_path: Path, template_root: Path) -> None:
    async with solo_and_site(tmp_path, template_root) as (alice, seen):
        await post(alice.federation, "Look: https://site.test/page")
        cached = await settled(alice, "https://site.test/page")
        assert cached.card is not None
        assert cached.card.title == "A <script>alert(1)</script> page"
        assert cached.card.card_url == "https://site.test/canonical"
        assert cached.card.site_name == "Example Site" and cached.card.type == "article"

        async def shown() -> bool:
            return 'class="link-card"' in await timeline(alice)

        await eventually(shown, what="the card on the timeline")
        html = await timeline(alice)
        card = html.split('class="link-card"', 1)[1].split("</a>", 1)[0]
        assert "A &lt;script&gt;alert(1)&lt;/script&gt; page" in card
        assert "<script>" not in card
        assert "What the page is about." in card and "Example Site" in card
        assert 'href="https://site.test/canonical"' in card
        assert seen == ["/page"]


async def test_a_cached_card_is_reused(tmp_path: Path, template_root: Path) -> None:
    async with solo_and_site(tmp_path, template_root) as (alice, seen):
        first = await post(alice.federation, "One https://site.test/page")
        await settled(alice, "https://site.test/page")
        second = await post(alice.federation, "Two https://site.test/page")

        async def both() -> bool:
            found = await card_store.cards_of(alice.federation.db, [first.id, second.id])
            return len(found) == 2

        await eventually(both, what="both posts with their card")
        assert seen == ["/page"]


async def test_no_card_for_a_page_that_is_not_html(tmp_path: Path, template_root: Path) -> None:
    async with solo_and_site(tmp_path, template_root) as (alice, seen):
        await post(alice.federation, "https://site.test/text")
        cached = await settled(alice, "https://site.test/text")
        assert cached.card is None
        assert seen == ["/text"]
        assert 'class="link-card"' not in await timeline(alice)


async def test_a_failing_site_gives_no_card_and_no_error(
    tmp_path: Path, template_root: Path
) -> None:
    async with solo_and_site(tmp_path, template_root) as (alice, seen):
        status = await post(alice.federation, "https://site.test/broken and https://down.test/")
        assert status.id
        cached = await settled(alice, "https://site.test/broken")
        assert cached.card is None and seen == ["/broken"]
        assert 'class="link-card"' not in await timeline(alice)


async def test_a_private_address_is_never_fetched(tmp_path: Path, template_root: Path) -> None:
    """No test transport: the real connection layer, whose address policy refuses the URL."""
    settings = make_settings(tmp_path / "solo")
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        federation = app.state.federation
        await post(federation, "Inside: https://127.0.0.1:9/admin")
        node = Node(settings, app, None)  # type: ignore[arg-type]
        cached = await settled(node, "https://127.0.0.1:9/admin")
        assert cached.card is None
