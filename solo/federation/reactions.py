"""Emoji reactions (FEDERATION.md rule 42): Misskey's `Like` with `content` or
`_misskey_reaction`, and Pleroma/Akkoma's `EmojiReact`. Solo shows each as a favourite with its
emoji, as Mastodon does for Misskey's.

A reaction is one unicode emoji (one grapheme: `👌`, `👍🏽`, `🏳️‍🌈`, `1️⃣`; never `~` or `👌👌`)
or a `:shortcode:` whose `Emoji` tag in the activity gives its image, checked as every custom
emoji is (`solo.media.emoji`). Misskey's old reaction names (`pudding`) are its own emoji.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from solo.media import emoji

# Misskey before v12 sent these names instead of the emoji.
_MISSKEY_LEGACY: Final = {
    "like": "👍",
    "love": "❤",
    "laugh": "😆",
    "hmm": "🤔",
    "surprise": "😮",
    "congrats": "🎉",
    "angry": "💢",
    "confused": "😥",
    "rip": "😇",
    "pudding": "🍮",
    "star": "⭐",
}
MAX_CODEPOINTS: Final = 16  # the longest family/flag sequences are ~10
_ZWJ: Final = "\u200d"
_KEYCAP: Final = "\u20e3"
_MODIFIERS: Final = frozenset({"\ufe0f", "\ufe0e", _KEYCAP})


@dataclass(frozen=True, slots=True)
class Reaction:
    text: str  # the unicode emoji, or `:shortcode:`
    emojis_json: str | None  # the custom emoji's image (solo.media.emoji), None for unicode


def _is_pictograph(char: str) -> bool:
    return unicodedata.category(char) == "So"


def _is_extender(char: str) -> bool:
    """What may follow a pictograph inside one emoji: a variation selector, the keycap, a skin
    tone (category Sk), or a tag character (the flags of England, Scotland, Wales)."""
    code = ord(char)
    return char in _MODIFIERS or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def is_single_emoji(text: str) -> bool:
    """One emoji grapheme: pictographs joined only by ZWJ, with their modifiers; a flag (two
    regional indicators); or a keycap (`1️⃣`)."""
    if not 0 < len(text) <= MAX_CODEPOINTS:
        return False
    if len(text) == 2 and all(_regional(c) for c in text):
        return True
    if text[0] in "0123456789#*":
        return text[1:] in ("\ufe0f" + _KEYCAP, _KEYCAP)
    expecting_pictograph = True
    for char in text:
        if expecting_pictograph:
            if not _is_pictograph(char) or _regional(char):
                return False
            expecting_pictograph = False
        elif char == _ZWJ:
            expecting_pictograph = True
        elif not _is_extender(char):
            return False
    return not expecting_pictograph


def reaction_of(activity: dict[str, Any]) -> Reaction | None:
    """The emoji an activity reacts with; None when it names none, or none we can show."""
    for key in ("content", "_misskey_reaction"):
        value = activity.get(key)
        if isinstance(value, str) and value.strip():
            return _reaction(value.strip(), activity)
    return None


def _reaction(text: str, activity: dict[str, Any]) -> Reaction | None:
    text = unicodedata.normalize("NFC", text)
    if is_single_emoji(text):
        return Reaction(text, None)
    if text in _MISSKEY_LEGACY:
        return Reaction(_MISSKEY_LEGACY[text], None)
    code = text.strip(":")
    if text.startswith(":") and text.endswith(":") and emoji.SHORTCODE.fullmatch(code):
        # Misskey names a remote custom emoji `:code@host:`; only its own tag is trusted here.
        found = next((e for e in emoji.parse_emojis(activity) if e.shortcode == code), None)
        if found is not None:
            return Reaction(f":{code}:", emoji.to_json([found]))
    return None
