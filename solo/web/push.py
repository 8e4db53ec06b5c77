"""Installing the web interface and its push notifications: the web app manifest, the service
worker (served from `/sw.js` so that its scope is the whole site), the favicon, and
`/settings/push`, where this browser subscribes (with JavaScript) and the owner chooses which
notifications every browser is sent (a plain form)."""

from __future__ import annotations

from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.actions import push as push_actions
from solo.catalogues import N_
from solo.edge.i18n import gettext_for, locale_of, translate_for
from solo.edge.templating import flash, render
from solo.federation.context import federation_of
from solo.paths import static_dir
from solo.store import push_subscriptions as store
from solo.store.account import Account, get_account
from solo.store.push_subscriptions import WebPreferences
from solo.web.common import form_page, login_required

PATH: Final = "/settings/push"
THEME: Final = "#4a47c9"  # --accent of static/style.css, as the icons
BACKGROUND: Final = "#f6f6f8"  # --bg
# The notifications Solo makes, as the form offers them.
WEB_ALERTS: Final = (
    ("mention", N_("Mentions and replies")),
    ("follow", N_("New followers")),
    ("follow_request", N_("Follow requests")),
    ("favourite", N_("Favourites of your posts")),
    ("reblog", N_("Boosts of your posts")),
    ("poll", N_("Polls that ended")),
    ("update", N_("Edits of posts you boosted")),
    ("admin.report", N_("Reports from other servers")),
)
POLICIES: Final = (
    ("all", N_("Anyone")),
    ("followed", N_("People you follow")),
    ("follower", N_("People who follow you")),
    ("none", N_("No one (pause them)")),
)
SHORT_NAME_CHARS: Final = 12  # what a home screen shows under an icon
MAX_BROWSERS: Final = 20  # one person's phones, tablets and computers, with room to spare


