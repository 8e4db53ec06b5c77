"""The web interface in each language, in Chromium: the browser's language picks the page's,
long German words and Japanese text fit a phone, and the owner's setting wins over the browser.
Screenshots: `home-<lang>-light-390.png` and the others in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser_helpers import (
    DESKTOP,
    PHONE,
    browser,
    browser_marks,
    log_in,
    screenshot,
    started,
)
from tests.processes import submit

__all__ = ["browser"]  # the fixture, used by name
pytestmark = browser_marks(300)

# What each language's home page says, and its word for a reply button and a timestamp unit.
EXPECTED = {
    "en": ("Home", "Reply", "What’s on your mind?", "500 characters left"),
    "de": ("Startseite", "Antworten", "Was gibt’s Neues?", "500 Zeichen übrig"),
    "fr": ("Accueil", "Répondre", "Qu’avez-vous en tête ?", "500 caractères restants"),
    "es": ("Inicio", "Responder", "¿En qué estás pensando?", "Quedan 500 caracteres"),
    "ja": ("ホーム", "返信", "今なにしてる？", "残り 500 文字"),
}

SERVER = {"en": "Server", "de": "Server", "fr": "Serveur", "es": "Servidor", "ja": "サーバー"}


async def test_each_language_in_the_browser(
    tmp_path: Path, template_root: Path, browser: Browser
) -> None:
    async with started(tmp_path, template_root, "alice") as (alice,):
        async with alice.logged_in() as http:
            for text in ("Guten Morgen, Fediverse!", "Ein zweiter Beitrag mit #Hashtag"):
                response = await submit(http, "/", "/statuses", text=text)
                assert response.status_code == 303, response.text
        for lang, (home, reply, prompt, counter) in EXPECTED.items():
            context = await browser.new_context(locale=lang, viewport=PHONE)
            try:
                page = await log_in(context, alice)
                await expect(page.locator("html")).to_have_attribute("lang", lang)
                await expect(page.locator("nav[aria-label] a[href='/']").first).to_have_text(home)
                await expect(page.locator("a.action.reply").first).to_contain_text(reply)
                # On a phone the composer is a page of its own (beside the timeline on a desktop).
                await page.goto(f"{alice.base_url}/compose")
                await expect(page.locator("label[for=compose-text]")).to_have_text(prompt)
                # Written by the script, in the page's language, with its plural rules.
                await expect(page.locator("#compose-limit")).to_have_text(counter)
                await page.fill("#compose-text", "x" * 499)
                one_left = counter.replace("500", "1").replace("caracteres", "carácter")
                one_left = one_left.replace("Quedan", "Queda").replace(
                    "caractères restants", "caractère restant"
                )
                await expect(page.locator("#compose-limit")).to_have_text(
                    one_left.replace("characters", "character")
                )
                await page.fill("#compose-text", "")
                await screenshot(page, f"compose-{lang}", "light", PHONE)
                await page.goto(f"{alice.base_url}/")
                await screenshot(page, f"home-{lang}", "light", PHONE)
                await screenshot(page, f"home-{lang}", "dark", DESKTOP)
                await page.goto(f"{alice.base_url}/settings")
                await screenshot(page, f"settings-{lang}", "light", PHONE)
                await page.goto(f"{alice.base_url}/@alice")
                await screenshot(page, f"profile-{lang}", "light", PHONE)
                await page.goto(f"{alice.base_url}/server")
                await expect(page.locator("h1")).to_have_text(SERVER[lang])
                await screenshot(page, f"server-{lang}", "light", PHONE)
                await page.goto(f"{alice.base_url}/settings/push")
                await screenshot(page, f"push-{lang}", "light", PHONE)
            finally:
                await context.close()

        # The owner chooses Japanese: a German browser gets Japanese pages after that.
        context = await browser.new_context(locale="de", viewport=DESKTOP)
        try:
            page = await log_in(context, alice)
            await page.goto(f"{alice.base_url}/settings")
            await expect(page.locator("html")).to_have_attribute("lang", "de")
            await page.select_option("#language-choice", "ja")
            await page.click("form[action='/settings/language'] button[type=submit]")
            await expect(page.locator("html")).to_have_attribute("lang", "ja")
            await expect(page.locator("p.notice")).to_have_text("言語を保存しました。")
            await page.goto(f"{alice.base_url}/")
            await expect(page.locator("html")).to_have_attribute("lang", "ja")
        finally:
            await context.close()
