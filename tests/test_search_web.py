"""The search page: post results for words, the operators read back, paging newest first and by
relevance, and clear errors."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from tests.test_login import login
from tests.test_web_queries import Builder


def shown(page: httpx.Response) -> list[int]:
    return [int(found) for found in re.findall(r'data-status="(\d+)"', page.text)]


async def test_text_search_page(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    posts = [
        await build.add(remote=True, content_html=f"<p>Kranich Nummer {n}</p>") for n in range(25)
    ]
    mine = await build.add(remote=False, content_html="<p>Der Kranich über dem Fluss</p>")
    assert (await client.get("/search", params={"q": "kranich"})).status_code == 303  # log in
    await login(client)
    first = await client.get("/search", params={"q": "KRANICH -fluss"})
    assert first.status_code == 200
    newest = list(reversed(posts))
    assert shown(first) == newest[:20]
    assert '<span class="badge">KRANICH</span>' in first.text
    assert '<span class="badge">-fluss</span>' in first.text
    older = re.search(r'<a rel="next" href="([^"]+)">Older</a>', first.text)
    assert older is not None
    second = await client.get(older.group(1).replace("&amp;", "&"))
    assert shown(second) == newest[20:]
    assert 'rel="next"' not in second.text
    ours = await client.get("/search", params={"q": "uber from:me"})
    assert shown(ours) == [mine]
    assert '<span class="badge">from:me</span>' in ours.text
    ranked = await client.get("/search", params={"q": "kranich", "order": "relevance"})
    assert len(shown(ranked)) == 20 and 'value="relevance" selected' in ranked.text
    deeper = re.search(r'<a rel="next" href="([^"]+)">Older</a>', ranked.text)
    assert deeper is not None and "offset=20" in deeper.group(1)
    rest = await client.get(deeper.group(1).replace("&amp;", "&"))
    assert len(shown(rest)) == 6 and set(shown(rest)).isdisjoint(shown(ranked))
    none = await client.get("/search", params={"q": "reiher"})
    assert "Nothing found for “reiher”" in none.text
    bad = await client.get("/search", params={"q": "kranich before:gestern"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    hostile = await client.get("/search", params={"q": 'NEAR( "kranich * \x00 AND OR'})
    assert hostile.status_code == 200
    empty = await client.get("/search", params={"q": '"*"'})
    assert empty.status_code == 200 and "nothing to search for" in empty.text
