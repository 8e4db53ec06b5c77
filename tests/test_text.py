"""Remote HTML sanitizing (Mastodon's strict profile) and rendering our own posts."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from html.parser import HTMLParser
from typing import Any

import pytest

from solo.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LINK_SCHEMES,
    MAX_NAME_LENGTH,
    link_scheme_allowed,
)
from solo.text import (
    Mention,
    MentionTarget,
    RenderedPost,
    ResolvedMention,
    find_mentions,
    plain_text,
    render_post,
    sanitize_name,
    sanitize_remote_html,
)
from tests.conftest import FIXTURES

ACTIVITIES = FIXTURES / "activities"
BASE = "https://solo.test"


class _Walker(HTMLParser):
    """Every tag and attribute of sanitized output, as a browser-like tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.elements


def assert_strict(html: str) -> None:
    """The invariants of rule 34, whatever the input was."""
    assert "<!--" not in html
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            if tag == "a" and name in ("rel", "target"):
                continue
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name)
            if name == "href":
                assert value is not None and link_scheme_allowed(value), value
        if tag == "a":
            assert attrs.get("href"), "a link without href should have become text"
            assert attrs["rel"] == "nofollow noopener"
            assert attrs["target"] == "_blank"


def clean(html: str) -> str:
    out = sanitize_remote_html(html)
    assert_strict(out)
    return out


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        "<style>body{display:none}</style>",
        "<scr<script>ipt>alert(1)</script>",
        "<<script>script>alert(1)<</script>/script>",
        "<img src onerror=alert(1)>",
        "<img src=x onerror=alert(1)//",
        '<iframe src="https://evil.example"></iframe>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<svg><script>alert(1)</script></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<object data="javascript:alert(1)"></object>',
        '<embed src="javascript:alert(1)">',
        '<form action="javascript:alert(1)"><button>go</button></form>',
        '<button formaction="javascript:alert(1)">go</button>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        '<base href="javascript:alert(1)//">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<body onload="alert(1)">',
        '<details open ontoggle="alert(1)">',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<!--[if IE]><script>alert(1)</script><![endif]-->",
        "<![CDATA[<script>alert(1)</script>]]>",
        '<template><img src=x onerror="alert(1)"></template>',
        "<textarea><img src=x onerror=alert(1)></textarea>",
    ],
)
def test_hostile_markup_leaves_no_executable_content(hostile: str) -> None:
    out = clean(hostile)
    lowered = out.lower()
    for needle in ("<script", "<img", "<iframe", "<svg", "onerror", "onload", "javascript:"):
        assert needle not in lowered


def test_script_and_style_contents_are_dropped_entirely() -> None:
    out = clean("<p>before<script>var secret = 1;</script><style>p { color: red }</style>after</p>")
    assert out == "<p>beforeafter</p>"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "jav&#x0A;ascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)",
        " javascript:alert(1)",
        "&#0;javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://files.example/x",
        "/relative/path",
        "//evil.example/x",
        "#fragment",
        "",
    ],
)
def test_links_with_refused_schemes_become_their_text(href: str) -> None:
    assert clean(f'<p>see <a href="{href}">this link</a>!</p>') == "<p>see this link!</p>"


def test_an_anchor_without_href_becomes_its_text() -> None:
    assert clean('<a name="x" class="mention">@bob</a>') == "@bob"


@pytest.mark.parametrize("scheme", sorted(LINK_SCHEMES))
def test_allowed_link_schemes_are_kept(scheme: str) -> None:
    href = f"{scheme}://example.org/x" if scheme not in ("xmpp", "magnet") else f"{scheme}:x"
    out = clean(f'<a href="{href}">x</a>')
    assert out == f'<a href="{href}" target="_blank" rel="nofollow noopener">x</a>'


def test_links_get_rel_and_target_whatever_was_sent() -> None:
    out = clean(
        '<a href="https://a.example/" rel="ugc me" target="_top" referrerpolicy="unsafe-url">a</a>'
    )
    assert out == '<a href="https://a.example/" target="_blank" rel="nofollow noopener">a</a>'


def test_event_handler_and_style_attributes_are_removed() -> None:
    out = clean(
        '<p onclick="alert(1)" style="position:fixed" class="e-content">'
        '<span onmouseover="alert(1)" style="background:url(javascript:alert(1))">x</span></p>'
    )
    assert out == '<p class="e-content"><span>x</span></p>'


