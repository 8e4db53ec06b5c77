"""The web interface's languages: which one a request gets, its translations, and dates and
numbers written its way.

    locale_of(request)          # "de": the owner's setting when logged in, else Accept-Language
    translations(locale)        # a gettext object compiled in memory from solo/locale/<l>/…/.po
    gettext_for(request)        # `_` for messages composed in Python (flash messages, errors)

The catalogues are the .po files themselves: they are compiled in memory on first use (Babel's
pofile reader), so no binary .mo file is committed or can drift from its source. The API and
federation stay English, as Mastodon's do.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from starlette.requests import HTTPConnection

from solo.catalogues import AUTOMATIC, DEFAULT, LANGUAGES, SETTING_KEY, translated, translations
from solo.db import Database
from solo.lazy import lazy
from solo.store import account as account_store

if TYPE_CHECKING:
    from babel import dates, numbers
else:  # at the first date or number shown, not at start (see solo.lazy)
    dates = lazy("babel.dates")
    numbers = lazy("babel.numbers")

SCOPE_KEY: Final = "solo.locale"  # where a request keeps its language once worked out
MAX_HEADER: Final = 1024  # browsers send ~100 bytes; anything longer is not parsed at all
MAX_RANGES: Final = 32
_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*$"
)


@functools.lru_cache(maxsize=512)
def negotiate(header: str | None) -> str:
    """The best of our languages for an Accept-Language header (RFC 9110 q-values), else
    English. Too long or malformed headers and unknown languages give English, never an error."""
    if not header or len(header) > MAX_HEADER:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_RANGES]):
        match = _RANGE.match(part)
        if match is None:
            continue
        try:
            quality = 1.0 if match[2] is None else float(match[2])
        except ValueError:
            continue
        if not 0 < quality <= 1:
            continue
        primary = match[1].split("-")[0].lower()
        if primary in LANGUAGES:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


def locale_of(connection: HTTPConnection) -> str:
    """This request's language: the owner's setting when logged in and not automatic, else
    the browser's. Worked out once per request."""
    cached = connection.scope.get(SCOPE_KEY)
    if cached is not None:
        return str(cached)
    chosen = getattr(connection.app.state, "language", AUTOMATIC)
    logged_in = "session" in connection.scope and bool(connection.session.get("auth"))
    locale = (
        chosen
        if logged_in and chosen in LANGUAGES
        else negotiate(connection.headers.get("accept-language"))
    )
    connection.scope[SCOPE_KEY] = locale
    return locale


def gettext_for(connection: HTTPConnection) -> Callable[[str], str]:
    """`_` in the request's language, for text made in Python: `_("Saved %(n)s") % {...}`."""
    return translations(locale_of(connection)).gettext


def ngettext_for(connection: HTTPConnection) -> Callable[[str, str, int], str]:
    return translations(locale_of(connection)).ngettext


def _braces(*names: str) -> dict[str, str]:
    """`%(name)s` placeholders turned into the scripts' `{name}`."""
    return {name: "{" + name + "}" for name in names}


@functools.cache
def script_messages(locale: str) -> dict[str, str | list[str]]:
    """What static/app.js, compose.js and push.js write themselves, in `locale`: JSON in a
    <meta name="script-messages"> (no inline script). Counts come as [one, other], "{n}"
    standing for the number; the script picks the form with Intl.PluralRules. Other values
    are "{name}"."""
    catalogue = translations(locale)
    _, ngettext = catalogue.gettext, catalogue.ngettext

    n = {"num": "{n}"}
    return {
        **_composer_messages(_, ngettext),
        **_push_messages(_),
        "left": [
            ngettext("%(num)s character left", "%(num)s characters left", count) % n
            for count in (1, 2)
        ],
        "tooMany": [
            ngettext("%(num)s character too many", "%(num)s characters too many", count) % n
            for count in (1, 2)
        ],
        "unread": [ngettext("%(num)s unread", "%(num)s unread", count) % n for count in (1, 2)],
        "newPosts": [
            ngettext("%(num)s new post", "%(num)s new posts", count) % n for count in (1, 2)
        ],
        "answered": _("The server answered %(status)s. Try again.") % {"status": "{n}"},
        "unreachable": _("The server could not be reached. Try again."),
    }


