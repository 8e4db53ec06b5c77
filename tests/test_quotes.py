"""Quote posts through the real inbox and ingress worker: the quoted post's id and row are
stored, it is fetched through backfill's checks (one level only), and the thread page embeds
it, sanitized, or links to it when it cannot be shown."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from solo.activitystreams import PUBLIC
from solo.app import create_app
from solo.federation.notes import quote_of
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Fleet, Node
from tests.ingress_helpers import create, deliver, note
from tests.test_fixtures_ingress import World, document, world
from tests.test_login import login

QUOTED = "https://misskey.io/notes/8vs6wxufd0"


def quoted_note(w: World, **fields: Any) -> dict[str, Any]:
    other = w.actor("https://misskey.io/users/quoted")
    found = note(other, id=QUOTED, content="<p>quoted <script>alert(1)</script>words</p>")
    found.update(fields)
    w.server(QUOTED).serve(found)
    return found


async def send_quote(w: World) -> int:
    post = document("misskey/pleroma.quote_post.misskey_quote_post.json")
    sender = w.actor(post["attributedTo"])
    await w.know(post["attributedTo"], "out")
    outcome = await deliver(w.target, sender, create(sender, post))
    assert outcome.applied, outcome
    stored = await w.status(post["id"])
    assert stored is not None and stored.quote_ap_id == QUOTED
    return stored.id


async def page_of(w: World, status_id: int) -> str:
    stored = await w.db.fetchone(
        "SELECT a.username, a.domain FROM statuses s JOIN actors a ON a.id = s.actor_id"
        " WHERE s.id = ?",
        (status_id,),
    )
    assert stored is not None
    await login(w.target.client)
    response = await w.target.client.get(f"/@{stored[0]}@{stored[1]}/{status_id}")
    assert response.status_code == 200, response.text
    return response.text


async def test_a_misskey_quote_is_fetched_and_embedded(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        quoted_note(w)
        row_id = await send_quote(w)
        quoted = await w.status(QUOTED)
        assert quoted is not None
        quoting = await w.db.fetchval("SELECT quote_id FROM statuses WHERE id = ?", (row_id,))
        assert quoting == quoted.id
        html = await page_of(w, row_id)
        block = html.split('<blockquote class="quoted"', 1)[1].split("</blockquote>", 1)[0]
        assert "quoted" in block and "words" in block
        assert "<script" not in block
        assert re.search(r'<article class="[^"]*\bhas-quote\b', html)


async def test_a_quote_of_a_quote_stops_at_one_level(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        deeper = "https://misskey.io/notes/deeper"
        quoted_note(w, _misskey_quote=deeper)
        w.server(deeper).serve(note(w.actor("https://misskey.io/users/quoted"), id=deeper))
        row_id = await send_quote(w)
        quoted = await w.status(QUOTED)
        assert quoted is not None and quoted.quote_ap_id == deeper and quoted.quote_id is None
        assert await w.status(deeper) is None
        assert deeper not in w.server(deeper).fetched
        html = await page_of(w, row_id)
        assert f'href="{deeper}"' in html


async def test_unreachable_and_private_quotes_show_a_link(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        quoted_note(w, to=["https://misskey.io/users/quoted/followers"], cc=[])
        row_id = await send_quote(w)
        assert await w.status(QUOTED) is None
        html = await page_of(w, row_id)
        assert '<blockquote class="quoted"' not in html
        assert f'href="{QUOTED}"' in html
    async with world(tmp_path / "down", template_root) as w:
        row_id = await send_quote(w)  # misskey.io serves the author only: the note is a 404
        assert await w.status(QUOTED) is None
        assert f'href="{QUOTED}"' in await page_of(w, row_id)


async def test_a_quote_on_a_private_address_is_never_fetched(
    tmp_path: Path, template_root: Path
) -> None:
    settings = make_settings(tmp_path / "target", domain="solo.test", username="alice")
    await initialise_fast(settings, template_root)
    fleet = Fleet()
    app = create_app(settings, transport=fleet)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url)
        )
        w = World(fleet, Node(settings, app, client))
        inside = "https://10.0.0.1/notes/1"
        w.server(inside).serve(note(w.actor("https://10.0.0.1/users/x"), id=inside))
        post = document("misskey/pleroma.quote_post.misskey_quote_post.json")
        post.update(_misskey_quote=inside, quoteUrl=inside)
        sender = w.actor(post["attributedTo"])
        await w.know(post["attributedTo"], "out")
        outcome = await deliver(w.target, sender, create(sender, post))
        assert outcome.applied, outcome
        stored = await w.status(post["id"])
        assert stored is not None and stored.quote_ap_id == inside and stored.quote_id is None
        assert not any(r.url.host == "10.0.0.1" for r in fleet.requests)
        assert f'href="{inside}"' in await page_of(w, stored.id)


async def test_a_self_quote_is_no_quote(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        post = document("misskey/bonfire.misskey.recursive_quote.json")
        assert quote_of(post) is None
        sender = w.actor(post["attributedTo"])
        await w.know(post["attributedTo"], "out")
        outcome = await deliver(w.target, sender, create(sender, post))
        assert outcome.applied, outcome
        stored = await w.status(post["id"])
        assert stored is not None and stored.quote_ap_id is None and stored.quote_id is None


def test_the_most_trusted_quote_key_wins() -> None:
    post = document("fedibird/pleroma.quote_post.fedibird_quote_mismatched.json")
    assert quote_of(post) == post["_misskey_quote"]
    assert quote_of({**post, "quoteUri": "https://elsewhere.example/1"}) == post["_misskey_quote"]
    assert quote_of({**post, "quote": "https://a.example/q"}) == "https://a.example/q"
    link = {
        "type": "Link",
        "mediaType": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "href": "https://b.example/n/1",
    }
    assert quote_of({"id": "https://c.example/1", "to": [PUBLIC], "tag": [link]}) == link["href"]
    assert quote_of({"id": "https://c.example/1", "quoteUrl": "javascript:x"}) is None