def test_generic_attributes_are_not_kept_either() -> None:
    out = clean('<p id="x" title="t" lang="de" dir="rtl" data-user="1" class="h-entry">x</p>')
    assert out == '<p class="h-entry">x</p>'


@pytest.mark.parametrize("level", range(1, 7))
def test_headings_become_strong_paragraphs(level: int) -> None:
    html = f'<h{level} class="p-name" id="t">Title</h{level}><p>body</p>'
    assert clean(html) == "<p><strong>Title</strong></p><p>body</p>"


def test_headings_inside_other_markup_and_unbalanced() -> None:
    assert clean("<H2>Up</H2>") == "<p><strong>Up</strong></p>"
    assert clean("<h1>never closed") == "<p><strong>never closed</strong></p>"
    assert clean("stray</h3>end") == "strayend"
    assert clean("<blockquote><h4>q</h4></blockquote>") == (
        "<blockquote><p><strong>q</strong></p></blockquote>"
    )


def test_heading_text_in_attributes_and_text_is_not_renamed() -> None:
    out = clean('<p>&lt;h1&gt; is a tag</p><a href="https://a.example/?q=<h1>">x</a>')
    assert out.startswith("<p>&lt;h1&gt; is a tag</p>")
    assert 'href="https://a.example/?q=&lt;h1&gt;"' in out


def test_nested_and_malformed_markup_is_balanced() -> None:
    # What a browser builds: the open <i> is reopened after the misnested </p>.
    assert clean("<p><b><i>x</p></b>y") == "<p><b><i>x</i></b></p><i>y</i>"
    assert clean("<ul><li>one<li>two</ul>") == "<ul><li>one</li><li>two</li></ul>"
    assert clean("<a href=https://a.example/ onclick=alert(1)>x</a>") == (
        '<a href="https://a.example/" target="_blank" rel="nofollow noopener">x</a>'
    )
    assert clean('<a href="https://a.example/ onclick=alert(1)>x</a>') == ""


def test_class_allowlist_keeps_microformats_and_mastodon_classes() -> None:
    out = clean(
        '<p class="h-entry e-content evil">'
        '<span class="p-name u-photo dt-published mention">x</span>'
        '<a href="https://a.example/" class="u-url mention hashtag status-url-link">y</a>'
        '<span class="invisible ellipsis quote-inline mentionx h">z</span>'
        '<span class="bad">w</span></p>'
    )
    assert out == (
        '<p class="h-entry e-content"><span class="p-name u-photo dt-published mention">x</span>'
        '<a href="https://a.example/" class="u-url mention hashtag" target="_blank"'
        ' rel="nofollow noopener">y</a>'
        '<span class="invisible ellipsis quote-inline">z</span><span>w</span></p>'
    )


def test_classes_are_not_allowed_on_other_elements() -> None:
    assert clean('<b class="h-card">x</b><li class="mention">y</li>') == "<b>x</b><li>y</li>"


def test_list_and_translate_attributes_are_checked() -> None:
    assert clean('<ol start="3" reversed><li value="7">a</li></ol>') == (
        '<ol start="3" reversed=""><li value="7">a</li></ol>'
    )
    assert clean('<ol start="x"><li value="1; evil">a</li></ol>') == "<ol><li>a</li></ol>"
    assert clean('<span translate="no">a</span><span translate="maybe">b</span>') == (
        '<span translate="no">a</span><span>b</span>'
    )


def test_allowed_elements_survive() -> None:
    html = (
        "<p>a<br>b <del>c</del> <s>d</s> <b>e</b> <strong>f</strong> <u>g</u> <i>h</i> <em>i</em>"
        " <code>j</code> <ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby></p>"
        "<pre><code>x = 1</code></pre><blockquote><p>q</p></blockquote><ul><li>l</li></ul>"
    )
    assert clean(html) == html


def test_unknown_elements_are_unwrapped_keeping_their_text() -> None:
    assert clean("<div><section>a <mark>b</mark></section></div>") == "a b"


def test_lone_surrogates_do_not_break_sanitizing() -> None:
    assert clean("<p>a\ud800b</p>") == "<p>a\ufffdb</p>"


