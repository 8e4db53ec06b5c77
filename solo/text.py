"""Our own posts: the plain text the user typed, as the HTML other servers show well.

The output follows Mastodon's own markup (paragraphs, `<br>`, shortened links, `h-card` mentions
and `mention hashtag` links), because that is what Mastodon, Pleroma and Misskey style and what
survives their sanitizers (FEDERATION.md rule 34). Everything the user typed is escaped; the only
markup is what this module writes.

Mentions need WebFinger, which is async, while rendering is not: the caller asks `find_mentions`
which handles a text contains, resolves them, and passes the results to `render_post` through a
plain lookup function.

Remote HTML is not handled here but in `solo.sanitize`; its functions are re-exported so that
callers find all text handling under one name.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol
from urllib.parse import quote, urlsplit

from solo import hashtags
from solo.hashtags import INNER_SEPARATORS, is_word_char
from solo.markdown import make_parser, safety_net
from solo.sanitize import plain_text, sanitize_name, sanitize_remote_html

if TYPE_CHECKING:
    import markdown_it
    from markdown_it.token import Token

__all__ = [
    "Mention",
    "MentionResolver",
    "MentionTarget",
    "RenderedPost",
    "ResolvedMention",
    "find_mentions",
    "plain_text",
    "render_post",
    "sanitize_name",
    "sanitize_remote_html",
]

# Mastodon shows this many characters of a link after the scheme and "www.", then an ellipsis.
LINK_DISPLAY_LENGTH: Final = 30

# The scheme is matched case-insensitively; the rest runs to whitespace or a character that
# cannot stand unescaped in a URL and usually delimits one in prose (`<https://…>`, quotes).
_URL: Final = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_PREFIX: Final = re.compile(r"https?://(?:www\.)?", re.IGNORECASE)
# Punctuation that ends a sentence rather than a URL when it comes last.
_URL_TRAILING: Final = frozenset(".,:;!?'\"*…")
_BRACKETS: Final = {")": "(", "]": "[", "}": "{"}
# Usernames as Mastodon allows them; the host part also takes Unicode (IDN) and a port, the
# latter for instances on one machine (development and end-to-end tests).
_MENTION: Final = re.compile(
    r"@([A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)"
    r"(?:@(\w(?:[\w-]*\w)?(?:\.\w(?:[\w-]*\w)?)*(?::[0-9]{1,5}(?![0-9]))?))?"
)
# Before an @ or # these make it part of something else: an e-mail address, a path, a query.
_NOT_BEFORE_MENTION: Final = frozenset("/=@")
_NOT_BEFORE_HASHTAG: Final = frozenset("#&/=")
# Line breaks are ours to place; other control characters have no business in a post.
_CONTROL: Final = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]
)


class ResolvedMention(Protocol):
    """What a mention resolves to.

    For a stored remote actor: `MentionTarget(href=actor.url or actor.ap_id, ap_id=actor.ap_id)`.
    """

    @property
    def href(self) -> str:
        """The profile page the mention links to."""
        ...

    @property
    def ap_id(self) -> str:
        """The actor id, to address and tag the post with."""
        ...


@dataclass(frozen=True, slots=True)
class MentionTarget:
    """A plain `ResolvedMention`, for callers (and tests) without an actor record at hand."""

    href: str
    ap_id: str


# Called with exactly the (username, host) pairs `find_mentions` returned; None = unknown.
MentionResolver = Callable[[str, str | None], ResolvedMention | None]


class Mention(NamedTuple):
    """A mention that resolved: the handle as typed (host lowercased) and where it points."""

    username: str
    host: str | None
    ap_id: str
    href: str


@dataclass(frozen=True, slots=True)
class RenderedPost:
    """A post's HTML and what it refers to, each list in order of first appearance."""

    html: str
    mentions: list[Mention]
    hashtags: list[str]
    links: list[str]


@dataclass(frozen=True, slots=True)
class _Link:
    url: str


@dataclass(frozen=True, slots=True)
class _MentionToken:
    text: str
    username: str
    host: str | None


@dataclass(frozen=True, slots=True)
class _Hashtag:
    name: str


_Token = str | _Link | _MentionToken | _Hashtag


def find_mentions(text: str) -> list[tuple[str, str | None]]:
    """The `(username, host)` pairs mentioned in `text`, hosts lowercased, each once.

    `host` is None for `@user`, which the caller resolves as it sees fit (usually our own
    domain). Handles inside URLs, e-mail addresses, code and link texts are not mentions.
    """
    found: dict[tuple[str, str | None], None] = {}
    for block in _parse(text):
        in_link = False
        for child in block.children or ():
            if child.type in ("link_open", "link_close"):
                in_link = child.type == "link_open"
            elif child.type == "text" and not in_link:
                for token in _tokens(child.content):
                    if isinstance(token, _MentionToken):
                        found.setdefault((token.username, token.host))
    return list(found)


