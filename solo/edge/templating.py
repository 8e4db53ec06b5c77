"""Jinja2 rendering with what every page needs: the instance, the login state, a CSRF token,
the unread notification count, the reader's language (solo.edge.i18n), and times shown relative
with the exact time on hover."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse

from solo import __version__, catalogues, urls
from solo.edge import i18n
from solo.edge.assets import stylesheet_link
from solo.edge.sessions import masked_csrf_token
from solo.instance import instance_of
from solo.paths import templates_dir

FLASH = "flash"  # the session key of a message shown once, on the page after a redirect


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CURRENT = Markup(' aria-current="page"')


def icon_drawer(sprite: str) -> Callable[[str], Markup]:
    """`icon(name)` for the templates: an icon of the sprite at `sprite`, drawn in the colour
    of the text around it; hidden from screen readers, so what it stands for must be said in
    text beside it. (A function, not a macro: a page draws over a hundred of them.)"""

    @functools.lru_cache(maxsize=64)
    def icon(name: str) -> Markup:
        return Markup('<svg class="icon" aria-hidden="true"><use href="{}#{}"></use></svg>').format(
            sprite, name
        )

    return icon


def aria_current(section: str | None, name: str) -> Markup:
    """`aria-current` for the navigation entry `name` when the page shown is in its section."""
    return _CURRENT if section == name else Markup()


# What templates call. Newstyle gettext, as Jinja's i18n extension makes it: the result is
# escaped before formatting and marked safe, so `_('Hi %(name)s', name=x)` escapes x.
def _format(context: Context, text: str, variables: dict[str, Any]) -> str:
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our own catalogue's text; variables get escaped
    return text % variables if variables else text


@functools.cache
def template_callables(locale: str) -> dict[str, Callable[..., str]]:
    """`_`, `gettext` and `ngettext` for templates rendered in `locale`."""
    catalogue = catalogues.translations(locale)

    @pass_context
    def gettext_(context: Context, message: str, **variables: Any) -> str:
        return _format(context, catalogue.gettext(message), variables)

    @pass_context
    def ngettext_(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _format(context, catalogue.ngettext(singular, plural, num), variables)

    return {"_": gettext_, "gettext": gettext_, "ngettext": ngettext_}


# The filters read `locale` from the template's context.
@pass_context
def ago_filter(context: Context, timestamp: float) -> str:
    return i18n.relative_time(timestamp, context.get("locale", catalogues.DEFAULT))


@pass_context
def exact_filter(context: Context, timestamp: float) -> str:
    return i18n.exact_time(timestamp, context.get("locale", catalogues.DEFAULT))


@pass_context
def translate_filter(context: Context, message: str) -> str:
    """`{{ value | translate }}`: a message chosen at run time (a constant marked with N_, an
    error's text, a `Message` with its values) in the page's language, as plain text that
    autoescape escapes. (`_()` marks its result safe, so it is for literal messages only.)"""
    locale = context.get("locale", catalogues.DEFAULT)
    return catalogues.translated(message, catalogues.translations(locale))


@pass_context
def day_filter(context: Context, timestamp: float) -> str:
    """A day, as "Mar 4, 2026" or "4. März 2026"."""
    return i18n.full_day(timestamp, context.get("locale", catalogues.DEFAULT))


@pass_context
def number_filter(context: Context, value: int | float) -> str:
    return i18n.number(value, context.get("locale", catalogues.DEFAULT))


def make_environment(static: Callable[[str], str] | None = None) -> Environment:
    """`static(name)` is what `{{ static('style.css') }}` answers: the file's address, hashed
    by its content when `StaticAssets` knows it."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks as one line, as extracted
    env.globals["version"] = __version__
    static_url = static or (lambda name: f"/static/{name}")
    env.globals["static"] = static_url
    # Linked; the app's `StaticAssets.stylesheet` inlines it for a browser that lacks it.
    env.globals["stylesheet"] = lambda request: stylesheet_link(static_url("style.css"))
    env.globals["icon"] = icon_drawer(static_url("icons.svg"))
    env.globals["aria_current"] = aria_current
    env.filters["iso"] = iso_time
    env.filters["exact"] = exact_filter
    env.filters["ago"] = ago_filter
    env.filters["number"] = number_filter
    env.filters["day"] = day_filter
    env.filters["translate"] = translate_filter
    # English by default; render() passes each request's own `_`, `gettext` and `ngettext`.
    english = catalogues.translations(catalogues.DEFAULT)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        english.gettext, english.ngettext, newstyle=True
    )
    return env