def test_our_own_markup_passes_through_unchanged_in_meaning() -> None:
    post = render_post(
        "@bob hello #tag https://example.com/a/very/long/path/that/goes/on/and/on",
        base_url=BASE,
        resolve_mention=lambda user, host: MentionTarget(
            "https://remote.example/@bob", "https://remote.example/users/bob"
        ),
    )
    out = clean(post.html)
    for fragment in (
        '<span class="h-card" translate="no">',
        'class="u-url mention"',
        'class="mention hashtag"',
        '<span class="invisible">https://</span>',
        '<span class="ellipsis">',
    ):
        assert fragment in out
    assert plain_text(out) == plain_text(post.html)


# --- real content from other servers ---------------------------------------------------------


def fixture_object(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ACTIVITIES / relative).read_bytes())
    inner = document.get("object")
    return inner if isinstance(inner, dict) else document


FIXTURE_FILES = [
    "mastodon/pleroma.mastodon-post-activity-hashtag.json",
    "mastodon/pleroma.mastodon-create-with-attachment.json",
    "mastodon/lemmy.activities.create_note.json",
    "mastodon/pleroma.tesla_mock.status.emelie.json",
    "pleroma/pleroma.create-pleroma-reply-to-misskey-thread.json",
    "pleroma/pleroma.create-chat-message.json",
    "misskey/pleroma.tesla_mock.mk.absturztau.be-93e7nm8wqg-activity.json",
    "misskey/pleroma.quote_post.misskey_quote_post.json",
    "lemmy/lemmy.activities.create_or_update.create_comment.json",
    "fedibird/pleroma.quote_post.fedibird_quote_post.json",
]


@pytest.mark.parametrize("relative", FIXTURE_FILES)
def test_fixture_copies_are_the_listed_bytes(relative: str) -> None:
    digest = hashlib.sha256((ACTIVITIES / relative).read_bytes()).hexdigest()
    sources = (ACTIVITIES / "SOURCES.md").read_text(encoding="utf-8")
    assert f"`{relative}`" in sources
    assert digest in sources


@pytest.mark.parametrize("relative", FIXTURE_FILES)
def test_fixture_content_sanitizes_to_strict_markup(relative: str) -> None:
    content = fixture_object(relative)["content"]
    out = clean(content)
    assert plain_text(out) == plain_text(content)


def test_mastodon_mention_survives_with_its_classes() -> None:
    content = fixture_object("mastodon/pleroma.mastodon-post-activity-hashtag.json")["content"]
    assert clean(content) == (
        '<p><span class="h-card"><a href="http://localtesting.pleroma.lol/users/lain"'
        ' class="u-url mention" target="_blank" rel="nofollow noopener">@<span>lain</span></a>'
        "</span> #moo</p>"
    )


def test_mastodon_hashtag_link_survives_with_its_classes() -> None:
    content = fixture_object("mastodon/pleroma.tesla_mock.status.emelie.json")["content"]
    assert clean(content).endswith(
        '🦁 <a href="https://mastodon.social/tags/mastocats" class="mention hashtag"'
        ' target="_blank" rel="nofollow noopener">#<span>mastocats</span></a></p>'
    )


def test_mastodon_shortened_link_keeps_its_display_spans() -> None:
    content = fixture_object("mastodon/pleroma.mastodon-create-with-attachment.json")["content"]
    out = clean(content)
    assert '<span class="invisible">http://</span>' in out
    assert '<span class="ellipsis">mastodon.example.org/media/hw4</span>' in out
    assert plain_text(out) == "http://mastodon.example.org/media/hw4nrZmV5DPbW2z_hao"


def test_pleroma_mention_loses_data_attributes_and_ugc_rel() -> None:
    content = fixture_object("pleroma/pleroma.create-pleroma-reply-to-misskey-thread.json")[
        "content"
    ]
    assert 'data-user="' in content and 'rel="ugc"' in content
    assert clean(content) == (
        '<span class="h-card"><a class="u-url mention" href="https://mk.absturztau.be/@mametsuko"'
        ' target="_blank" rel="nofollow noopener">@<span>mametsuko</span></a></span> meow'
    )


def test_pleroma_chat_message_script_is_dropped() -> None:
    content = fixture_object("pleroma/pleroma.create-chat-message.json")["content"]
    assert "<script>" in content
    assert clean(content) == "You expected a cute girl? Too bad. "