def render_post(text: str, *, base_url: str, resolve_mention: MentionResolver) -> RenderedPost:
    """HTML for a post typed as plain text with a little Markdown, plus what it refers to.

    Blank lines separate paragraphs and single newlines become `<br>`. http(s) URLs become
    links, `#tags` link to `{base_url}/tags/{tag}`, and mentions that `resolve_mention` knows
    link to the profile; unresolved mentions stay plain text. The Markdown is `solo.markdown`'s
    subset: emphasis, strong, code, fenced code, http(s) links, lists and block quotes.
    """
    renderer = _Renderer(base_url.rstrip("/"), resolve_mention)
    parts = [renderer.block(token) for token in _parse(text)]
    return RenderedPost(
        html=safety_net("".join(parts)),
        mentions=list(renderer.mentions.values()),
        hashtags=list(renderer.hashtags),
        links=list(renderer.links),
    )


class _Renderer:
    """Markdown tokens to HTML, collecting the mentions, hashtags and links on the way."""

    def __init__(self, base: str, resolve_mention: MentionResolver) -> None:
        self.base = base
        self.resolve_mention = resolve_mention
        self.mentions: dict[str, Mention] = {}
        self.hashtags: dict[str, None] = {}
        self.links: dict[str, None] = {}
        self.resolved: dict[tuple[str, str | None], ResolvedMention | None] = {}
        self.in_link = False

    def block(self, token: Token) -> str:
        if token.type == "inline":
            return "".join(self.inline(child) for child in token.children or ())
        if token.type == "fence":
            return f"<pre><code>{_escape(token.content.rstrip(chr(10)))}</code></pre>"
        if token.hidden:  # the paragraphs of a tight list item
            return ""
        if token.type == "ordered_list_open":
            start = str(token.attrGet("start") or "1")
            return "<ol>" if start == "1" else f'<ol start="{html.escape(start)}">'
        return _SIMPLE_TAGS.get(token.type, "")

    def inline(self, token: Token) -> str:
        if token.type == "text":
            return _escape(token.content) if self.in_link else self.prose(token.content)
        if token.type == "code_inline":
            return f"<code>{_escape(token.content)}</code>"
        if token.type == "link_open":
            href = str(token.attrGet("href"))
            self.links.setdefault(href)
            self.in_link = True
            return f'<a href="{html.escape(href)}" rel="nofollow noopener" target="_blank">'
        if token.type == "link_close":
            self.in_link = False
            return "</a>"
        if token.type == "image":
            # Images are not part of a post's text: written back as typed, with a usable URL.
            src = str(token.attrGet("src"))
            return _escape(f"![{token.content}](") + self.prose(src) + ")"
        if token.type in _SIMPLE_TAGS:
            return _SIMPLE_TAGS[token.type]
        return _escape(token.content)

    def prose(self, text: str) -> str:
        pieces: list[str] = []
        for token in _tokens(text):
            if isinstance(token, str):
                pieces.append(_escape(token))
            elif isinstance(token, _Link):
                self.links.setdefault(token.url)
                pieces.append(_link_html(token.url))
            elif isinstance(token, _Hashtag):
                name = hashtags.normalise(token.name)
                self.hashtags.setdefault(name)
                pieces.append(_hashtag_html(token.name, name, self.base))
            else:
                pieces.append(self.mention(token))
        return "".join(pieces)

    def mention(self, token: _MentionToken) -> str:
        key = (token.username, token.host)
        if key not in self.resolved:
            self.resolved[key] = self.resolve_mention(token.username, token.host)
        target = _usable_target(self.resolved[key])
        if target is None:
            return _escape(token.text)
        href, ap_id = target
        self.mentions.setdefault(ap_id, Mention(token.username, token.host, ap_id, href))
        return _mention_html(token.username, href)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _parse(text: str) -> list[Token]:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)
    return _parser().parse(normalised)


def _url_end(source: str, start: int) -> int | None:
    """Where a bare URL starting at `start` ends, for the Markdown parser."""
    previous = source[start - 1] if start else " "
    found = _token_at(source, start, previous)
    if found is None or not isinstance(found[0], _Link):
        return None
    return found[1]


