"""The search box's language, parsed by us into parts that the search SQL binds.

Words, "quoted phrases", `word*` prefixes and `-word` exclusions; the operators Mastodon
documents: `from:` (`me`, `user`, `user@host`), `has:media|poll|link` (and image, video,
audio), `is:reply|sensitive`, `language:`, `before:`/`after:`/`during:` (YYYY-MM-DD, UTC),
`in:library|all|public`; an operator with a leading `-` is negated. `order:relevance|newest`
chooses the ranking.

User text never reaches FTS5 as syntax: every word becomes a double-quoted FTS5 string
(quotes doubled inside), so `"`, `*`, `NEAR(`, `AND`, `OR`, `NOT` and `:` are only words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from solo.fulltext import CJK_RUN, query_tokens

MAX_TERMS: Final = 32
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TOKEN: Final = re.compile(r'(-?)(?:([a-z]+):)?(?:"([^"]*)"?|(\S+))', re.I)
_WORDY: Final = re.compile(r"\w")
HAS: Final = ("media", "poll", "link", "image", "video", "audio")
IS: Final = ("reply", "sensitive")
IN: Final = ("library", "all", "public")
ORDERS: Final = ("newest", "relevance")
OPERATORS: Final = ("from", "has", "is", "language", "before", "after", "during", "in", "order")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", re.I)


class QueryError(ValueError):
    """A search that cannot mean anything, with the sentence that says why."""


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    prefix: bool = False

    def fts(self) -> str:
        quoted = '"' + query_tokens(self.text).replace('"', '""') + '"'
        # One CJK letter is the start of a bigram in the index, or a run's last letter.
        lone = len(self.text) == 1 and CJK_RUN.fullmatch(self.text) is not None
        return quoted + "*" if self.prefix or lone else quoted

    def shown(self) -> str:
        if self.phrase:
            return f'"{self.text}"'
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Filter:
    key: str
    value: str
    negated: bool = False

    def shown(self) -> str:
        return f"{'-' if self.negated else ''}{self.key}:{self.value}"


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    order: Literal["newest", "relevance"] = "newest"
    dropped: int = 0  # words past MAX_TERMS, left out

    def match(self) -> str | None:
        """The FTS5 expression for the wanted words, all of them required."""
        return " AND ".join(term.fts() for term in self.terms) or None

    def exclusion(self) -> str | None:
        return " OR ".join(term.fts() for term in self.excluded) or None

    @property
    def empty(self) -> bool:
        return not self.terms and not self.filters

    def period(self, key: str) -> list[tuple[float, float]]:
        """The time spans (start, end) that the date filters `key` ask for, as UTC seconds."""
        spans = []
        for item in self.filters:
            if item.key == key:
                day = date.fromisoformat(item.value)
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                spans.append((start.timestamp(), (start + timedelta(days=1)).timestamp()))
        return spans


def _term(text: str, *, phrase: bool) -> Term | None:
    prefix = not phrase and text.endswith("*")
    text = text.strip("*") if not phrase else text
    if not _WORDY.search(text):
        return None  # only punctuation: nothing the index could hold
    return Term(text, phrase=phrase, prefix=prefix)


def _check(key: str, value: str) -> str:
    lowered = value.lower()
    if key == "has" and lowered not in HAS:
        raise QueryError(f"has: takes one of {', '.join(HAS)}, not “{value}”")
    if key == "is" and lowered not in IS:
        raise QueryError(f"is: takes one of {', '.join(IS)}, not “{value}”")
    if key == "in" and lowered not in IN:
        raise QueryError(f"in: takes one of {', '.join(IN)}, not “{value}”")
    if key == "order" and lowered not in ORDERS:
        raise QueryError(f"order: takes one of {', '.join(ORDERS)}, not “{value}”")
    if key == "language" and not _LANGUAGE.fullmatch(value):
        raise QueryError(f"language: takes a language code such as en or de, not “{value}”")
    if key in ("before", "after", "during"):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"{key}: takes a date as YYYY-MM-DD, not “{value}”") from None
        return value
    if key == "from":
        if not value.lstrip("@"):
            raise QueryError("from: takes an account: me, a username or user@host")
        return value.lstrip("@")
    return lowered


def parse(text: str) -> Query:
    """The query in `text`; QueryError for an operator given a value it cannot take."""
    query = Query()
    text = _CONTROL.sub(" ", text)
    for match in _TOKEN.finditer(text):
        minus, key, quoted, plain = match.groups()
        phrase = quoted is not None
        value = quoted if phrase else plain
        lowered_key = (key or "").lower()
        if key and lowered_key in OPERATORS and value:
            checked = _check(lowered_key, value)
            if lowered_key == "order":
                query.order = "relevance" if checked == "relevance" else "newest"
            else:
                query.filters.append(Filter(lowered_key, checked, negated=bool(minus)))
            continue
        if key:  # not one of ours: the whole thing is text, as Mastodon takes it
            value = f"{key}:{value}"
        term = _term(value, phrase=phrase)
        if term is None:
            continue
        target = query.excluded if minus else query.terms
        if len(query.terms) + len(query.excluded) >= MAX_TERMS:
            query.dropped += 1
            continue
        target.append(term)
    return query


def shown(query: Query) -> list[str]:
    """The parts of a query as the search page lists them back."""
    parts = [term.shown() for term in query.terms]
    parts += ["-" + term.shown() for term in query.excluded]
    parts += [item.shown() for item in query.filters]
    if query.order == "relevance":
        parts.append("order:relevance")
    return parts