def test_misskey_note_with_plain_link() -> None:
    content = fixture_object("misskey/pleroma.quote_post.misskey_quote_post.json")["content"]
    out = clean(content)
    assert '<a href="https://misskey.io/notes/8vs6wxufd0" target="_blank"' in out
    assert plain_text(out).splitlines()[-1] == "RE: https://misskey.io/notes/8vs6wxufd0"
    meow = "misskey/pleroma.tesla_mock.mk.absturztau.be-93e7nm8wqg-activity.json"
    assert clean(fixture_object(meow)["content"]) == "<p><span>meow</span></p>"


def test_lemmy_comment() -> None:
    content = fixture_object("lemmy/lemmy.activities.create_or_update.create_comment.json")
    assert clean(content["content"]) == "hello"


def test_fedibird_quote_keeps_quote_inline_but_not_its_own_classes() -> None:
    content = fixture_object("fedibird/pleroma.quote_post.fedibird_quote_post.json")["content"]
    out = clean(content)
    assert '<span class="quote-inline">' in out
    assert "status-url-link" not in out and "data-status" not in out
    assert "noreferrer" not in out


# --- plain text ------------------------------------------------------------------------------


def test_plain_text_separates_blocks_with_newlines() -> None:
    html = "<p>one<br>two</p><p>three</p><ul><li>a</li><li><p>b</p></li></ul><h1>T</h1>end"
    assert plain_text(html) == "one\ntwo\nthree\na\nb\nT\nend"


def test_plain_text_collapses_whitespace_except_in_pre() -> None:
    assert plain_text("<p>  a \n\t b  </p>") == "a b"
    assert plain_text("<pre>x  =\n  1</pre>") == "x  =\n  1"


def test_plain_text_decodes_entities_and_drops_scripts() -> None:
    html = "<p>a &amp; b &lt;c&gt; &#x1F600;</p><script>alert(1)</script><style>p{}</style>"
    assert plain_text(html) == "a & b <c> \U0001f600"


def test_plain_text_keeps_consecutive_line_breaks() -> None:
    assert plain_text("a<br><br>b") == "a\n\nb"


def test_plain_text_of_empty_and_text_only_input() -> None:
    assert plain_text("") == ""
    assert plain_text("just text") == "just text"


# --- display names ---------------------------------------------------------------------------


def test_sanitize_name_strips_controls_and_bidi_overrides() -> None:
    assert sanitize_name("Ev\u202eil\u202c \x00Bob\x07") == "Evil Bob"
    assert sanitize_name("\u2066a\u2069\u200fb\u200e") == "ab"


def test_sanitize_name_collapses_whitespace_to_one_line() -> None:
    assert sanitize_name("  Ada \n\n Lovelace\t\u2028 ") == "Ada Lovelace"


def test_sanitize_name_of_plain_ascii_is_what_the_slow_path_gives() -> None:
    """Printable ASCII skips the per-character pass; a control character anywhere takes it."""
    assert sanitize_name("  Bench   user 5 of s1.test:8001  ") == "Bench user 5 of s1.test:8001"
    assert sanitize_name("  Bench   user\x7f 5 ") == "Bench user 5"
    assert sanitize_name("a " * 60) == ("a " * 50).rstrip()


def test_sanitize_name_keeps_emoji_sequences_and_scripts() -> None:
    name = "👩\u200d💻 Zoë 日本 :blobcat:"
    assert sanitize_name(name) == name


def test_sanitize_name_caps_length() -> None:
    assert sanitize_name("x" * 500) == "x" * MAX_NAME_LENGTH
    assert sanitize_name("a" * 99 + " b") == "a" * 99


def test_sanitize_name_drops_lone_surrogates() -> None:
    assert sanitize_name("a\ud800b") == "ab"


# --- rendering our own posts -----------------------------------------------------------------

BOB = MentionTarget("https://remote.example/@bob", "https://remote.example/users/bob")
ALICE = MentionTarget(f"{BASE}/@alice", f"{BASE}/users/alice")


def known(username: str, host: str | None) -> ResolvedMention | None:
    return {("bob", "remote.example"): BOB, ("alice", None): ALICE}.get((username, host))


def render(text: str) -> RenderedPost:
    return render_post(text, base_url=BASE + "/", resolve_mention=known)


def link(url: str, prefix: str, shown: str, rest: str = "", *, cut: bool = False) -> str:
    return (
        f'<a href="{url}" rel="nofollow noopener" target="_blank" translate="no">'
        f'<span class="invisible">{prefix}</span>'
        f'<span class="{"ellipsis" if cut else ""}">{shown}</span>'
        f'<span class="invisible">{rest}</span></a>'
    )


