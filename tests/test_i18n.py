"""Languages: the page's language from the owner's setting or the browser's Accept-Language, the
catalogues complete and well-formed, counts and dates written each language's way."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import httpx
import pytest
from babel.messages import Catalog, checkers
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from solo.edge import i18n
from solo.edge.templating import make_environment, template_callables
from solo.paths import locale_dir
from tests.test_login import csrf_from, login

LANGUAGES = ("de", "fr", "es", "ja")
# Refusals and errors, shown translated on the web pages (babel.cfg, the Makefile's keywords).
REFUSALS = dict.fromkeys(
    (
        *("ActionError", "WrongPassword", "MediaRefused", "ArchiveError", "BlocklistError"),
        *("CsvError", "NotFound", "BadRequest", "Forbidden"),
        *("BadSubscription", "AddressRefused", "BadKey", "InvalidDomain", "InvalidTag"),
    )
)


def lang_of(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "the page has no <html lang>"
    return match.group(1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("de-CH, en;q=0.8", "de"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("fr;q=0.5, ja;q=0.9", "ja"),
        ("pt-BR, es;q=0.7, *;q=0.1", "es"),
        ("xx-YY", "en"),
        ("xx-YY, zz", "en"),
        ("", "en"),
        (None, "en"),
        ("de;q=0", "en"),
        ("de;q=abc, fr", "fr"),
        (";;;,,,=", "en"),
        ("de," * 3500, "en"),  # 10 KB: not parsed at all
        ("x" * 10240, "en"),
    ],
)
def test_negotiate_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


async def test_accept_language_gives_the_page_in_that_language(client: httpx.AsyncClient) -> None:
    german = await client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert lang_of(german.text) == "de"
    assert "Zum Inhalt springen" in german.text
    assert "Skip to content" not in german.text
    japanese = await client.get("/login", headers={"Accept-Language": "ja"})
    assert lang_of(japanese.text) == "ja"
    assert "コンテンツへスキップ" in japanese.text


@pytest.mark.parametrize("header", ["xx-YY", "de," * 3500, "\x00\x01garbage;q=2"])
async def test_unknown_or_huge_headers_give_english(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/login", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert lang_of(response.text) == "en"
    assert "Skip to content" in response.text


async def test_the_owners_setting_overrides_the_browser(client: httpx.AsyncClient) -> None:
    await login(client)
    settings = await client.get("/settings", headers={"Accept-Language": "de"})
    assert lang_of(settings.text) == "de"  # automatic: the browser's
    token = csrf_from(settings.text)
    saved = await client.post(
        "/settings/language",
        data={"csrf": token, "language": "fr"},
        headers={"Accept-Language": "de"},
    )
    assert saved.status_code == 303
    page = await client.get("/settings", headers={"Accept-Language": "de"})
    assert lang_of(page.text) == "fr"
    assert "Rechercher" in page.text
    assert '<option value="fr" lang="fr" selected>' in page.text
    # A visitor (no session) still gets their own browser's language.
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        visitor = await other.get("/login", headers={"Accept-Language": "de"})
    assert lang_of(visitor.text) == "de"
    # Back to automatic.
    await client.post("/settings/language", data={"csrf": token, "language": ""})
    page = await client.get("/settings", headers={"Accept-Language": "es"})
    assert lang_of(page.text) == "es"


async def test_an_unknown_language_setting_is_refused(client: httpx.AsyncClient) -> None:
    await login(client)
    token = csrf_from((await client.get("/settings")).text)
    refused = await client.post("/settings/language", data={"csrf": token, "language": "xx"})
    assert refused.status_code == 422
    assert "Choose one of the listed languages." in refused.text
    assert lang_of((await client.get("/settings")).text) == "en"


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 unread", "2 unread"),
        ("de", "1 ungelesen", "2 ungelesen"),
        ("fr", "1 non lue", "2 non lues"),
        ("es", "1 sin leer", "2 sin leer"),
        ("ja", "未読 1 件", "未読 2 件"),
    ],
)
def test_plural_forms_per_language(locale: str, one: str, two: str) -> None:
    ngettext = i18n.translations(locale).ngettext
    assert ngettext("%(num)s unread", "%(num)s unread", 1) % {"num": 1} == one
    assert ngettext("%(num)s unread", "%(num)s unread", 2) % {"num": 2} == two


def test_dates_and_numbers_per_locale() -> None:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC).timestamp()
    assert i18n.relative_time(now - 300, "en", now) == "5m"
    assert i18n.relative_time(now - 300, "de", now) == "5 Min."
    assert i18n.relative_time(now - 3 * 3600, "fr", now) == "3h"
    assert i18n.relative_time(now - 12, "en", now) == "12s"
    march = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    assert i18n.relative_time(march, "en", now) == "Mar 4"
    assert i18n.relative_time(march, "de", now) == "4. März"
    assert i18n.relative_time(march, "fr", now) == "4 mars"
    assert i18n.relative_time(march, "ja", now) == "3月4日"
    last_year = datetime(2025, 3, 4, tzinfo=UTC).timestamp()
    assert i18n.relative_time(last_year, "en", now) == "Mar 4, 2025"
    assert i18n.exact_time(march, "de") == "04.03.2026, 05:06:07 UTC"
    assert i18n.number(12345, "de") == "12.345"
    assert i18n.number(12345, "en") == "12,345"


def test_newstyle_gettext_escapes_its_variables() -> None:
    env = make_environment()
    template = env.from_string("{{ _('Hello %(name)s', name=who) }}")
    assert template.render(who="<b>", **template_callables("en")) == "Hello &lt;b&gt;"


def test_translate_escapes_what_it_translates() -> None:
    """A message chosen at run time may hold someone's text: it is translated, then escaped."""
    env = make_environment()
    template = env.from_string("{{ message | translate }}")
    rendered = template.render(message="<b>x</b>", locale="de")
    assert rendered == "&lt;b&gt;x&lt;/b&gt;"
    assert template.render(message="There is nothing here.", locale="de") == "Hier ist nichts."


