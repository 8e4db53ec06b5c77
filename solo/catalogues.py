"""The translation catalogues, below every layer that shows text: the web interface reads them
through `solo.edge.i18n` (which also picks a request's language), and the push sender for the
owner's notifications. The .po files are compiled in memory on first use (Babel's pofile
reader), so no binary .mo file is committed or can drift from its source."""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from typing import TYPE_CHECKING, Final

from solo.lazy import lazy
from solo.paths import locale_dir

if TYPE_CHECKING:
    from babel import support
    from babel.messages import mofile, pofile
else:  # at the first page in another language than English, not at start (see solo.lazy)
    support = lazy("babel.support")
    mofile = lazy("babel.messages.mofile")
    pofile = lazy("babel.messages.pofile")

DEFAULT: Final = "en"
# The languages offered, each named in itself (as a language menu names them).
LANGUAGES: Final = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "ja": "日本語",
}
AUTOMATIC: Final = ""  # the setting's value meaning "whatever the browser asks for"
SETTING_KEY: Final = "web_language"  # the meta row holding the owner's choice


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The locale's catalogue, compiled from its .po file on first use."""
    if locale == DEFAULT or locale not in LANGUAGES:
        return gettext.NullTranslations()
    path = locale_dir() / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = pofile.read_po(source, locale=locale)
    compiled = BytesIO()
    mofile.write_mo(compiled, catalog)  # fuzzy entries left out: they fall back to English
    compiled.seek(0)
    return support.Translations(compiled, domain="messages")


def N_(message: str) -> str:
    """Marks a message for extraction where no request is at hand (a module's constant); it is
    translated where it is shown, with `_(value)`."""
    return message
