"""Matching posts against the keyword filters, compiled once per change of the filters.

Mastodon's rule: a keyword matches case-insensitively anywhere in the post's text (content
warning, text, poll options, media descriptions); a whole-word keyword must also start and end
at a word boundary where it starts or ends with a word character ("#tag" needs none before
the #). A filter also matches the posts it names (`filter_statuses`), and boosts of them.

User text never becomes a pattern: every keyword is escaped, and the keywords of all filters
are merged into one trie-shaped pattern (one alternation per shared prefix), so that a post is
scanned once whatever the number of filters, each position costing at most the length of the
longest keyword. Only a post the merged pattern hits is matched filter by filter, to say
which filters matched. Our own posts are never filtered (as Mastodon).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from solo.store.filters import Filter, Keyword
from solo.store.media import Media
from solo.store.statuses import Status

MEMO_SIZE: Final = 4096  # texts whose keyword matches the rules remember
_TAG: Final = re.compile(r"<[^>]*>")
_BREAK: Final = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_WORD_START: Final = re.compile(r"^\w")
_WORD_END: Final = re.compile(r"\w$")


@functools.lru_cache(maxsize=4096)
def plain_text(content_html: str) -> str:
    """A post's HTML as the text a reader sees (what keywords are matched against); pages show
    mostly the same posts again, so each is stripped once."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content_html)))


def searchable_text(
    status: Status, media: Iterable[Media] = (), options: Iterable[str] = ()
) -> str:
    """Everything of a post a keyword may match, as Mastodon's `searchable_text`: its content
    warning, text, poll options and media descriptions."""
    alts = [item.description for item in media if item.description]
    return "\n\n".join([status.summary or "", plain_text(status.content_html), *options, *alts])


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: bool = False  # a keyword ends here with no boundary needed: the prefix matches
    ends_at_boundary: bool = False  # a keyword ends here, before a word boundary


def _add(root: _Node, text: str, boundary: bool) -> None:
    node = root
    for char in text:
        if node.ends:
            return  # a shorter keyword already matches wherever this one would
        node = node.children.setdefault(char, _Node())
    if boundary:
        node.ends_at_boundary = True
    else:
        node.ends, node.children = True, {}


def _pattern(node: _Node) -> str:
    # Iterative over chains of single children, so a long keyword adds no nesting.
    literal = []
    while not node.ends and not node.ends_at_boundary and len(node.children) == 1:
        ((char, child),) = node.children.items()
        literal.append(re.escape(char))
        node = child
    if node.ends:
        return "".join(literal)
    branches = [re.escape(char) + _pattern(child) for char, child in sorted(node.children.items())]
    if node.ends_at_boundary:
        branches.append(r"\b")
    inner = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return "".join(literal) + inner


def _source(keywords: Iterable[Keyword]) -> str | None:
    """The pattern text matching (lower-cased) text where any of `keywords` matches."""
    bounded, free = _Node(), _Node()  # keywords that need a word boundary before them, others
    any_bounded = any_free = False
    for keyword in keywords:
        text = keyword.keyword.lower()
        if not text:
            continue
        start = keyword.whole_word and bool(_WORD_START.search(text))
        end = keyword.whole_word and bool(_WORD_END.search(text))
        _add(bounded if start else free, text, end)
        any_bounded, any_free = any_bounded or start, any_free or not start
    parts = ([rf"\b{_group(bounded)}"] if any_bounded else []) + (
        [_group(free)] if any_free else []
    )
    return "|".join(parts) if parts else None


def compile_keywords(keywords: Iterable[Keyword]) -> re.Pattern[str] | None:
    """One pattern matching (lower-cased) text where any of `keywords` matches; None for
    none."""
    source = _source(keywords)
    return None if source is None else re.compile(source)


def _group(node: _Node) -> str:
    return f"(?:{_pattern(node)})"


@dataclass(frozen=True, slots=True)
class Match:
    """A filter a post matched (Mastodon's FilterResult)."""

    filter: Filter
    keyword_matches: tuple[str, ...]
    status_matches: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    filter: Filter
    pattern: re.Pattern[str] | None
    status_ids: frozenset[int]