async def test_an_error_message_with_markup_is_escaped(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/tags/%3Cb%3Ebold%3C%2Fb%3E", headers={"Accept": "text/html", "Accept-Language": "de"}
    )
    assert page.status_code == 404
    assert "<b>bold" not in page.text


def catalogue(locale: str) -> Catalog:
    path = locale_dir() / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def template_ids() -> set[object]:
    with (locale_dir() / "messages.pot").open("rb") as source:
        return {message.id for message in read_po(source) if message.id}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_each_catalogue_translates_every_message(locale: str) -> None:
    messages = catalogue(locale)
    wanted = template_ids()
    have = {message.id: message for message in messages if message.id}
    missing = [mid for mid in wanted if mid not in have]
    assert not missing, f"{locale} lacks {missing[:20]}"
    untranslated = [
        message.id
        for message in have.values()
        if message.fuzzy
        or not message.string
        or (isinstance(message.string, tuple) and not all(message.string))
    ]
    assert not untranslated, f"{locale} leaves untranslated {untranslated[:20]}"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_no_catalogue_breaks_a_placeholder(locale: str) -> None:
    messages = catalogue(locale)
    problems = []
    for message in messages:
        if not message.id:
            continue
        for check in (checkers.python_format, checkers.num_plurals):
            try:
                check(messages, message)
            except Exception as error:  # noqa: BLE001 - TranslationError: collect them all
                problems.append(f"{message.id!r}: {error}")
    assert not problems, "\n".join(problems)


