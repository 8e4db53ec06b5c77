"""Custom emoji of remote posts and names: parsed from `Emoji` tags (captured from Kroeg, Pleroma
and Misskey), stored with the post or actor, and shown as images through the media proxy, never
inside a tag or attribute and never from a URL that is not plain http(s)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from solo.media.emoji import (
    MAX_PER_DOCUMENT,
    Emoji,
    emojify,
    emojify_text,
    from_json,
    parse_emojis,
    to_json,
)
from solo.media.proxy import MediaProxy
from solo.store import actors as actor_store
from solo.text import sanitize_remote_html
from tests.ingress_helpers import AS_CONTEXT, activity, create, deliver, note
from tests.test_fixtures_ingress import World, document, world
from tests.test_login import login
from tests.test_media_cache import PNG, Pictures

PROXY = MediaProxy.of("test secret")
EMOJI_IMG = re.compile(r'<img class="emoji" src="(/proxy/[^"]+)" alt=":(\w+):" title=":\w+:"')


def emoji_tag(name: str, url: Any) -> dict[str, Any]:
    return {"type": "Emoji", "name": name, "icon": {"type": "Image", "url": url}}


def shown(page: str) -> dict[str, str]:
    """The emoji images of a page: shortcode → the remote URL their proxy path names."""
    found = {}
    for src, code in EMOJI_IMG.findall(page):
        _, _, sig, encoded = html.unescape(src).split("/")
        found[code] = sig + "/" + encoded
    return found


async def home(w: World) -> str:
    client = w.target.client
    if not client.cookies:
        assert (await login(client, username="alice")).status_code == 303
    response = await client.get("/")
    assert response.status_code == 200
    return response.text


def target_of(w: World, path: str) -> str | None:
    sig, encoded = path.split("/")
    return w.target.federation.media.proxy.target(sig, encoded)


# --- Parsing ---------------------------------------------------------------------------------


def test_the_shapes_servers_send_are_parsed() -> None:
    parsed = parse_emojis(
        {
            "tag": [
                emoji_tag(":blobcat:", "https://a.test/blobcat.png"),
                # Misskey: no colons, `icon` as a list, `updated`.
                {
                    "type": "Emoji",
                    "name": "misskey_cat",
                    "updated": "2019-07-12T02:16:12.088Z",
                    "icon": [{"type": "Image", "url": "https://b.test/cat.webp"}],
                },
                {"type": "Emoji", "name": ":bare:", "icon": "https://c.test/bare.gif"},
                emoji_tag(":blobcat:", "https://a.test/second.png"),  # the first one wins
                emoji_tag(":no spaces:", "https://a.test/x.png"),
                emoji_tag(":" + "a" * 65 + ":", "https://a.test/x.png"),
                emoji_tag(":noicon:", None),
                {"type": "Mention", "name": "@x", "href": "https://a.test/x"},
                "https://a.test/not-a-tag",
            ]
        }
    )
    assert parsed == [
        Emoji("blobcat", "https://a.test/blobcat.png"),
        Emoji("misskey_cat", "https://b.test/cat.webp"),
        Emoji("bare", "https://c.test/bare.gif"),
    ]
    # Kroeg sends one tag, not a list.
    kroeg = document("kroeg/pleroma.kroeg-array-less-emoji.json")["object"]
    assert parse_emojis(kroeg) == [
        Emoji("icon_e_smile", "https://puckipedia.com/forum/images/smilies/icon_e_smile.png")
    ]


def test_unsafe_urls_and_floods_are_dropped() -> None:
    tags = [
        emoji_tag(":js:", "javascript:alert(1)"),
        emoji_tag(":data:", "data:image/png;base64,AAAA"),
        emoji_tag(":quote:", 'https://evil.test/x.png"><script>alert(1)</script>'),
        emoji_tag(":user:", "https://me@evil.test/x.png"),
        emoji_tag(":long:", "https://evil.test/" + "x" * 5000),
        emoji_tag(":ftp:", "ftp://evil.test/x.png"),
    ]
    assert parse_emojis({"tag": tags}) == []
    many = [emoji_tag(f":e{n}:", f"https://a.test/{n}.png") for n in range(500)]
    assert len(parse_emojis({"tag": many})) == MAX_PER_DOCUMENT


def test_only_text_is_emojified_never_tags_or_attributes() -> None:
    emojis = [Emoji("blob", "https://a.test/blob.png")]
    markup = (
        '<p><a href="https://a.test/:blob:/x" title=":blob:">:blob:</a> :blob::blob: 10:30:45'
        " :blob:s :unknown:</p>"
    )
    result = str(emojify(markup, emojis, PROXY.url))
    assert 'href="https://a.test/:blob:/x" title=":blob:"' in result
    assert result.count('<img class="emoji"') == 3
    assert "10:30:45" in result and ":blob:s" in result and ":unknown:" in result
    # The sanitizer escapes `>` in attribute values, so a tag is always one chunk.
    sanitized = sanitize_remote_html('<p><a href="https://a.test/x>:blob:">:blob:</a></p>')
    linked = str(emojify(sanitized, emojis, PROXY.url))
    assert 'href="https://a.test/x&gt;:blob:"' in linked and linked.count("<img") == 1
    name = str(emojify_text('<b>Bob</b> ":blob:"', emojis, PROXY.url))
    assert name.startswith('&lt;b&gt;Bob&lt;/b&gt; &#34;<img class="emoji"')
    assert "https://a.test" not in name  # through the proxy only


# --- Through ingress and onto pages ----------------------------------------------------------


async def test_a_kroeg_post_shows_its_emoji_through_the_proxy(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        assert (await w.send("kroeg/pleroma.kroeg-array-less-emoji.json")).applied
        status = await w.status("https://puckipedia.com/1jjx-ob5r/note")
        assert status is not None and status.emojis_json is not None
        page = await home(w)
        images = shown(page)
        assert set(images) == {"icon_e_smile"}
        assert target_of(w, images["icon_e_smile"]) == (
            "https://puckipedia.com/forum/images/smilies/icon_e_smile.png"
        )
        thread = await w.target.client.get(
            f"/@puckipedia@puckipedia.com/{status.id}", follow_redirects=True
        )
        assert thread.status_code == 200
        assert set(shown(thread.text)) == {"icon_e_smile"}


async def test_pleroma_emoji_in_the_content_warning_and_the_content(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        obj = document("pleroma/pleroma.tesla_mock.emoji-in-summary.json")
        await w.know(obj["actor"], "out")
        sender = w.actor(obj["actor"])
        wrapped = {
            "@context": AS_CONTEXT,
            "id": obj["id"] + "/activity",
            "type": "Create",
            "actor": obj["actor"],
            "object": obj,
            "to": obj["to"],
            "cc": obj["cc"],
        }
        assert (await deliver(w.target, sender, wrapped)).applied
        page = await home(w)
        cw = page.split('<span class="cw-label">Content warning:</span>', 1)[1].split("</summary>")[
            0
        ]
        assert set(shown(cw)) == {"joker_smile"}
        assert {"joker_smile", "joker_disapprove"} <= set(shown(page))


async def test_a_misskey_name_shows_its_emoji(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        actor = document("misskey/pleroma.tesla_mock.sjw.json")
        w.server(actor["id"]).serve(actor)
        stored = await w.target.federation.resolver.actor(actor["id"])
        assert stored.emojis_json is not None
        again = await actor_store.get_actor(w.db, actor["id"])
        assert again is not None and again.emojis_json == stored.emojis_json
        assert (await login(w.target.client, username="alice")).status_code == 303
        page = await w.target.client.get("/@sjw@skippers-bin.com")
        assert page.status_code == 200
        title = page.text.split('<h1 class="p-name">', 1)[1].split("</h1>", 1)[0]
        assert title.startswith('It&#39;s ya boi sjw <img class="emoji"')
        assert set(shown(title)) == {"verified"}
        # The avatar is shown through the proxy too.
        assert re.search(r'<img class="avatar [^"]*large" src="/proxy/', page.text)


async def test_names_and_posts_with_emoji_in_the_timeline(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        bob_id = "https://emoji.test/users/bob"
        bob = w.senders[bob_id] = w.server(bob_id).actor(
            bob_id,
            name="Bob <script>alert(1)</script> :blobcat:",
            tag=[emoji_tag(":blobcat:", "https://emoji.test/blobcat.png")],
        )
        await w.know(bob_id, "out")
        post = note(
            bob,
            content="<p>:blobcat: :evil: :quote: :data: :gone:</p>",
            tag=[
                emoji_tag(":blobcat:", "https://emoji.test/blobcat.png"),
                emoji_tag(":evil:", "javascript:alert(1)"),
                emoji_tag(":quote:", 'https://emoji.test/x.png"><script>alert(2)</script>'),
                {"type": "Emoji", "name": ":data:", "icon": "data:image/png;base64,AAAA"},
            ],
        )
        assert (await deliver(w.target, bob, create(bob, post))).applied
        page = await home(w)
        card = page.split('data-status="', 1)[1]
        header = card.split("</header>", 1)[0]
        assert 'Bob &lt;script&gt;alert(1)&lt;/script&gt; <img class="emoji"' in header
        content = card.split('<div class="content">', 1)[1].split("</div>", 1)[0]
        assert content.count('<img class="emoji"') == 1
        assert ":evil: :quote: :data: :gone:" in content
        assert "javascript:" not in page and "<script>alert" not in page
        assert "data:image" not in page

        # An edit replaces the emoji: :blobcat: goes, :party: comes.
        edited = dict(
            post,
            content="<p>:blobcat: :party:</p>",
            updated="2030-01-01T00:00:00Z",
            tag=[emoji_tag(":party:", "https://emoji.test/party.gif")],
        )
        assert (await deliver(w.target, bob, activity("Update", bob, edited))).applied
        content = (await home(w)).split('<div class="content">', 1)[1].split("</div>", 1)[0]
        assert set(shown(content)) == {"party"}
        assert ":blobcat:" in content


async def test_a_remote_avatar_round_trip(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        pictures = Pictures()
        w.fleet.add("pics.test", pictures.app)
        bob_id = "https://actors.test/users/bob"
        bob = w.senders[bob_id] = w.server(bob_id).actor(
            bob_id,
            icon={"type": "Image", "mediaType": "image/png", "url": "https://pics.test/bob.png"},
        )
        await w.know(bob.actor, "out")
        assert (await deliver(w.target, bob, create(bob, note(bob)))).applied
        page = await home(w)
        found = re.search(r'<img class="avatar[^"]*" src="(/proxy/[^"]+)"', page)
        assert found is not None
        for _ in range(2):
            picture = await w.target.client.get(html.unescape(found.group(1)))
            assert picture.status_code == 200 and picture.content == PNG
        assert pictures.hits["bob.png"] == 1


def test_emoji_json_round_trip() -> None:
    emojis = [Emoji("a", "https://a.test/a.png"), Emoji("b", "https://a.test/b.png")]
    text = to_json(emojis)
    assert text is not None and json.loads(text)[0] == {
        "shortcode": "a",
        "url": "https://a.test/a.png",
    }
    assert from_json(text) == tuple(emojis)
    assert to_json([]) is None and from_json(None) == () and from_json("not json") == ()
    tampered = json.dumps([{"shortcode": "x", "url": "javascript:alert(1)"}])
    assert from_json(tampered) == ()