class Rules:
    """The filters in force, compiled; `matches` is the one entry point."""

    def __init__(self, filters: Sequence[Filter], now: float) -> None:
        live = [f for f in filters if not f.expired(now)]
        self.compiled = [
            _Compiled(f, compile_keywords(f.keywords), frozenset(s.status_id for s in f.statuses))
            for f in live
        ]
        every = _source(k for f in live for k in f.keywords)
        self.any_keyword = None if every is None else re.compile(every)
        # Every position where some keyword starts matching (a look-ahead matches empty, so
        # finditer tries each position): where to try each filter's own pattern, anchored.
        self.starts = None if every is None else re.compile(f"(?=(?:{every}))")
        # The filters that have a keyword beginning with each (lower-cased) character.
        self.by_first: dict[str, list[_Compiled]] = {}
        for compiled in self.compiled:
            for first in sorted({k.keyword.lower()[:1] for k in compiled.filter.keywords} - {""}):
                self.by_first.setdefault(first, []).append(compiled)
        self.status_ids = frozenset(i for c in self.compiled for i in c.status_ids)
        self._memo: dict[str, dict[int, str]] = {}
        # The first moment a filter stops applying: these rules are stale from then on.
        ends = [f.expires_at for f in live if f.expires_at is not None]
        self.stale_at = min(ends) if ends else None

    @property
    def empty(self) -> bool:
        return not self.compiled

    def stale(self, now: float) -> bool:
        return self.stale_at is not None and now >= self.stale_at

    def matches(
        self, text: str, post_id: int, entry_id: int, *, own: bool, now: float
    ) -> list[Match]:
        """The filters a post matches; `text` is its `searchable_text`, `entry_id` the
        timeline entry (a boost's own id, else the post's)."""
        if own or not self.compiled:
            return []
        named = {post_id, entry_id} & self.status_ids
        words = self._words(text)
        if not named and not words:
            return []
        found = []
        for compiled in self.compiled:
            if compiled.filter.expired(now):
                continue
            hit = words.get(compiled.filter.id)
            status_matches = tuple(sorted(named & compiled.status_ids))
            if hit is not None or status_matches:
                found.append(Match(compiled.filter, () if hit is None else (hit,), status_matches))
        return found

    def _words(self, text: str) -> dict[int, str]:
        """`_keywords` of a text, remembered: pages show mostly the same posts again."""
        if self.any_keyword is None:
            return {}
        known = self._memo.get(text)
        if known is not None:
            return known
        lowered = text.lower()
        first = self.any_keyword.search(lowered)
        words = {} if first is None else self._keywords(text, lowered, first.start())
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[text] = words
        return words

    def _keywords(self, text: str, lowered: str, begin: int) -> dict[int, str]:
        """For each filter with a keyword in the text, what its first match reads. Only the
        positions where some keyword matches are tried, each by the filters with a keyword
        starting with that character, anchored there: no filter scans the text."""
        assert self.starts is not None
        # Lower-casing keeps positions for nearly all text; else say what matched, lowered.
        source = text if len(text) == len(lowered) else lowered
        words: dict[int, str] = {}
        for start in self.starts.finditer(lowered, begin):
            position = start.start()
            for compiled in self.by_first.get(lowered[position], ()):
                if compiled.filter.id in words or compiled.pattern is None:
                    continue
                hit = compiled.pattern.match(lowered, position)
                if hit is not None:
                    words[compiled.filter.id] = source[hit.start() : hit.end()]
            if len(words) == len(self.compiled):
                break
        return words


def in_context(found: Iterable[Match], context: str | None) -> list[Match]:
    """The matches whose filter applies in `context` (None: a page of no context)."""
    return [m for m in found if context is not None and context in m.filter.contexts]


def hidden(found: Iterable[Match], context: str | None) -> bool:
    """Whether a hide filter removes the post from a listing of `context`."""
    return any(m.filter.action == "hide" for m in in_context(found, context))
