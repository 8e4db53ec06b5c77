"""What a hashtag name is: one rule for our composer, remote tags at ingest, the API's entities
and the hashtag routes, so that a tag one of them accepts is never refused by another.

The rule is Mastodon's `HASHTAG_NAME_RE` (app/models/tag.rb): word characters (letters, marks,
decimal digits, connectors such as `_`), with the separators `·`, `・` and the zero-width
non-joiner allowed between them; not only digits and connectors. No spaces, no markup.
"""

from __future__ import annotations

import unicodedata
from typing import Final

# Longer names are noise (or an attack on pages and entities); Mastodon's own are far shorter.
MAX_NAME: Final = 100
# Letters, combining marks, decimal digits and connectors (`_`): what words and tags are made of.
WORD_CATEGORIES: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Pc"})
_ALPHA_CATEGORIES: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nl"})
# Allowed inside a name but not at its ends (`_` is a word character as well). ZWNJ is part of
# correctly spelled Persian and Indic words, the middle dots of Catalan and Japanese ones.
INNER_SEPARATORS: Final = "\u00b7\u30fb\u200c"
_SEPARATORS: Final = "_" + INNER_SEPARATORS


def is_word_char(char: str) -> bool:
    """Letters, combining marks, decimal digits and connectors such as `_`.

    Marks count because many scripts (Devanagari, Thai, decomposed accents) need them inside
    words; Python's `\\w` leaves them out.
    """
    return unicodedata.category(char) in WORD_CATEGORIES


def _is_alpha(char: str) -> bool:
    return unicodedata.category(char) in _ALPHA_CATEGORIES


def is_valid(name: str) -> bool:
    """Whether `name` (without its `#`) is a hashtag Mastodon would accept."""
    if not name or len(name) > MAX_NAME:
        return False
    if not all(is_word_char(char) or char in _SEPARATORS for char in name):
        return False
    if all(is_word_char(char) for char in name) and any(_is_alpha(char) for char in name):
        return True
    # Mastodon's first form: word characters at both ends, and a letter or a separator
    # between them ("1·2" and "1_2" are tags, "12" and "_" are not).
    return (
        len(name) >= 3
        and is_word_char(name[0])
        and is_word_char(name[-1])
        and any(_is_alpha(char) or char in _SEPARATORS for char in name[1:-1])
    )


def normalise(name: str) -> str:
    """The form tags are stored, linked and compared in: NFC (a precomposed and a decomposed
    "café" are one tag) and lower case."""
    return unicodedata.normalize("NFC", name).lower()


def parse(text: str) -> str | None:
    """A hashtag as a person or an app gives it (`#Cats`, ` cats `), normalised; None when it
    is not a valid hashtag."""
    name = normalise(text.strip().removeprefix("#"))
    return name if is_valid(name) else None
