"""Messages made in Python with values in them reach the page in the reader's language: the
findings of `solo doctor` on /server/doctor, the push subscription's refusals on
/settings/push, and the refusals of the actions (ActionError with named placeholders). The API
and the CLI keep them in English."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from starlette.applications import Starlette

import solo
from solo import doctor
from solo.catalogues import Message, translated, translations
from solo.config import Settings
from solo.doctor_checks import Context, Unusable, check_clock, check_disk, through_proxy
from solo.doctor_findings import Finding
from solo.doctor_signed import _altered
from solo.errors import BadRequest
from solo.paths import locale_dir
from solo.web.common import NOT_AN_ID
from tests.push_service import Subscriber, b64url
from tests.test_api_statuses import user_token
from tests.test_login import csrf_from, login
from tests.test_push import subscribe

LANGUAGES = ("de", "fr", "es", "ja")
CODE = re.compile(r"`[^`]+`")


def test_a_message_is_english_text_that_keeps_its_template() -> None:
    error = BadRequest("Could not fetch %(url)s: %(error)s", url="https://a.example/", error="x")
    assert error.message == "Could not fetch https://a.example/: x"
    assert str(error) == error.message
    german = translations("de")
    assert translated(error.message, german) == "Konnte https://a.example/ nicht abrufen: x"
    # A value that is a message is translated with it; any other text stays as it is.
    nested = Message("Validation failed: keys auth %(reason)s", reason=Message("is not base64"))
    assert nested == "Validation failed: keys auth is not base64"
    assert translated(nested, german) == "Ungültiges Abonnement: Der Schlüssel auth ist kein Base64"
    assert translated("someone's own <text>", german) == "someone's own <text>"
    # A count's message takes each language's form for that count.
    singular = "You moved less than 30 days ago; you can move again in %(num)s day."
    plural = "You moved less than 30 days ago; you can move again in %(num)s days."
    one, many = Message.counted(singular, plural, 1), Message.counted(singular, plural, 30)
    assert many == "You moved less than 30 days ago; you can move again in 30 days."
    assert translated(one, german).endswith("du kannst in 1 Tag wieder umziehen.")
    assert translated(many, german).endswith("du kannst in 30 Tagen wieder umziehen.")
    assert translated(many, translations("ja")).endswith("再び引っ越せるのは 30 日後です。")


def findings(settings: Settings) -> list[Finding]:
    """What the checks find for a proxy that rewrites Host, answers 502 and runs two hours
    late, made by the checks themselves."""
    context = Context(settings, None, None, None)  # type: ignore[arg-type]  # not used here
    context.server_date = (time.time() - 7200, time.time())
    request = httpx.Request("GET", "https://alice.example/.well-known/webfinger")
    with pytest.raises(Unusable) as unusable:
        through_proxy(settings, httpx.Response(502, request=request))
    seen = {"host": "127.0.0.1:8000", "target": "/inbox", "verified": False}
    return [
        _altered(context, "https://alice.example/inbox", seen),
        unusable.value.finding,
        check_clock(context),
        check_disk(settings.data_dir, 10**18, 0.05),
    ]


async def test_the_doctor_page_speaks_the_readers_language(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    report = doctor.Report(settings.base_url, time.time(), tuple(findings(settings)))
    doctor.save_report(settings, report)
    english = "\n".join(report.lines())  # the CLI's, in English
    assert "the proxy rewrites Host (Solo saw '127.0.0.1:8000'" in english
    assert "GB free of" in english

    await login(client)
    page = (await client.get("/server/doctor", headers={"Accept-Language": "de"})).text
    assert (
        "Signaturen scheitern: Der Proxy schreibt Host um (Solo sah &#39;127.0.0.1:8000&#39;"
        in page
    )
    assert "<code>proxy_set_header Host $host;</code>" in page  # nginx lines stay verbatim
    assert "Öffentliche URL" in page and "antwortet 502: Der Proxy erreicht Solo nicht" in page
    assert "7.200 s vor gegenüber dem Date" in page  # numbers written the German way
    assert "Speicherplatz" in page and " frei" in page
    for english_text in ("the proxy rewrites Host", "cannot reach Solo", "free of", "Public URL"):
        assert english_text not in page

    japanese = (await client.get("/server/doctor", headers={"Accept-Language": "ja"})).text
    assert "プロキシーが Host を書き換えています" in japanese


async def test_a_report_from_before_translation_still_shows(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A report stored without values (an older version's) shows as it was written."""
    (settings.data_dir / doctor.REPORT_NAME).write_text(
        '{"url": "https://x", "at": 1, "findings": [{"check": "Disk", "level": "warn",'
        ' "message": "/data: only 1.0 GB free of 9.0 GB", "fix": "free 100% of it"}]}'
    )
    await login(client)
    page = (await client.get("/server/doctor", headers={"Accept-Language": "fr"})).text
    assert "/data: only 1.0 GB free of 9.0 GB" in page and "free 100% of it" in page
    assert "Disque" in page


