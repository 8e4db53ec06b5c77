"""Full-text search through /api/v2/search: words, phrases, prefixes, folding of case and
accents, Japanese, each operator, paging, and the index in step with creates, edits, deletes,
media and polls."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from solo.store import search, search_query
from tests.test_api_statuses import user_token
from tests.test_web_pages import federation_of
from tests.test_web_queries import Builder

DAY = 86_400.0


async def found(
    client: httpx.AsyncClient, auth: dict[str, str], query: str, **params: Any
) -> list[int]:
    response = await client.get(
        "/api/v2/search", params={"q": query, "type": "statuses", **params}, headers=auth
    )
    assert response.status_code == 200, response.text
    return [int(status["id"]) for status in response.json()["statuses"]]


async def post(client: httpx.AsyncClient, auth: dict[str, str], **fields: Any) -> int:
    response = await client.post("/api/v1/statuses", json=fields, headers=auth)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def add(build: Builder, *, remote: bool, **values: Any) -> int:
    """A stored post, with the time and visibility the Builder fixes set afterwards."""
    later = {key: values.pop(key) for key in ("published_at", "visibility") if key in values}
    status_id = await build.add(remote=remote, **values)
    for key, value in later.items():
        async with build.federation.db.transaction() as conn:
            await conn.execute(f"UPDATE statuses SET {key} = ? WHERE id = ?", (value, status_id))
    return status_id


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


async def test_words_phrases_prefixes_and_order(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    older = await build.add(remote=True, content_html="<p>The quick brown fox jumps</p>")
    newer = await build.add(remote=True, content_html="<p>A fox, a fox, a fox and a brown dog</p>")
    other = await build.add(remote=True, content_html="<p>Brown bread for breakfast</p>")
    assert await found(client, auth, "fox") == [newer, older]  # newest first by default
    assert await found(client, auth, "FOX brown") == [newer, older]
    assert await found(client, auth, '"brown fox"') == [older]
    assert await found(client, auth, '"fox brown"') == []
    assert await found(client, auth, "brea*") == [other]
    assert await found(client, auth, "brea") == []  # a word is a whole word
    assert await found(client, auth, "fox order:relevance") == [newer, older]
    assert await found(client, auth, "fox -dog") == [older]
    assert await found(client, auth, 'brown -"quick brown"') == [other, newer]


async def test_umlauts_and_case_fold(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    german = await build.add(
        remote=True, content_html="<p>Über die Brücke gehen wir, STRASSE und Straße</p>"
    )
    for query in ("über", "uber", "UBER", "brucke", "Brücke", "straße"):
        assert await found(client, auth, query) == [german], query


async def test_japanese(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    japanese = await build.add(
        remote=True, content_html="<p>今日は東京で日本語を勉強しました。</p>"
    )
    chinese = await build.add(remote=True, content_html="<p>我在北京学习中文</p>")
    mixed = await build.add(remote=True, content_html="<p>Pythonの本を読む</p>")
    assert await found(client, auth, "東京") == [japanese]
    assert await found(client, auth, "日本語") == [japanese]
    assert await found(client, auth, "勉強しました") == [japanese]
    assert await found(client, auth, "京") == [chinese, japanese]  # one letter: anywhere
    assert await found(client, auth, "北京") == [chinese]
    assert await found(client, auth, "本") == [mixed, japanese]
    assert await found(client, auth, "python") == [mixed]
    assert await found(client, auth, "京都") == []
    # Full-width letters are the same letters.
    assert await found(client, auth, "ＰＹＴＨＯＮ") == [mixed]


async def test_index_follows_create_edit_delete(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    first = await post(client, auth, status="A penguin walks", spoiler_text="birds ahead")
    assert await found(client, auth, "penguin") == [first]
    assert await found(client, auth, "birds") == [first]  # the content warning counts
    edited = await client.put(
        f"/api/v1/statuses/{first}", json={"status": "A puffin flies"}, headers=auth
    )
    assert edited.status_code == 200, edited.text
    assert await found(client, auth, "penguin") == []
    assert await found(client, auth, "puffin") == [first]
    gone = await client.delete(f"/api/v1/statuses/{first}", headers=auth)
    assert gone.status_code == 200, gone.text
    assert await found(client, auth, "puffin") == []


async def test_alt_text_and_poll_options(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    upload = await client.post(
        "/api/v2/media",
        files={"file": ("red.png", png(), "image/png")},
        data={"description": "a red square of pixels"},
        headers=auth,
    )
    assert upload.status_code in (200, 202), upload.text
    media_id = upload.json()["id"]
    pictured = await post(client, auth, status="Look at this", media_ids=[media_id])
    polled = await post(
        client,
        auth,
        status="Which one?",
        poll={"options": ["Marmalade", "Honey"], "expires_in": 3600},
    )
    assert await found(client, auth, "pixels") == [pictured]
    assert await found(client, auth, "marmalade") == [polled]
    changed = await client.put(
        f"/api/v2/media/{media_id}", json={"description": "a crimson tile"}, headers=auth
    )
    if changed.status_code == 404:  # an attached description changes with an edit instead
        changed = await client.put(
            f"/api/v1/statuses/{pictured}",
            json={
                "status": "Look at this",
                "media_ids": [media_id],
                "media_attributes": [{"id": media_id, "description": "a crimson tile"}],
            },
            headers=auth,
        )
    assert changed.status_code == 200, changed.text
    assert await found(client, auth, "crimson") == [pictured]
    assert await found(client, auth, "pixels") == []
    assert await found(client, auth, "has:media") == [pictured]
    assert await found(client, auth, "has:image") == [pictured]
    assert await found(client, auth, "has:poll") == [polled]
    assert await found(client, auth, "-has:poll") == [pictured]


async def test_operators(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    base = time.time() - 30 * DAY
    day = time.strftime("%Y-%m-%d", time.gmtime(base))
    theirs = await add(
        build,
        remote=True,
        content_html='<p>otter news <a href="https://example.test/otters">example.test</a></p>',
        published_at=base,
        language="de",
    )
    reply = await add(
        build,
        remote=True,
        content_html='<p><a href="https://remote.test/@x" class="u-url mention">@x</a> otter</p>',
        in_reply_to_ap_id="https://remote.test/x/1",
        sensitive=True,
        language="en",
    )
    mine = await add(build, remote=False, content_html="<p>my otter</p>", visibility="private")
    liked = await add(build, remote=True, content_html="<p>liked otter</p>")
    await build.interact("like", liked, ours=True)
    everything = [liked, mine, reply, theirs]
    assert await found(client, auth, "otter") == everything
    assert await found(client, auth, "otter from:me") == [mine]
    assert await found(client, auth, "otter from:alice") == [mine]
    assert await found(client, auth, "otter from:zed@remote.test") == [liked, reply, theirs]
    assert await found(client, auth, "otter from:@zed@remote.test") == [liked, reply, theirs]
    assert await found(client, auth, "otter -from:me") == [liked, reply, theirs]
    assert await found(client, auth, "otter from:nobody@nowhere.test") == []
    assert await found(client, auth, "otter has:link") == [theirs]  # a mention is no link
    assert await found(client, auth, "otter is:reply") == [reply]
    assert await found(client, auth, "otter is:sensitive") == [reply]
    assert await found(client, auth, "otter -is:reply") == [liked, mine, theirs]
    assert await found(client, auth, "otter language:de") == [theirs]
    assert await found(client, auth, f"otter during:{day}") == [theirs]
    assert await found(client, auth, f"otter before:{day}") == []
    assert await found(client, auth, f"otter after:{day}") == [liked, mine, reply]
    assert await found(client, auth, "otter in:library") == [liked, mine]
    assert await found(client, auth, "otter in:public") == [liked, reply, theirs]
    assert await found(client, auth, "otter in:all") == everything
    assert await found(client, auth, "from:me") == [mine]  # operators alone
    assert await found(client, auth, "otter unknown:thing") == []  # text, as Mastodon takes it
    for bad in ("has:nothing", "before:yesterday", "is:cat", "in:space", "language:!!"):
        response = await client.get("/api/v2/search", params={"q": bad}, headers=auth)
        assert response.status_code == 422, bad
        assert bad.split(":")[0] in response.json()["error"]


async def test_paging_and_account(app: Starlette, client: httpx.AsyncClient) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    theirs = [await build.add(remote=True, content_html=f"<p>heron {n}</p>") for n in range(5)]
    mine = await build.add(remote=False, content_html="<p>heron mine</p>")
    newest_first = [mine, *reversed(theirs)]
    assert await found(client, auth, "heron", limit=2) == newest_first[:2]
    assert await found(client, auth, "heron", limit=2, offset=2) == newest_first[2:4]
    assert await found(client, auth, "heron", max_id=theirs[3]) == newest_first[3:]
    assert await found(client, auth, "heron", min_id=theirs[2]) == newest_first[:3]
    assert await found(client, auth, "heron", account_id=str(build.zed)) == newest_first[1:]
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).json()["id"]
    assert await found(client, auth, "heron", account_id=me) == [mine]
    bad = await client.get("/api/v2/search", params={"q": "heron", "max_id": "x"}, headers=auth)
    assert bad.status_code == 422
    # Without a user token there is no post search, as on Mastodon.
    anonymous = await client.get("/api/v2/search", params={"q": "heron"})
    assert anonymous.status_code == 200 and anonymous.json()["statuses"] == []
    # Mixed search: accounts, hashtags and statuses side by side.
    mixed = await client.get("/api/v2/search", params={"q": "heron"}, headers=auth)
    assert len(mixed.json()["statuses"]) == 6


HOSTILE = [
    '"',
    '"""',
    "fox*",
    "*",
    "NEAR(fox dog)",
    "NEAR(",
    "fox AND OR dog",
    "fox OR dog",
    "NOT fox",
    '"unbalanced phrase',
    "fox\x00dog",
    "body:fox",
    "{body}: fox",
    "^fox",
    "fox + dog",
    "(((",
    "-",
    "- - -",
    "from:",
    '-"',
    "😀 🦊",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_fts_syntax_is_only_words(
    app: Starlette, client: httpx.AsyncClient, query: str
) -> None:
    build = Builder(app)
    await build.setup()
    auth = await user_token(client)
    fox = await build.add(remote=True, content_html="<p>fox dog</p>")
    near = await build.add(remote=True, content_html="<p>near and or not body fox dog</p>")
    response = await client.get("/api/v2/search", params={"q": query}, headers=auth)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        return
    statuses = {int(s["id"]) for s in response.json()["statuses"]}
    assert statuses <= {fox, near}
    parsed = search_query.parse(query)
    # Words that FTS5 would read as operators match only posts that contain them as words.
    if any(t.text.upper() in ("NEAR", "OR", "AND", "NOT") for t in parsed.terms):
        assert statuses <= {near}


