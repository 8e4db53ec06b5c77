"""The matching rule of keyword filters (Mastodon's): case, whole words, literal keywords, the
posts a filter names, expiry, and a cost that grows with the text, not with the filters."""

from __future__ import annotations

import time

from solo.actions.filter_rules import Rules, hidden, in_context, plain_text
from solo.store.filters import Filter, FilteredStatus, Keyword


def rules_of(*specs: tuple[str, list[tuple[str, bool]]], **extra: object) -> Rules:
    filters = []
    next_id = 0
    for index, (title, words) in enumerate(specs, start=1):
        keywords = []
        for word, whole in words:
            next_id += 1
            keywords.append(Keyword(next_id, index, word, whole))
        filters.append(
            Filter(index, title, ("home",), "warn", None, 0.0, tuple(keywords), **extra)  # type: ignore[arg-type]
        )
    return Rules(filters, time.time())


def titles(rules: Rules, text: str, *, own: bool = False) -> dict[str, tuple[str, ...]]:
    found = rules.matches(text, 1, 1, own=own, now=time.time())
    return {m.filter.title: m.keyword_matches for m in found}


def test_whole_words_and_case() -> None:
    rules = rules_of(("Cats", [("cat", True)]), ("Anything", [("cat", False)]))
    assert titles(rules, "A CAT sat") == {"Cats": ("CAT",), "Anything": ("CAT",)}
    assert titles(rules, "a category") == {"Anything": ("cat",)}
    assert titles(rules, "concatenate") == {"Anything": ("cat",)}
    assert titles(rules, "dog") == {}
    assert titles(rules, "my cat", own=True) == {}  # our own posts: never


def test_boundaries_only_where_the_keyword_has_word_characters() -> None:
    rules = rules_of(("Tag", [("#got", True)]), ("Plus", [("c++", True)]))
    assert titles(rules, "watching#got now") == {"Tag": ("#got",)}  # no word char before #
    assert titles(rules, "#gotham") == {}  # ends with a word character: boundary needed
    assert titles(rules, "I like c++!") == {"Plus": ("c++",)}
    assert titles(rules, "abc++") == {}


def test_overlapping_keywords_of_several_filters() -> None:
    rules = rules_of(
        ("Short", [("rust", False)]),
        ("Long", [("rustacean", True)]),
        ("Phrase", [("rust belt", True)]),
    )
    assert titles(rules, "a Rustacean here") == {"Short": ("Rust",), "Long": ("Rustacean",)}
    assert titles(rules, "the rust belt") == {"Short": ("rust",), "Phrase": ("rust belt",)}


def test_regex_like_keywords_are_literal() -> None:
    rules = rules_of(("Odd", [("(a+)+$", False), ("a.c", True), ("[x]", False)]))
    assert titles(rules, "abc aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!") == {}
    assert titles(rules, "see (a+)+$ and") == {"Odd": ("(a+)+$",)}
    assert titles(rules, "A.C") == {"Odd": ("A.C",)}


def test_text_of_html_and_entities() -> None:
    assert plain_text("<p>Fish &amp; chips</p><p>b<br>c</p>") == "Fish & chips\nb\nc\n"
    rules = rules_of(("Fish", [("fish & chips", True)]))
    assert titles(rules, plain_text("<p>FISH &amp; <b>chips</b></p>")) == {
        "Fish": ("FISH & chips",)
    }


def test_named_posts_expiry_and_context() -> None:
    named = Filter(1, "Named", ("home",), "hide", None, 0.0, (), (FilteredStatus(1, 1, 7),))
    ending = Filter(
        2, "Ending", ("public",), "warn", time.time() + 60, 0.0, (Keyword(1, 2, "x", True),)
    )
    rules = Rules([named, ending], time.time())
    found = rules.matches("nothing", 7, 9, own=False, now=time.time())
    assert [(m.filter.title, m.status_matches) for m in found] == [("Named", (7,))]
    assert hidden(found, "home") and not hidden(found, "public")
    boost = rules.matches("x", 3, 7, own=False, now=time.time())  # a boost of post 7
    assert {m.filter.title for m in boost} == {"Named", "Ending"}
    assert [m.filter.title for m in in_context(boost, "public")] == ["Ending"]
    later = time.time() + 120
    assert rules.stale(later)
    assert [m.filter.title for m in rules.matches("x", 3, 3, own=False, now=later)] == []


def test_cost_grows_with_the_text_not_the_filters() -> None:
    """1,000 keywords and a 100,000-character text, full of near misses: well under a second
    (a backtracking pattern built from the keywords would take far longer)."""
    words = [(f"{'a' * 20}{n:04d}", n % 2 == 0) for n in range(1000)]
    rules = rules_of(*[(f"f{i}", words[i * 10 : i * 10 + 10]) for i in range(100)])
    text = ("a" * 23 + " ") * 4000
    started = time.perf_counter()
    assert titles(rules, text) == {}
    assert titles(rules, text + "aaaaaaaaaaaaaaaaaaaa0998") == {
        "f99": ("aaaaaaaaaaaaaaaaaaaa0998",)
    }
    assert time.perf_counter() - started < 2.0