def _composer_messages(
    _: Callable[[str], str], ngettext: Callable[[str, str, int], str]
) -> dict[str, str | list[str]]:
    """static/compose.js's words."""
    return {
        "focalPoint": _("Focal point %(x)s,%(y)s") % _braces("x", "y"),
        "focalPointOf": _(
            "Focal point of %(name)s: click the part that must stay in view, or use the arrow keys"
        )
        % _braces("name"),
        "theImage": _("the image"),
        "thisImage": _("this image"),
        "clickSubject": _("Click the subject to keep it in view"),
        "file": _("file"),
        "pastedFile": _("The pasted file"),
        "notAccepted": _(
            "%(name)s was not attached: only images (JPEG, PNG, GIF, WebP), video (MP4, MOV,"
            " WebM) and audio (MP3, M4A, Ogg, Opus) can be."
        )
        % _braces("name"),
        "tooBig": _("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
        % _braces("name", "size", "limit"),
        "notImage": _("%(name)s cannot be read as an image.") % _braces("name"),
        "tooManyPixels": _(
            "%(name)s is %(width)s×%(height)s pixels; the limit is %(limit)s megapixels"
            " (7680×4320)."
        )
        % _braces("name", "width", "height", "limit"),
        "tooManyFiles": _("A post can have at most 4 attachments; %(name)s was left out.")
        % _braces("name"),
        "thisOne": _("this one"),
        "postAnyway": _("Post anyway"),
        "addDescriptions": _("Add descriptions"),
        "noDescription": [
            ngettext(
                "%(num)s image has no description: post anyway?",
                "%(num)s images have no description: post anyway?",
                count,
            )
            % {"num": "{n}"}
            for count in (1, 2)
        ],
        "chooseFiles": _("Choose files"),
        "chooseFilesToAttach": _("Choose files to attach"),
        "dropOrPaste": _("Drop or paste images here, or"),
        "remove": _("Remove"),
    }


def _push_messages(_: Callable[[str], str]) -> dict[str, str | list[str]]:
    """static/push.js's words."""
    return {
        "pushTurnOff": _("Turn off on this device"),
        "pushTurnOn": _("Turn on notifications"),
        "pushOn": _("On: this device gets your notifications."),
        "pushOff": _("Off: this device gets no notifications."),
        "pushBlocked": _(
            "Notifications are blocked for this site. Allow them in your browser's site"
            " settings, then try again."
        ),
        "pushUnsupported": _(
            "This browser cannot receive push notifications. On an iPhone or iPad, add Solo to"
            " your home screen first (Share → Add to Home Screen), then open it from there."
        ),
        "pushInsecure": _(
            "Push notifications need a secure (https) address; this page was opened without one."
        ),
        "pushTurningOff": _("Turning off…"),
        "pushTurningOn": _("Turning on…"),
    }


# Dates and numbers, per locale (the templates' filters are solo.edge.templating's).
def relative_time(timestamp: float, locale: str = DEFAULT, now: float | None = None) -> str:
    """Mastodon's short form: 12s, 5m, 3h, 2d, then the date ("12 Sek.", "4. März" in German)."""
    now = time.time() if now is None else now
    seconds = max(0, int(now - timestamp))
    if seconds < 7 * 86400:
        unit = next(size for size in (86400, 3600, 60, 1) if seconds >= size or size == 1)
        return _span(seconds // unit, unit, locale)
    when = datetime.fromtimestamp(timestamp, UTC).date()
    return _day(when, when.year == datetime.fromtimestamp(now, UTC).year, locale)


# Babel takes 20-40 µs a call; a page shows ~20 times, mostly the same ones again and again.
@functools.lru_cache(maxsize=2048)
def _span(count: int, unit: int, locale: str) -> str:
    span = timedelta(seconds=count * unit)
    return dates.format_timedelta(span, threshold=1, format="narrow", locale=locale)


@functools.lru_cache(maxsize=2048)
def _day(when: date, this_year: bool, locale: str) -> str:
    return dates.format_skeleton("MMMd" if this_year else "yMMMd", when, locale=locale)


@functools.lru_cache(maxsize=4096)
def exact_time(timestamp: float, locale: str = DEFAULT) -> str:
    """What the hover shows (the script replaces it with the reader's local time)."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return dates.format_datetime(when, "medium", tzinfo=UTC, locale=locale) + " UTC"


def full_day(timestamp: float, locale: str = DEFAULT) -> str:
    """A day, as "Mar 4, 2026" or "4. März 2026"."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return dates.format_skeleton("yMMMd", when, locale=locale)


def number(value: int | float, locale: str = DEFAULT) -> str:
    return numbers.format_decimal(value, locale=locale)


def translate_for(connection: HTTPConnection, message: str) -> str:
    """A message chosen at run time (an error's `Message`) in the request's language."""
    return translated(message, translations(locale_of(connection)))


async def saved_language(db: Database) -> str:
    """The owner's choice from the settings page: a code of LANGUAGES, or AUTOMATIC."""
    value = await account_store.get_meta(db, SETTING_KEY)
    return value if value in LANGUAGES else AUTOMATIC


async def save_language(db: Database, value: str) -> None:
    if value != AUTOMATIC and value not in LANGUAGES:
        raise ValueError(f"not a language of the web interface: {value!r}")
    async with db.transaction() as conn:
        await account_store.set_meta(conn, SETTING_KEY, value)
