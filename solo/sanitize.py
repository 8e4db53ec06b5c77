"""Remote text in, safe text out: HTML, plain text and display names from other servers.

Every piece of HTML another server sends (`content`, `summary`, profile notes and fields, preview
cards) goes through `sanitize_remote_html` before it is stored or shown: trusting it is how
Mastodon got CVE-2023-36459. The profile is Mastodon's `MASTODON_STRICT` (FEDERATION.md rule 34).

The sanitizing itself is nh3 (the Ammonia crate, which parses with html5ever as browsers do);
nothing here parses hostile markup for a security decision. Two things nh3 cannot do, renaming
h1-h6 to `<p><strong>` and turning links with a refused scheme into their text, are done between
two nh3 passes: the first is already a complete sanitizer, the stdlib `html.parser` then renames
or removes tags in its well-formed output, and the second pass cleans the result again.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final

from solo.lazy import lazy

if TYPE_CHECKING:
    import nh3
else:  # at the first remote post or profile, not at start (see solo.lazy)
    nh3 = lazy("nh3")

# fmt: off
ALLOWED_TAGS: Final = frozenset({
    "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i",
    "em", "ul", "ol", "li", "ruby", "rt", "rp",
})
# `rel` and `target` are absent on purpose: nh3 sets both on every link, whatever was sent.
# "*" must be given, even empty: otherwise nh3 keeps its default `lang` and `title` everywhere.
ALLOWED_ATTRIBUTES: Final[dict[str, set[str]]] = {
    "*": set(),
    "a": {"href", "class", "translate"},
    "span": {"class", "translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "p": {"class"},
}
LINK_SCHEMES: Final = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)
LINK_REL: Final = "nofollow noopener"
# Microformats prefixes plus the classes Mastodon's own markup uses (mentions, shortened links).
CLASS_PREFIXES: Final = ("h-", "p-", "u-", "dt-", "e-")
CLASS_NAMES: Final = frozenset({"mention", "hashtag", "ellipsis", "invisible", "quote-inline"})

# Elements whose content is code, styling or a nested document rather than prose for a reader;
# left in, their text would show up as stray words (or as CSS and JavaScript in search results).
_DROP_CONTENT: Final = frozenset({
    "script", "style", "template", "noscript", "iframe", "noembed", "noframes", "xmp", "svg",
    "math", "title", "textarea", "object",
})
_HEADINGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS: Final = _HEADINGS | frozenset({
    "p", "div", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "hr",
    "section", "article", "header", "footer", "main", "nav", "aside", "address", "figure",
    "figcaption", "details", "summary",
})
# fmt: on
# What plain_text keeps while nh3 normalises the markup: enough to know where lines break.
_TEXT_TAGS: Final = ALLOWED_TAGS | _BLOCKS | {"td", "th", "tbody", "thead", "tfoot"}

_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_C0_AND_SPACE: Final = "".join(map(chr, range(0x21)))
_TAB_NEWLINE: Final = str.maketrans("", "", "\t\n\r")
_INTEGER: Final = re.compile(r"-?[0-9]{1,9}")
_HTML_SPACE: Final = re.compile(r"[ \t\n\r\f]+")
# Bidi embeddings, overrides, isolates and marks: in a name they can flip the text around them.
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
MAX_NAME_LENGTH: Final = 100


def sanitize_remote_html(html: str) -> str:
    """Remote HTML reduced to Mastodon's strict profile; safe to insert into our pages unescaped.

    Headings become `<p><strong>`, links keep only the schemes in `LINK_SCHEMES` (others,
    relative ones included, become their text) and get `rel="nofollow noopener"` and
    `target="_blank"`, classes outside the microformats/Mastodon set are removed, and the
    content of scripts, styles and embedded documents is dropped entirely.
    """
    if not html:
        return ""  # an empty summary or field value: nh3 would cost ~50 µs to say so
    # Pass 1 is a complete sanitizer on its own (headings kept, without attributes); the
    # cosmetic rewrite and the second pass only run when there is something to rewrite.
    cleaned = _clean_strict(_without_surrogates(html), ALLOWED_TAGS | _HEADINGS)
    if "<h" not in cleaned and "<a" not in cleaned:
        return cleaned
    return _clean_strict(_rewrite_tags(cleaned), ALLOWED_TAGS)


def _clean_strict(html: str, tags: frozenset[str]) -> str:
    return nh3.clean(
        html,
        tags=set(tags),
        clean_content_tags=set(_DROP_CONTENT),
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=set(LINK_SCHEMES),
    )


def plain_text(html: str) -> str:
    """The text a reader sees in remote HTML, for search and notifications.

    Block elements and `<br>` end lines; other whitespace collapses as a browser would, except
    inside `<pre>`. The result is text, not markup: templates must escape it as usual.
    """
    # nh3 first, so html.parser only ever reads html5ever's well-formed serialisation.
    normalised = nh3.clean(
        _without_surrogates(html),
        tags=set(_TEXT_TAGS),
        clean_content_tags=set(_DROP_CONTENT),
        attributes={"*": set()},
        link_rel=None,
    )
    collector = _TextCollector()
    collector.feed(normalised)
    collector.close()
    return collector.text()


def sanitize_name(text: str) -> str:
    """A remote display name made safe to lay out: no control or bidi characters, one line.

    Whitespace runs become one space and the result is capped at `MAX_NAME_LENGTH` characters.
    Jinja still escapes it; this is about names that break or spoof the layout, not markup.
    """
    if text.isascii() and text.isprintable():
        kept = text  # no control character, and no whitespace but the space: nothing to drop
    else:
        kept = "".join(
            " " if char.isspace() else char
            for char in text
            if char.isspace()
            or (char not in _BIDI_CONTROLS and unicodedata.category(char) not in ("Cc", "Cs"))
        )
    return " ".join(kept.split())[:MAX_NAME_LENGTH].rstrip()


def link_scheme_allowed(href: str) -> bool:
    """Whether a link to `href` may stay a link: absolute, with a scheme from `LINK_SCHEMES`.

    The scheme is read as a browser reads it (WHATWG URL): surrounding spaces and controls and
    every tab or newline inside are ignored, so `jav&#x09;ascript:` counts as `javascript:`.
    Relative links are refused because they would point into our own site.
    """
    cleaned = href.strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)
    match = _SCHEME.match(cleaned)
    return match is not None and match.group(1).lower() in LINK_SCHEMES


def _without_surrogates(text: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); nh3 (Rust) cannot take them, nor can UTF-8.
    return _SURROGATES.sub("\ufffd", text)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's per-attribute hook; returning None removes the attribute. Must never raise."""
    if attribute == "class":
        kept = [name for name in value.split() if _class_allowed(name)]
        return " ".join(kept) if kept else None
    if attribute == "translate":
        lowered = value.strip().lower()
        return lowered if lowered in ("yes", "no") else None
    if attribute in ("start", "value"):
        return value.strip() if _INTEGER.fullmatch(value.strip()) else None
    if attribute == "href":
        # nh3 checks schemes too, but before 0.3 it has no way to refuse relative URLs.
        return value if link_scheme_allowed(value) else None
    return value