def _tokens(line: str) -> list[_Token]:
    """One line cut into text, links, mentions and hashtags.

    Scanning left to right and jumping over each match is what keeps `@` and `#` inside a URL
    from counting as mentions or tags.
    """
    tokens: list[_Token] = []
    text_start = 0
    position = 0
    while position < len(line):
        previous = line[position - 1] if position else " "
        found = _token_at(line, position, previous)
        if found is None:
            position += 1
            continue
        token, end = found
        if text_start < position:
            tokens.append(line[text_start:position])
        tokens.append(token)
        position = text_start = end
    if text_start < len(line):
        tokens.append(line[text_start:])
    return tokens


def _token_at(line: str, position: int, previous: str) -> tuple[_Token, int] | None:
    char = line[position]
    if char in "hH" and not is_word_char(previous):
        match = _URL.match(line, position)
        if match:
            url = _trim_url(match.group())
            if _has_host(url):
                return _Link(url), position + len(url)
    elif char == "@" and not (is_word_char(previous) or previous in _NOT_BEFORE_MENTION):
        match = _MENTION.match(line, position)
        if match:
            host = match.group(2).lower() if match.group(2) else None
            return _MentionToken(match.group(), match.group(1), host), match.end()
    elif char == "#" and not (is_word_char(previous) or previous in _NOT_BEFORE_HASHTAG):
        end = position + 1
        while end < len(line) and (is_word_char(line[end]) or line[end] in INNER_SEPARATORS):
            end += 1
        name = line[position + 1 : end].rstrip(INNER_SEPARATORS)
        # The same rule as remote tags and the tag pages: "#1" is a number ("issue #1"), not a
        # topic, and what would be refused elsewhere stays text here.
        if hashtags.is_valid(hashtags.normalise(name)):
            return _Hashtag(name), position + 1 + len(name)
    return None


def _trim_url(url: str) -> str:
    """`url` without the sentence punctuation after it: `(see https://a.example/x).`."""
    # Bracket counts are kept up to date rather than recounted, so ")))…" stays linear.
    unmatched = {close: url.count(close) - url.count(open_) for close, open_ in _BRACKETS.items()}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif unmatched.get(last, 0) > 0:
            # An unbalanced closing bracket belongs to the prose around the link; balanced ones
            # are part of it, as in Wikipedia's `Foo_(bar)`.
            unmatched[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # a malformed IPv6 literal or port: not a link, leave it as text
        return False


def _usable_target(target: ResolvedMention | None) -> tuple[str, str] | None:
    """(href, ap_id) of a resolved mention, or None if it cannot be linked safely.

    The profile URL comes from a remote actor document, so it could be `javascript:`; an
    unusable href falls back to the actor id, and a target without any http(s) URL is treated
    as unresolved.
    """
    if target is None or not _is_http_url(target.ap_id):
        return None
    href = target.href if _is_http_url(target.href) else target.ap_id
    return href, target.ap_id


def _is_http_url(url: str) -> bool:
    return url.lower().startswith(("https://", "http://")) and _has_host(url)


def _link_html(url: str) -> str:
    prefix = _URL_PREFIX.match(url)
    prefix_text = prefix.group() if prefix else ""
    rest = url[len(prefix_text) :]
    shown, hidden = rest[:LINK_DISPLAY_LENGTH], rest[LINK_DISPLAY_LENGTH:]
    shown_class = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank" translate="no">'
        f'<span class="invisible">{html.escape(prefix_text, quote=False)}</span>'
        f'<span class="{shown_class}">{html.escape(shown, quote=False)}</span>'
        f'<span class="invisible">{html.escape(hidden, quote=False)}</span></a>'
    )


def _hashtag_html(typed: str, name: str, base: str) -> str:
    href = f"{base}/tags/{quote(name, safe='')}"
    return (
        f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
        f"#<span>{html.escape(typed, quote=False)}</span></a>"
    )


def _mention_html(username: str, href: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{html.escape(href)}" class="u-url mention">'
        f"@<span>{html.escape(username, quote=False)}</span></a></span>"
    )


_SIMPLE_TAGS: Final = {
    "paragraph_open": "<p>",
    "paragraph_close": "</p>",
    "blockquote_open": "<blockquote>",
    "blockquote_close": "</blockquote>",
    "bullet_list_open": "<ul>",
    "bullet_list_close": "</ul>",
    "ordered_list_close": "</ol>",
    "list_item_open": "<li>",
    "list_item_close": "</li>",
    "softbreak": "<br>",
    "hardbreak": "<br>",
    "em_open": "<em>",
    "em_close": "</em>",
    "strong_open": "<strong>",
    "strong_close": "</strong>",
}
# Built once on import: a MarkdownIt instance is configuration, not a resource.


@cache
def _parser() -> markdown_it.MarkdownIt:
    """Made at the first post written, not at start (markdown_it is imported then)."""
    return make_parser(_url_end)
