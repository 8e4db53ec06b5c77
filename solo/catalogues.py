"""The translation catalogues, below every layer that shows text: the web interface reads them
through `solo.edge.i18n` (which also picks a request's language), and the push sender for the
owner's notifications. The .po files are compiled in memory on first use (Babel's pofile
reader), so no binary .mo file is committed or can drift from its source."""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping
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


class Message(str):
    """An English message with its `%(name)s` placeholders filled in, which keeps its template
    and values so that a page can say it in the reader's language: `ActionError("Followed
    %(handle)s", handle=...)` is English wherever it is used as a string (the client API, logs,
    the CLI) and `message.translated(catalogue)` on a web page. A value may be a Message itself
    (a refusal's reason), translated with it."""

    template: str
    values: Mapping[str, object]
    forms: tuple[str, str, int] | None = None  # a count's message: singular, plural, count

    def __new__(cls, template: str, /, **values: object) -> Message:
        message = super().__new__(cls, template % values if values else template)
        message.template = template
        message.values = values
        return message

    @classmethod
    def counted(cls, singular: str, plural: str, count: int, /, **values: object) -> Message:
        """A message about `count` things (`%(num)s` in it): each language picks its form."""
        message = cls(singular if count == 1 else plural, num=count, **values)
        message.forms = (singular, plural, count)
        return message

    def translated(self, catalogue: gettext.NullTranslations) -> str:
        if self.forms is None:
            text = catalogue.gettext(self.template)
        else:
            text = catalogue.ngettext(*self.forms)
        if not self.values:
            return text
        return text % {
            name: value.translated(catalogue) if isinstance(value, Message) else value
            for name, value in self.values.items()
        }


def translated(message: str, catalogue: gettext.NullTranslations) -> str:
    """`message` in the catalogue's language: a Message with its values, any other text as a
    whole (a literal marked for extraction, or someone's own text, which stays as it is)."""
    if isinstance(message, Message):
        return message.translated(catalogue)
    return catalogue.gettext(str(message))