def _class_allowed(name: str) -> bool:
    return name in CLASS_NAMES or name.startswith(CLASS_PREFIXES)


def _rewrite_tags(html: str) -> str:
    """Headings renamed to `<p><strong>` and links without `href` unwrapped, in nh3's output.

    nh3 has removed refused `href`s by then, so an `<a>` without one is a refused link. Reading
    only nh3's serialisation (balanced tags, quoted attributes, no comments, no raw text
    elements) is what lets html.parser echo every token back unchanged.
    """
    rewriter = _TagRewriter()
    rewriter.feed(html)
    rewriter.close()
    return "".join(rewriter.parts)


class _TagRewriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        # One entry per open <a>: whether it is being unwrapped. nh3 can emit nested links
        # (from tables it unwrapped), so a single flag would pair the wrong end tags.
        self._links: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self.parts.append("<p><strong>")
            return
        if tag == "a":
            unwrap = all(name != "href" for name, _ in attrs)
            self._links.append(unwrap)
            if unwrap:
                return
        self.parts.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.parts.append("</strong></p>")
        elif tag == "a" and self._links and self._links.pop():
            return
        else:
            self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.parts.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.parts.append(f"&#{name};")


class _TextCollector(HTMLParser):
    """Text of well-formed (nh3-serialised) HTML, with a line break per block and `<br>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._pre_depth = 0

    def text(self) -> str:
        return "".join(self._parts).strip(" \n")

    def _at_line_start(self) -> bool:
        return not self._parts or self._parts[-1].endswith("\n")

    def _break_line(self, *, forced: bool) -> None:
        if self._parts:
            self._parts[-1] = self._parts[-1].rstrip(" ")
        # Nested blocks (<li><p>) end several elements at once but make one line break.
        if forced or not self._at_line_start():
            self._parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break_line(forced=True)
        elif tag in _BLOCKS:
            self._break_line(forced=False)
        if tag == "pre":
            self._pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag in _BLOCKS:
            self._break_line(forced=False)

    def handle_data(self, data: str) -> None:
        if self._pre_depth:
            self._parts.append(data)
            return
        collapsed = _HTML_SPACE.sub(" ", data)
        if self._at_line_start() or self._parts[-1].endswith(" "):
            collapsed = collapsed.lstrip(" ")
        if collapsed:
            self._parts.append(collapsed)