def _icon(src: str, size: int, purpose: str = "any") -> dict[str, str]:
    return {"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}


async def manifest(request: Request) -> Response:
    """The web app manifest: what a phone or desktop needs to install the site as an app."""
    federation = federation_of(request)
    settings = federation.settings
    account = await get_account(federation.db)
    name = (account.display_name if account else "") or urls.handle(settings)
    short = name if len(name) <= SHORT_NAME_CHARS else "Solo"
    # In the language of whoever installs it (the owner's choice, else their browser's).
    _ = gettext_for(request)
    description = _("%(handle)s on Solo, a fediverse server of one's own")
    document = {
        "id": "/",
        "name": f"{name} · Solo",
        "short_name": short,
        "description": description % {"handle": urls.handle(settings)},
        "lang": locale_of(request),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME,
        "background_color": BACKGROUND,
        "categories": ["social"],
        "icons": [
            {"src": "/static/icons/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
            _icon("/static/icons/icon-192.png", 192),
            _icon("/static/icons/icon-512.png", 512),
            _icon("/static/icons/icon-maskable-192.png", 192, "maskable"),
            _icon("/static/icons/icon-maskable-512.png", 512, "maskable"),
        ],
        "shortcuts": [
            {"name": _("New post"), "url": "/compose"},
            {"name": _("Notifications"), "url": "/notifications"},
        ],
    }
    return JSONResponse(
        document,
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600", "Vary": "Accept-Language, Cookie"},
    )


async def service_worker(request: Request) -> Response:
    """static/sw.js at the root, so that it may control every page (a worker's scope is its
    folder); never cached long, so that a new version is picked up at the next visit."""
    return FileResponse(
        static_dir() / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says."""
    return FileResponse(
        static_dir() / "icons" / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def _page(request: Request, account: Account, **context: Any) -> Response:
    federation = federation_of(request)
    preferences = await store.web_preferences(federation.db)
    values = {
        "account": account,
        "vapid_key": federation.instance.vapid.public_key,
        "alerts": WEB_ALERTS,
        "policies": POLICIES,
        "preferences": preferences,
        "browsers": await store.browser_count(federation.db),
        **context,
    }
    return render(request, "push.html", values)


@login_required
async def push_page(request: Request, account: Account) -> Response:
    return await _page(request, account)


@form_page
async def subscribe(request: Request, account: Account, form: FormData) -> Response:
    """This browser's subscription, sent by static/push.js; answered in JSON, a refusal in the
    page's language (the client API's stays in Mastodon's English)."""
    try:
        return await _subscribe(request, form)
    except push_actions.BadSubscription as error:
        message = translate_for(request, error.message)
        return JSONResponse({"error": message}, status_code=error.status)


async def _subscribe(request: Request, form: FormData) -> Response:
    federation = federation_of(request)
    preferences = await store.web_preferences(federation.db)
    new = await push_actions.checked(
        federation.settings,
        endpoint=_text(form, "endpoint", push_actions.MAX_ENDPOINT + 1),
        p256dh=_text(form, "p256dh", 200),
        auth=_text(form, "auth", 100),
        standard=True,  # browsers decrypt RFC 8291's aes128gcm
        alerts=preferences.alerts,
        policy=preferences.policy,
    )
    if (
        await store.browser_count(federation.db) >= MAX_BROWSERS
        and await store.for_browser(federation.db, new.endpoint) is None
    ):
        raise push_actions.BadSubscription(
            "%(limit)s browsers already get notifications, as many as Solo sends to: turn them"
            " off on every browser below, then on again where you want them.",
            limit=MAX_BROWSERS,
        )
    async with federation.db.transaction() as conn:
        await store.save_for_browser(conn, new)
    return JSONResponse({"subscribed": True, "browsers": await store.browser_count(federation.db)})


@form_page
async def unsubscribe(request: Request, account: Account, form: FormData) -> Response:
    federation = federation_of(request)
    endpoint = _text(form, "endpoint", push_actions.MAX_ENDPOINT + 1)
    async with federation.db.transaction() as conn:
        removed = await store.delete_for_browser(conn, endpoint)
    return JSONResponse(
        {
            "subscribed": False,
            "removed": removed,
            "browsers": await store.browser_count(federation.db),
        }
    )


@form_page
async def unsubscribe_all(request: Request, account: Account, form: FormData) -> Response:
    """Without JavaScript too: no browser gets notifications any more (each still believes it
    is subscribed until it next opens this page; the pushes simply stop)."""
    async with federation_of(request).db.transaction() as conn:
        removed = await store.delete_all_browsers(conn)
    if removed:
        flash(request, "No browser gets notifications now.")
    else:
        flash(request, "No browser was getting notifications.")
    return RedirectResponse(PATH, status_code=303)


@form_page
async def save_alerts(request: Request, account: Account, form: FormData) -> Response:
    chosen = {str(value) for value in form.getlist("alert")}
    offered = {name for name, _ in WEB_ALERTS}
    unknown = chosen - offered
    policy = str(form.get("policy", ""))
    if unknown or policy not in store.POLICIES:
        _ = gettext_for(request)
        error = (
            _("Solo does not know “%(alert)s”. Reload the page and try again.")
            % {"alert": sorted(unknown)[0][:40]}
            if unknown
            else _("Solo does not know the policy “%(policy)s”. Reload the page and try again.")
            % {"policy": policy[:40]}
        )
        return await _page(request, account, error=error)
    federation = federation_of(request)
    current = await store.web_preferences(federation.db)
    alerts = {
        name: (name in chosen) if name in offered else current.alerts.get(name, False)
        for name in store.ALERTS
    }
    async with federation.db.transaction() as conn:
        await store.set_web_preferences(conn, WebPreferences(alerts, policy))
    flash(request, "Saved: your browsers get these notifications from now on.")
    return RedirectResponse(PATH, status_code=303)


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


routes: list[BaseRoute] = [
    Route("/manifest.webmanifest", manifest, methods=["GET", "HEAD"]),
    Route("/sw.js", service_worker, methods=["GET", "HEAD"]),
    Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
    Route(PATH, push_page, methods=["GET", "HEAD"]),
    Route(f"{PATH}/subscribe", subscribe, methods=["POST"]),
    Route(f"{PATH}/unsubscribe", unsubscribe, methods=["POST"]),
    Route(f"{PATH}/unsubscribe-all", unsubscribe_all, methods=["POST"]),
    Route(f"{PATH}/alerts", save_alerts, methods=["POST"]),
]
