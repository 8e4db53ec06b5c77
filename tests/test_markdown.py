"""The Markdown subset of our own posts: what it renders, what it refuses, what it leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo.actions import statuses as status_actions
from solo.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from solo.store import statuses as status_store
from solo.text import (
    MentionTarget,
    RenderedPost,
    ResolvedMention,
    find_mentions,
    render_post,
)
from tests.fleet import fleet_of
from tests.test_text import elements

BASE = "https://solo.test"
BOB = MentionTarget("https://remote.example/@bob", "https://remote.example/users/bob")


def known(username: str, host: str | None) -> ResolvedMention | None:
    return BOB if (username, host) == ("bob", "remote.example") else None


def assert_mastodon_markup(html: str) -> None:
    """Only what Mastodon's sanitizer keeps, plus the `rel` and `target` of our own links."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel", "target"}, (tag, name)
            if name == "href":
                assert value is not None and value.startswith(("https://", "http://")), value


def render(text: str) -> RenderedPost:
    post = render_post(text, base_url=BASE, resolve_mention=known)
    assert_mastodon_markup(post.html)
    return post


def md_link(url: str, text: str) -> str:
    return f'<a href="{url}" rel="nofollow noopener" target="_blank">{text}</a>'


TAG = f'<a href="{BASE}/tags/tag" class="mention hashtag" rel="tag">#<span>tag</span></a>'
MENTION = (
    '<span class="h-card" translate="no"><a href="https://remote.example/@bob"'
    ' class="u-url mention">@<span>bob</span></a></span>'
)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*em* and _em_", "<p><em>em</em> and <em>em</em></p>"),
        ("**strong** __too__", "<p><strong>strong</strong> <strong>too</strong></p>"),
        ("say `x < y`", "<p>say <code>x &lt; y</code></p>"),
        ("```\nif a < b:\n    pass\n```", "<pre><code>if a &lt; b:\n    pass</code></pre>"),
        ("```python\nx = 1\n```", "<pre><code>x = 1</code></pre>"),
        ("- one\n- two", "<ul><li>one</li><li>two</li></ul>"),
        ("* one\n* two", "<ul><li>one</li><li>two</li></ul>"),
        ("1. one\n2. two", "<ol><li>one</li><li>two</li></ol>"),
        ("3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>'),
        ("> quoted\n> still", "<blockquote><p>quoted<br>still</p></blockquote>"),
        (
            "[Solo](https://solo.example/about)",
            f"<p>{md_link('https://solo.example/about', 'Solo')}</p>",
        ),
    ],
)
def test_each_construct(text: str, html: str) -> None:
    assert render(text).html == html


def test_markdown_link_is_listed_with_bare_links() -> None:
    post = render("[a](https://a.example/) and https://b.example/")
    assert post.links == ["https://a.example/", "https://b.example/"]


def test_emphasis_inside_list_items_and_link_inside_quote() -> None:
    assert render("- *one*\n- **two** #tag").html == (
        f"<ul><li><em>one</em></li><li><strong>two</strong> {TAG}</li></ul>"
    )
    post = render("> see [this](https://a.example/x) @bob@remote.example")
    assert post.html == (
        f"<blockquote><p>see {md_link('https://a.example/x', 'this')} {MENTION}</p></blockquote>"
    )
    assert [m.ap_id for m in post.mentions] == [BOB.ap_id]


def test_plain_paragraphs_and_breaks_around_markdown() -> None:
    assert render("*a*\nb\n\nc").html == "<p><em>a</em><br>b</p><p>c</p>"


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](/relative)",
        "[x](ftp://files.example/x)",
        "![x](data:image/png;base64,AAAA)",
    ],
)
def test_refused_link_targets_stay_text(text: str) -> None:
    post = render(text)
    assert "<a" not in post.html
    assert post.links == []
    assert post.html == f"<p>{text}</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>"),
        ('<a href="javascript:x">y</a>', '<p>&lt;a href="javascript:x"&gt;y&lt;/a&gt;</p>'),
        ("<div>\nblock\n</div>", "<p>&lt;div&gt;<br>block<br>&lt;/div&gt;</p>"),
        ("&amp; &lt;", "<p>&amp;amp; &amp;lt;</p>"),
        ("*<img src=x onerror=alert(1)>*", "<p><em>&lt;img src=x onerror=alert(1)&gt;</em></p>"),
    ],
)
def test_typed_html_is_escaped_never_interpreted(text: str, html: str) -> None:
    assert render(text).html == html


def test_link_href_cannot_break_out_of_its_attribute() -> None:
    post = render('[x](https://a.example/"onmouseover=alert(1))')
    assert 'onmouseover="' not in post.html
    assert all(link.startswith("https://a.example/") for link in post.links)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("# heading", "<p># heading</p>"),
        ("| a | b |\n|---|---|", "<p>| a | b |<br>|---|---|</p>"),
        ("---", "<p>---</p>"),
        ("~~struck~~", "<p>~~struck~~</p>"),
    ],
)
def test_headings_tables_and_rules_stay_text(text: str, html: str) -> None:
    assert render(text).html == html


def test_image_stays_text_with_its_url_linked() -> None:
    post = render("![cat](https://i.example/cat.png)")
    assert post.html.startswith('<p>![cat](<a href="https://i.example/cat.png"')
    assert "<img" not in post.html


def test_mentions_and_hashtags_in_code_are_left_alone() -> None:
    text = "`@bob@remote.example #tag`\n\n```\n@bob@remote.example #tag\n```"
    post = render(text)
    assert post.mentions == [] and post.hashtags == []
    assert post.html == (
        "<p><code>@bob@remote.example #tag</code></p>"
        "<pre><code>@bob@remote.example #tag</code></pre>"
    )
    assert find_mentions(text) == []


def test_mentions_in_link_text_are_not_mentions() -> None:
    text = "[@bob@remote.example](https://a.example/) @bob@remote.example"
    assert find_mentions(text) == [("bob", "remote.example")]
    post = render(text)
    assert post.html.startswith(f"<p>{md_link('https://a.example/', '@bob@remote.example')} ")


def test_underscores_in_words_and_urls_are_not_emphasis() -> None:
    post = render("snake_case_name and https://a.example/x_y_z and https://a.example/_q_")
    assert "<em>" not in post.html
    assert "snake_case_name" in post.html
    assert post.links == ["https://a.example/x_y_z", "https://a.example/_q_"]


def test_asterisks_around_a_url_are_emphasis_not_part_of_it() -> None:
    post = render("**https://a.example/x**")
    assert post.links == ["https://a.example/x"]
    assert post.html.startswith("<p><strong><a href=")


def test_bare_url_as_link_text() -> None:
    post = render("[https://a.example/](https://b.example/)")
    assert post.html == f"<p>{md_link('https://b.example/', 'https://a.example/')}</p>"


async def test_post_stores_the_rendered_markdown(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (_, nodes):
        federation = nodes["alice"].federation
        status = await status_actions.post(
            federation, "**hi** `#not` #tag\n\n- [a](https://a.example/)\n- <b>x</b>"
        )
        stored = await status_store.get_status(federation.db, status.id)
        assert stored is not None
        assert stored.content_html == (
            "<p><strong>hi</strong> <code>#not</code> "
            '<a href="https://alice.test/tags/tag" class="mention hashtag" rel="tag">'
            "#<span>tag</span></a></p>"
            f"<ul><li>{md_link('https://a.example/', 'a')}</li><li>&lt;b&gt;x&lt;/b&gt;</li></ul>"
        )
