"""The Markdown subset our own posts understand, and the check their HTML passes at the end.

Parsing is markdown-it-py, cut down to emphasis, strong, code spans, fenced code, links, lists
and block quotes. Raw HTML, entities, headings, tables, rules and indented code stay off, so
everything else a user types remains text. Rendering is `solo.text`'s, which turns the text
tokens into Mastodon-style links, hashtags and mentions.

Bare URLs are kept whole before emphasis sees them (`https://a.example/_x_` is one URL, not an
emphasised `x`); the parser asks the caller where a URL starting at a position ends, so the one
definition of a URL stays in `solo.text`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final

from solo.lazy import lazy
from solo.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

if TYPE_CHECKING:
    import markdown_it
    import nh3
    from markdown_it.rules_inline import StateInline
else:  # at the first post written, not at start (see solo.lazy)
    markdown_it = lazy("markdown_it")
    nh3 = lazy("nh3")

__all__ = ["UrlEnd", "make_parser", "safety_net"]

# Given the source and the index of a URL's scheme, where the URL ends (None: no URL there).
UrlEnd = Callable[[str, int], int | None]

_BLOCK_RULES: Final = ["fence", "blockquote", "list"]
# "image" is on only so that `![alt](url)` is recognised and can be written back as text;
# without it the `!` would stay text and the rest would become a link.
_INLINE_RULES: Final = ["newline", "escape", "backticks", "emphasis", "link", "image"]
_SCHEME_BEFORE_COLON: Final = re.compile(r"https?$", re.IGNORECASE)
_SAFE_SCHEMES: Final = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)

# The sanitizer's profile, plus the `rel` and `target` our own links carry (hashtags use
# rel="tag", which nh3's link_rel would overwrite).
_OWN_ATTRIBUTES: Final = {
    **ALLOWED_ATTRIBUTES,
    "a": ALLOWED_ATTRIBUTES["a"] | {"rel", "target"},
}


def make_parser(url_end: UrlEnd) -> markdown_it.MarkdownIt:
    """A parser for the subset; `url_end` protects bare URLs from the inline rules."""
    parser = markdown_it.MarkdownIt("zero", {"breaks": True, "html": False})
    parser.enable(_BLOCK_RULES).enable(_INLINE_RULES)
    # Only absolute http(s) links; anything else fails to parse as a link and stays text.
    parser.validateLink = _link_allowed  # type: ignore[method-assign]

    def bare_url(state: StateInline, silent: bool) -> bool:
        # The text rule stops at ":", so the scheme is the end of the pending text.
        if state.src[state.pos] != ":":
            return False
        scheme = _SCHEME_BEFORE_COLON.search(state.pending)
        if scheme is None:
            return False
        start = state.pos - len(scheme.group())
        end = url_end(state.src, start)
        if end is not None:
            # `[https://a.example](https://b.example)`: the label ends where the link begins.
            label_end = state.src.find("](", start, end)
            end = end if label_end == -1 else label_end
        if end is None or end > state.posMax or end <= state.pos + 1:
            return False
        if not silent:
            state.pending += state.src[state.pos : end]
        state.pos = end
        return True

    parser.inline.ruler.before("text", "bare_url", bare_url)
    return parser


def _link_allowed(url: str) -> bool:
    return _SAFE_SCHEMES.match(url) is not None


def safety_net(rendered: str) -> str:
    """`rendered` if Mastodon's sanitizer leaves it as it is, else what the sanitizer makes of it.

    Our renderer writes only allowed markup, so this never changes a post; it is there so that
    a bug in rendering cannot put anything else into a post we send.
    """
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes=_OWN_ATTRIBUTES,
        link_rel=None,
        url_schemes={"http", "https"},
    )
    # Compared as a browser reads them: nh3 serialises entities and quotes its own way.
    return rendered if _events(cleaned) == _events(rendered) else cleaned


def _events(markup: str) -> list[tuple[str, ...]]:
    reader = _EventReader()
    reader.feed(markup)
    reader.close()
    return reader.events


class _EventReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        flat = (f"{name}={value}" for name, value in sorted(attrs, key=lambda a: a[0]))
        self.events.append(("start", tag, *flat))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if self.events and self.events[-1][0] == "data":
            data = self.events.pop()[1] + data
        self.events.append(("data", data))

    def handle_comment(self, data: str) -> None:
        self.events.append(("comment", html.escape(data)))