async def test_the_push_page_shows_refusals_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    csrf = csrf_from((await client.get("/settings/push")).text)
    subscriber = Subscriber()
    refused = await client.post(
        "/settings/push/subscribe",
        data={"csrf": csrf, "endpoint": "https://push.example/x", "p256dh": "AAAA", "auth": "x"},
        headers={"Accept": "application/json", "Accept-Language": "fr"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == (
        "Abonnement refusé : la clé p256dh doit être un point P-256 non compressé de 65 octets"
    )
    refused = await client.post(
        "/settings/push/subscribe",
        data={
            "csrf": csrf,
            "endpoint": "ftp://push.example/x",
            "p256dh": subscriber.p256dh,
            "auth": b64url(subscriber.auth),
        },
        headers={"Accept": "application/json", "Accept-Language": "de"},
    )
    assert refused.json()["error"] == (
        "Ungültiges Abonnement: Der Endpunkt 'ftp://push.example/x': Abgerufen werden nur"
        " https-URLs"
    )

    # Apps get Mastodon's English, whatever language they ask for.
    auth = await user_token(client)
    answer = await subscribe(
        client,
        {**auth, "Accept-Language": "de"},
        "ftp://push.example/x",
        subscriber,
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == (
        "Validation failed: endpoint 'ftp://push.example/x': only https URLs are fetched"
    )


async def test_a_refusal_with_numbers_speaks_the_readers_language(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await login(client)
    token = csrf_from((await client.get("/compose")).text)
    refused = await client.post(
        "/statuses", data={"csrf": token, "text": "x" * 501}, headers={"Accept-Language": "es"}
    )
    assert refused.status_code == 400
    assert "Las publicaciones tienen como máximo 500 caracteres; esta tiene 501." in refused.text
    rows = await app.state.instance.db.fetchval("SELECT COUNT(*) FROM statuses")
    assert rows == 0


async def test_a_domain_refused_for_blocking_says_why_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    token = csrf_from((await client.get("/settings/domain_blocks")).text)
    refused = await client.post(
        "/settings/domain_blocks",
        data={"csrf": token, "domain": "*.spam.example"},
        headers={"Accept-Language": "de"},
    )
    assert refused.status_code == 422
    assert "Platzhalter sind nicht erlaubt; sperre stattdessen spam.example" in refused.text


@pytest.mark.parametrize("locale", LANGUAGES)
def test_translations_keep_the_code_in_backquotes(locale: str) -> None:
    """A finding's `solo serve` or `domain` is shown as code, and must be typed as it is."""
    path = locale_dir() / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalogue = read_po(source, locale=locale)
    changed = [
        message.id
        for message in catalogue
        if message.id
        and isinstance(message.string, str)
        and sorted(CODE.findall(str(message.id))) != sorted(CODE.findall(message.string))
    ]
    assert not changed, changed


async def test_a_confirmation_with_a_name_speaks_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    token = csrf_from((await client.get("/tags/bikes")).text)
    followed = await client.post(
        "/tags/bikes/follow", data={"csrf": token}, headers={"Accept-Language": "fr"}
    )
    assert followed.status_code == 303
    page = await client.get(followed.headers["location"], headers={"Accept-Language": "fr"})
    assert "Vous suivez #bikes : ses messages publics apparaissent désormais" in page.text
    token = csrf_from(page.text)
    await client.post(
        "/tags/bikes/unfollow", data={"csrf": token}, headers={"Accept-Language": "ja"}
    )
    page = await client.get("/tags/bikes", headers={"Accept-Language": "ja"})
    assert "#bikes のフォローをやめました。" in page.text


def test_every_kind_of_id_a_page_reads_has_its_refusal() -> None:
    """`id_from(raw, "kind")` refuses a bad id with NOT_AN_ID["kind"]: a kind without its
    sentence would answer 500 instead of 400."""
    sources = Path(solo.__file__).parent
    kinds = {
        kind
        for path in sources.rglob("*.py")
        for kind in re.findall(
            r'id_from\([^()]*(?:\([^()]*\))?[^()]*,\s*"([^"]+)"\)', path.read_text()
        )
    }
    assert {"conversation", "app", "list"} <= kinds
    assert kinds <= set(NOT_AN_ID), kinds - set(NOT_AN_ID)