def tag(name: str, href_name: str | None = None) -> str:
    return (
        f'<a href="{BASE}/tags/{href_name or name.lower()}" class="mention hashtag" rel="tag">'
        f"#<span>{name}</span></a>"
    )


def test_escaping_paragraphs_and_line_breaks() -> None:
    post = render('<b>bold</b> & "quotes"\nsecond line\r\n\r\n  \n\nnew paragraph\n')
    assert post.html == (
        '<p>&lt;b&gt;bold&lt;/b&gt; &amp; "quotes"<br>second line</p><p>new paragraph</p>'
    )
    assert post == RenderedPost(post.html, [], [], [])


def test_empty_text_renders_nothing() -> None:
    assert render(" \n\n ").html == ""


def test_control_characters_are_removed() -> None:
    assert render("a\x00b\x1bc\x7f").html == "<p>abc</p>"


def test_url_with_trailing_punctuation() -> None:
    post = render("(see https://a.example/x).")
    assert (
        post.html == "<p>(see " + link("https://a.example/x", "https://", "a.example/x") + ").</p>"
    )
    assert post.links == ["https://a.example/x"]


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://a.example/x, and", "https://a.example/x"),
        ("“https://a.example/x”!", "https://a.example/x”"),
        ("'https://a.example/x'", "https://a.example/x"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("(https://en.wikipedia.org/wiki/Foo_(bar))", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("<https://a.example/x>", "https://a.example/x"),
        ("HTTPS://A.example/x?", "HTTPS://A.example/x"),
        ("[https://a.example/]:", "https://a.example/"),
    ],
)
def test_url_boundaries(text: str, url: str) -> None:
    assert render(text).links == [url]


def test_url_with_query_string_and_fragment() -> None:
    post = render("https://a.example/search?q=a&b=c#top")
    assert post.links == ["https://a.example/search?q=a&b=c#top"]
    assert post.html == (
        "<p>"
        + link(
            "https://a.example/search?q=a&amp;b=c#top",
            "https://",
            "a.example/search?q=a&amp;b=c#top",
        )
        + "</p>"
    )


def test_long_url_is_shortened_like_mastodon() -> None:
    url = "https://www.example.com/a/very/long/path/that/goes/on?x=1"
    post = render(url)
    assert post.html == (
        "<p>"
        + link(url, "https://www.", "example.com/a/very/long/path/t", "hat/goes/on?x=1", cut=True)
        + "</p>"
    )


def test_not_urls() -> None:
    assert render("https:// nothing here, xhttps://a.example").links == []
    assert render("http://[::1").links == []


def test_mentions_and_tags_inside_urls_are_part_of_the_url() -> None:
    post = render("https://remote.example/@bob#tag")
    assert post.links == ["https://remote.example/@bob#tag"]
    assert post.mentions == [] and post.hashtags == []
    assert find_mentions("https://remote.example/@bob") == []


def test_resolved_mentions_link_to_the_profile() -> None:
    post = render("@bob@remote.example hi\n@alice and @Bob@REMOTE.example")
    bob = (
        '<span class="h-card" translate="no"><a href="https://remote.example/@bob"'
        ' class="u-url mention">@<span>bob</span></a></span>'
    )
    alice = (
        f'<span class="h-card" translate="no"><a href="{BASE}/@alice" class="u-url mention">'
        "@<span>alice</span></a></span>"
    )
    # "Bob" is another handle as typed: the resolver above only knows "bob", so it stays text.
    assert post.html == f"<p>{bob} hi<br>{alice} and @Bob@REMOTE.example</p>"
    assert post.mentions == [
        Mention("bob", "remote.example", BOB.ap_id, BOB.href),
        Mention("alice", None, ALICE.ap_id, ALICE.href),
    ]


def test_unresolved_mention_stays_text() -> None:
    post = render("hi @nobody@nowhere.example and @nobody")
    assert post.html == "<p>hi @nobody@nowhere.example and @nobody</p>"
    assert post.mentions == []


def test_email_address_is_not_a_mention() -> None:
    assert find_mentions("write to bob@remote.example or a.b+c@remote.example") == []
    assert render("mail bob@remote.example").html == "<p>mail bob@remote.example</p>"