def test_the_pot_file_matches_the_sources() -> None:
    """`make messages` was run after the last change of a user-facing string."""
    extracted: set[object] = set()
    root = locale_dir().parent.parent
    # What babel.cfg says to extract, as `make messages` reads it.
    with (root / "babel.cfg").open() as config:
        method_map, options = parse_mapping_cfg(config)
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(root),
        method_map=method_map,
        options_map=options,
        keywords={
            **DEFAULT_KEYWORDS,
            "N_": None,
            "flash": (2,),
            "counted": (1, 2),
            "Message": None,
            **REFUSALS,
        },
    ):
        extracted.add(message)
    assert extracted == template_ids()


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "<strong>1</strong> post", "<strong>2</strong> posts"),
        ("de", "<strong>1</strong> Beitrag", "<strong>2</strong> Beiträge"),
        ("fr", "<strong>1</strong> message", "<strong>2</strong> messages"),
        ("es", "<strong>1</strong> publicación", "<strong>2</strong> publicaciones"),
        ("ja", "投稿 <strong>1</strong>", "投稿 <strong>2</strong>"),
    ],
)
async def test_a_profile_counts_posts_in_the_visitors_language(
    client: httpx.AsyncClient, locale: str, one: str, two: str
) -> None:
    await login(client)
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as visitor:
        for count, expected in ((1, one), (2, two)):
            token = csrf_from((await client.get("/compose")).text)
            posted = await client.post("/statuses", data={"csrf": token, "text": f"post {count}"})
            assert posted.status_code == 303
            page = await visitor.get("/@alice", headers={"Accept-Language": locale})
            assert lang_of(page.text) == locale
            assert expected in page.text


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 reply", "2 replies"),
        ("de", "1 Antwort", "2 Antworten"),
        ("fr", "1 réponse", "2 réponses"),
        ("es", "1 respuesta", "2 respuestas"),
        ("ja", "返信 1 件", "返信 2 件"),
    ],
)
def test_reply_counts_per_language(locale: str, one: str, two: str) -> None:
    ngettext = i18n.translations(locale).ngettext
    assert ngettext("%(num)s reply", "%(num)s replies", 1) % {"num": 1} == one
    assert ngettext("%(num)s reply", "%(num)s replies", 2) % {"num": 2} == two


async def test_a_missing_page_says_so_in_the_readers_language(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/no-such-page", headers={"Accept": "text/html", "Accept-Language": "fr-FR"}
    )
    assert page.status_code == 404
    assert "Il n’y a rien ici." in page.text
    assert "Retour à l’accueil" in page.text


async def test_a_flash_message_speaks_the_readers_language(client: httpx.AsyncClient) -> None:
    await login(client)
    token = csrf_from((await client.get("/lists")).text)
    made = await client.post(
        "/lists", data={"csrf": token, "title": "Vögel"}, headers={"Accept-Language": "de"}
    )
    assert made.status_code == 303
    page = await client.get(made.headers["location"], headers={"Accept-Language": "de"})
    assert "Liste „Vögel“ angelegt." in page.text


async def test_a_refusal_is_shown_in_the_readers_language(client: httpx.AsyncClient) -> None:
    """The actions refuse in English (the API's language); the web page translates."""
    await login(client)
    token = csrf_from((await client.get("/compose")).text)
    refused = await client.post(
        "/statuses",
        data={"csrf": token, "text": "  "},
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 400, refused.status_code
    assert "Escribe algo primero." in refused.text


async def test_the_api_stays_english(client: httpx.AsyncClient) -> None:
    """Mastodon's API errors are English whatever the client's language; so are Solo's."""
    answer = await client.get("/api/v1/statuses/999999", headers={"Accept-Language": "de"})
    assert answer.status_code == 404
    assert answer.json()["error"] == "Record not found"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_scripts_words_come_translated_with_their_values_kept(locale: str) -> None:
    """app.js, compose.js and push.js read these from the page's <meta>: every one translated,
    and each "{name}" the English has kept for the script to fill."""
    english, translated = i18n.script_messages("en"), i18n.script_messages(locale)
    assert translated.keys() == english.keys()
    for key, text in english.items():
        forms = text if isinstance(text, list) else [text]
        theirs = translated[key]
        their_forms = theirs if isinstance(theirs, list) else [theirs]
        if locale != "ja":  # one form a count in Japanese, the same word in each
            assert their_forms != forms, f"{key} left in English"
        for mine, their in zip(forms, their_forms, strict=True):
            assert set(re.findall(r"{\w+}", mine)) == set(re.findall(r"{\w+}", their)), key


async def test_a_timeline_page_carries_the_scripts_words(client: httpx.AsyncClient) -> None:
    await login(client)
    page = await client.get("/", headers={"Accept-Language": "fr"})
    meta = re.search(r'<meta name="script-messages" content="([^"]+)">', page.text)
    assert meta is not None
    words = json.loads(html.unescape(meta.group(1)))
    assert words["postAnyway"] == "Publier quand même"
    assert words["newPosts"] == ["{n} nouveau message", "{n} nouveaux messages"]
