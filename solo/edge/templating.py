"""Jinja2 rendering with what every page needs: the instance, the login state, a CSRF token,
the unread notification count, and times shown relative with the exact time on hover."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from solo import __version__, urls
from solo.edge.sessions import masked_csrf_token
from solo.instance import instance_of
from solo.paths import templates_dir

FLASH = "flash"  # the session key of a message shown once, on the page after a redirect


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_time(timestamp: float) -> str:
    """What the hover shows (the script replaces it with the reader's local time)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_time(timestamp: float, now: float | None = None) -> str:
    """Mastodon's short form: 12s, 5m, 3h, 2d, then the date."""
    now = time.time() if now is None else now
    seconds = max(0, int(now - timestamp))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    when = datetime.fromtimestamp(timestamp, UTC)
    if when.year == datetime.fromtimestamp(now, UTC).year:
        return f"{when:%b} {when.day}"
    return f"{when:%b} {when.day}, {when.year}"


def plural(n: int, singular: str, plurals: str) -> str:
    """`singular` or `plurals` by `n`, with `%(num)d` standing for it: the shape of Jinja2's
    `ngettext`, so that a translated catalogue can take over this call as it is."""
    return (singular if n == 1 else plurals) % {"num": n}


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


def make_environment(static: Callable[[str], str] | None = None) -> Environment:
    """`static(name)` is what `{{ static('style.css') }}` answers: the file's address, hashed
    by its content when `StaticAssets` knows it."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["plural"] = plural
    static_url = static or (lambda name: f"/static/{name}")
    env.globals["static"] = static_url
    env.globals["icon"] = icon_drawer(static_url("icons.svg"))
    env.globals["aria_current"] = aria_current
    env.filters["iso"] = iso_time
    env.filters["exact"] = exact_time
    env.filters["ago"] = relative_time
    return env


def current_path(request: Request) -> str:
    """This page's path and query: where a form on it comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def flash(request: Request, message: str) -> None:
    """Show `message` on the next page rendered for this session (after a redirect)."""
    request.session[FLASH] = message[:500]


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


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    instance = instance_of(request)
    env: Environment = request.app.state.templates
    settings = instance.settings
    logged_in = bool(request.session.get("auth"))
    page = {
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