def test_find_mentions_returns_each_handle_once_with_lowercase_host() -> None:
    text = "@bob@Remote.Example: (@alice) @bob@remote.example, @carol@[::1] @dan@127.0.0.1:8080."
    assert find_mentions(text) == [
        ("bob", "remote.example"),
        ("alice", None),
        ("carol", None),
        ("dan", "127.0.0.1:8080"),
    ]


def test_find_mentions_is_what_render_asks_for() -> None:
    asked: list[tuple[str, str | None]] = []

    def recorder(username: str, host: str | None) -> ResolvedMention | None:
        asked.append((username, host))
        return known(username, host)

    text = "@bob@remote.example @alice @bob@remote.example @x.y_z@host-1.example."
    render_post(text, base_url=BASE, resolve_mention=recorder)
    assert asked == find_mentions(text)
    assert asked[-1] == ("x.y_z", "host-1.example")


def test_mention_with_a_hostile_profile_url_falls_back_to_the_actor_id() -> None:
    evil = MentionTarget("javascript:alert(1)", "https://remote.example/users/eve")
    post = render_post("@eve", base_url=BASE, resolve_mention=lambda user, host: evil)
    assert 'href="https://remote.example/users/eve"' in post.html
    unusable = MentionTarget("javascript:alert(1)", "javascript:alert(2)")
    post = render_post("@eve", base_url=BASE, resolve_mention=lambda user, host: unusable)
    assert post.html == "<p>@eve</p>" and post.mentions == []


def test_mention_href_is_escaped() -> None:
    odd = MentionTarget('https://remote.example/@"><script>', "https://remote.example/users/odd")
    post = render_post("@odd", base_url=BASE, resolve_mention=lambda user, host: odd)
    assert 'href="https://remote.example/@&quot;&gt;&lt;script&gt;"' in post.html


def test_hashtags() -> None:
    post = render("#Solo is #solo, (#fediverse) end.#last #123 x#no a/#b c&#d")
    assert post.html == (
        f"<p>{tag('Solo')} is {tag('solo')}, ({tag('fediverse')}) end.{tag('last')} #123"
        " x#no a/#b c&amp;#d</p>"
    )
    assert post.hashtags == ["solo", "fediverse", "last"]


def test_hashtags_with_digits_and_underscores() -> None:
    # Mastodon's HASHTAG_NAME_RE: "_" and "__" hold no letter, so they are not tags; "1_2" is.
    assert render("#2024_recap #web3 #_ #__ #1_2").hashtags == ["2024_recap", "web3", "1_2"]


def test_hashtags_take_middle_dots_between_words_only() -> None:
    post = render("#l·lengua #日本・語 #dot· #·x")
    assert post.hashtags == ["l·lengua", "日本・語", "dot"]
    assert "#·x" in post.html


def test_non_latin_hashtags_and_emoji() -> None:
    decomposed = unicodedata.normalize("NFD", "café")
    post = render(f"🎉#日本語 #café #{decomposed} #हिन्दी ❤️")
    assert post.hashtags == ["日本語", "café", "हिन्दी"]
    assert post.html.startswith("<p>🎉" + tag("日本語", "%E6%97%A5%E6%9C%AC%E8%AA%9E") + " ")
    assert tag("café", "caf%C3%A9") in post.html
    assert post.html.endswith(" ❤️</p>")


def test_persian_tag_keeps_inner_zero_width_non_joiner() -> None:
    assert render("#می\u200cخواهم\u200c").hashtags == ["می\u200cخواهم"]


def test_mentions_at_line_starts_and_after_punctuation() -> None:
    post = render("@alice first\n@bob@remote.example second\n(@alice)")
    assert post.html.count('class="u-url mention"') == 3
    assert post.html.startswith('<p><span class="h-card"')
    assert "<br>(<span" in post.html


def test_links_are_listed_once_in_order() -> None:
    post = render("https://b.example/ https://a.example/ https://b.example/")
    assert post.links == ["https://b.example/", "https://a.example/"]


def test_rendered_post_is_plain_text_again() -> None:
    text = "Hi @alice, see https://www.example.com/a/very/long/path/indeed #Tag\n\nBye <3"
    assert plain_text(render(text).html) == (
        "Hi @alice, see https://www.example.com/a/very/long/path/indeed #Tag\nBye <3"
    )
