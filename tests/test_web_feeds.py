"""RSS 2.0 and Atom feeds of our posts: parsed back with feedparser, checked for what the specs
require, well-formed XML, only what anyone may read, media as enclosures, conditional GET."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import httpx
from starlette.applications import Starlette

from solo.actions import media as media_actions
from solo.actions import statuses
from tests.test_login import login
from tests.test_media_attachments import png
from tests.test_web_pages import federation_of

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


async def post(app: Starlette, text: str, **fields: Any) -> int:
    status = await statuses.post(federation_of(app), text, **fields)
    return status.id


def parsed(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    ET.fromstring(response.content)  # well-formed, or this raises
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


async def test_profile_rss_has_what_rss_requires(client: httpx.AsyncClient, app: Starlette) -> None:
    public = await post(app, "Hello <world> & #Feeds")
    unlisted = await post(app, "Quietly", visibility="unlisted")
    await post(app, "Followers only", visibility="private")
    await post(app, "Direct", visibility="direct")
    warned = await post(app, "Spoilers inside", summary="Film ending")

    response = await client.get("/@alice.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    feed = parsed(response)
    assert feed.version == "rss20"
    assert feed.feed.title and feed.feed.description
    assert feed.feed.link == "https://solo.test/@alice"
    channel = ET.fromstring(response.content).find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert (channel.findtext(required) or "").strip(), required
    # Like Mastodon's account feed: public and unlisted, never followers-only or direct.
    links = [entry.link for entry in feed.entries]
    assert links == [f"https://solo.test/@alice/{n}" for n in (warned, unlisted, public)]
    for item in channel.iter("item"):
        assert item.findtext("guid")
        date = item.findtext("pubDate")
        assert date is not None and parsedate_to_datetime(date).tzinfo is not None
    # The post HTML as the description, escaped in the XML and whole once parsed.
    stored = await federation_of(app).db.fetchval(
        "SELECT content_html FROM statuses WHERE id = ?", (public,)
    )
    assert "&lt;world&gt; &amp;" in stored
    descriptions = [item.findtext("description") for item in channel.iter("item")]
    assert descriptions[-1] == stored
    assert "&amp;lt;world&amp;gt;" in response.text  # the HTML's own escapes, escaped again
    assert "&lt;world&gt;" in feed.entries[-1].description
    # The content warning is the item's title.
    assert feed.entries[0].title == "Film ending"
    assert "Followers only" not in response.text and "Direct" not in response.text


async def test_profile_atom_has_what_atom_requires(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    plain = await post(app, "First <b>post</b> of many words")  # text, not markup
    warned = await post(app, "Hidden", summary="CW here")
    response = await client.get("/@alice.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = parsed(response)
    assert feed.version == "atom10"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{required}") or "").strip(), required
    assert RFC3339.match(root.findtext(f"{ATOM}updated") or "")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip(), required
        assert RFC3339.match(entry.findtext(f"{ATOM}updated") or "")
        assert entry.findtext(f"{ATOM}author/{ATOM}name") == "alice"
        for link in entry.findall(f"{ATOM}link"):
            assert link.get("href", "").startswith("https://solo.test/")
    assert [e.id for e in feed.entries] == [
        f"https://solo.test/users/alice/statuses/{n}" for n in (warned, plain)
    ]
    assert feed.entries[0].title == "CW here"
    assert feed.entries[0].summary == "CW here"
    # Without a warning, the start of the text: what the user typed, as text.
    assert feed.entries[1].title == "First <b>post</b> of many words"
    assert feed.entries[1].content[0].type == "text/html"
    assert "<p>First &lt;b&gt;post" in feed.entries[1].content[0].value
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == ["https://solo.test/@alice.atom"]


async def test_media_become_enclosures(client: httpx.AsyncClient, app: Starlette) -> None:
    image = await media_actions.upload(federation_of(app), png(), filename="a.png")
    await post(app, "With a picture", media_ids=[image.id])
    rss = parsed(await client.get("/@alice.rss"))
    (enclosure,) = rss.entries[0].enclosures
    assert enclosure.href.startswith("https://solo.test/media/")
    assert enclosure.type == "image/png"
    assert int(enclosure.length) > 0
    served = await client.get(enclosure.href.removeprefix("https://solo.test"))
    assert served.status_code == 200
    assert int(enclosure.length) == len(served.content)
    atom = parsed(await client.get("/@alice.atom"))
    links = [link for link in atom.entries[0].links if link.rel == "enclosure"]
    assert [(link.href, link.type) for link in links] == [(enclosure.href, "image/png")]
    assert int(links[0].length) == int(enclosure.length)


async def test_hashtag_feeds_hold_our_public_posts_with_the_tag(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    tagged = await post(app, "About #Python today")
    await post(app, "Quiet #python", visibility="unlisted")
    await post(app, "About #Rust")
    for kind in ("rss", "atom"):
        for name in ("python", "PYTHON"):
            feed = parsed(await client.get(f"/tags/{name}.{kind}"))
            assert [e.link for e in feed.entries] == [f"https://solo.test/@alice/{tagged}"]
    empty = parsed(await client.get("/tags/nothing.rss"))
    assert empty.entries == []
    assert (await client.get("/tags/no-such!.rss")).status_code == 404


async def test_pages_link_their_feeds(client: httpx.AsyncClient, app: Starlette) -> None:
    profile = (await client.get("/@alice")).text
    assert (
        '<link rel="alternate" type="application/rss+xml" title="RSS"'
        ' href="https://solo.test/@alice.rss">' in profile
    )
    assert 'type="application/atom+xml" title="Atom" href="https://solo.test/@alice.atom"' in (
        profile
    )
    tag = (await client.get("/tags/python")).text
    assert 'type="application/rss+xml" title="RSS" href="https://solo.test/tags/python.rss"' in tag
    await login(client)
    assert "https://solo.test/@alice.rss" in (await client.get("/@alice")).text


async def test_conditional_get_answers_304(client: httpx.AsyncClient, app: Starlette) -> None:
    await post(app, "One")
    first = await client.get("/@alice.rss")
    assert first.headers["cache-control"] == "public, max-age=60"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get("/@alice.rss", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    since = await client.get("/@alice.rss", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    # A changed validator wins over a date that still matches (RFC 9110).
    stale = await client.get(
        "/@alice.rss", headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
    )
    assert stale.status_code == 200
    # A new post changes both: the old validators get the whole feed.
    two = await post(app, "Two")
    fresh = await client.get("/@alice.rss", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    garbage = await client.get("/@alice.rss", headers={"If-Modified-Since": "yesterday-ish"})
    assert garbage.status_code == 200
    # A deletion changes the feed though nothing in it is newer: the date moves on too.
    newest = fresh.headers["last-modified"]
    assert (
        await client.get("/@alice.rss", headers={"If-Modified-Since": newest})
    ).status_code == 304
    await asyncio.sleep(1.1)  # HTTP dates count whole seconds
    await statuses.delete(federation_of(app), two)
    after = await client.get("/@alice.rss", headers={"If-Modified-Since": newest})
    assert after.status_code == 200
    assert "Two" not in after.text


async def test_limits_and_bad_input(client: httpx.AsyncClient, app: Starlette) -> None:
    for n in range(45):
        await post(app, f"Post {n}")
    assert len(parsed(await client.get("/@alice.rss")).entries) == 20
    assert len(parsed(await client.get("/@alice.atom?limit=5")).entries) == 5
    assert len(parsed(await client.get("/@alice.rss?limit=1000")).entries) == 40
    bad = await client.get("/@alice.rss?limit=lots")
    assert bad.status_code == 400
    assert "limit must be a whole number" in bad.text
    assert (await client.get("/@bob.rss")).status_code == 404
    assert (await client.get("/@alice@elsewhere.test.rss")).status_code == 404
    head = await client.head("/@alice.atom")
    assert head.status_code == 200 and head.headers["etag"]


async def test_replies_to_others_and_deleted_posts_stay_out(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    first = await post(app, "Thread start")
    own_reply = await post(app, "Thread goes on", in_reply_to=first)
    gone = await post(app, "Soon gone")
    await statuses.delete(federation_of(app), gone)
    feed = parsed(await client.get("/@alice.rss"))
    assert [e.link for e in feed.entries] == [
        f"https://solo.test/@alice/{n}" for n in (own_reply, first)
    ]