async def test_long_and_nul_queries(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    long = await client.get("/api/v2/search", params={"q": "a" * 10_000}, headers=auth)
    assert long.status_code == 422 and "too long" in long.json()["error"]
    many = " ".join(chr(ord("a") + n % 26) for n in range(240))
    response = await client.get("/api/v2/search", params={"q": many}, headers=auth)
    assert response.status_code == 200
    nul = await client.get("/api/v2/search", params={"q": "\x00\x00"}, headers=auth)
    assert nul.status_code in (200, 422)


async def test_posts_older_than_the_index_are_indexed(app: Starlette) -> None:
    """What the migration leaves for later: rows stored before the index are indexed by the
    background builder, and the marker says when it is done."""
    build = Builder(app)
    await build.setup()
    db = federation_of(app).db
    ids = [await build.add(remote=True, content_html=f"<p>ancient {n}</p>") for n in range(5)]
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM status_search")
        await conn.execute(
            "UPDATE search_index_state SET pending_below = ?, started_with = 5", (max(ids) + 1,)
        )

    assert not (await search.index_progress(db)).built
    await search.build_index(db)
    progress = await search.index_progress(db)
    assert progress.built and progress.indexed == 5
    parsed = search_query.parse("ancient")
    assert await search.find(db, parsed, search.Page(), {}) == list(reversed(ids))