def current_path(request: Request) -> str:
    """This page's path and query: where a form on it comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def ngettext(request: Request, singular: str, plural: str, count: int) -> str:
    """The form of a count's message in the request's language, with `%(num)s` filled in."""
    return i18n.ngettext_for(request)(singular, plural, count) % {"num": count}


def flash(request: Request, message: str, **values: object) -> None:
    """Show `message` on the next page rendered for this session (after a redirect), in the
    request's language: a literal message is extracted by `make messages` (babel.cfg's
    `flash:2` keyword); `values` fill its `%(name)s` placeholders after translation."""
    text = i18n.translate_for(request, message)
    request.session[FLASH] = (text % values if values else text)[:500]


# The navigation's sections by the first part of a path: where `aria-current` goes.
SECTIONS = {
    "": "home",
    "notifications": "notifications",
    "notification_requests": "notifications",
    "search": "search",
    "local": "local",
    "federated": "federated",
    "bookmarks": "bookmarks",
    "lists": "lists",
    "tags": "lists",
    "conversations": "conversations",
    "follow_requests": "notifications",
    "compose": "compose",
    "settings": "settings",
    "reports": "settings",
    "server": "server",
}


def nav_section(path: str, username: str) -> str | None:
    """Which entry of the navigation `path` belongs to (None: none of them)."""
    first, _, rest = path.strip("/").partition("/")
    if first == f"@{username}":
        return None if rest.isdigit() else "profile"  # a post of ours is no profile page
    return SECTIONS.get(first)


def _unread(request: Request) -> int:
    federation = getattr(request.app.state, "federation", None)
    return 0 if federation is None else int(federation.feeds.unread)


def environment(app: Starlette) -> Environment:
    """The app's templates, made at the first page (`app.state.make_templates`), not at start:
    a server that only federates never needs them."""
    env: Environment | None = getattr(app.state, "templates", None)
    if env is None:
        env = app.state.templates = app.state.make_templates()
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    instance = instance_of(request)
    env = environment(request.app)
    settings = instance.settings
    logged_in = bool(request.session.get("auth"))
    locale = i18n.locale_of(request)
    page = {
        **template_callables(locale),
        "locale": locale,
        "script_messages": lambda: i18n.script_messages(locale),
        "request": request,
        "settings": settings,
        "handle": urls.handle(settings),
        "profile_url": urls.profile(settings),
        # One masked token per page, however many forms: a fresh one in each of a timeline's
        # hundred forms would be 6 KB that no compression can shrink.
        "csrf_token": functools.cache(lambda: masked_csrf_token(request)),
        "logged_in": logged_in,
        "unread": _unread(request) if logged_in else 0,
        "here": current_path(request),
        "section": nav_section(request.url.path, settings.username),
        "flash": request.session.pop(FLASH, None) if FLASH in request.session else None,
        **(context or {}),
    }
    body = env.get_template(template).render(page)
    response = HTMLResponse(body, status_code=status, headers=headers)
    if logged_in and "cache-control" not in response.headers:
        # The user's pages change with every action in place: going back must show them as
        # they are now, not as the browser first stored them (and no cache keeps them at all).
        response.headers["Cache-Control"] = "private, no-store"
    return response
