"""Jinja2 rendering with what every page needs: the instance, the login state, a CSRF token."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from solo import __version__, urls
from solo.instance import instance_of
from solo.paths import templates_dir
from solo.web.sessions import csrf_token


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
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
    env: Environment = request.app.state.templates
    settings = instance.settings
    page = {
        "request": request,
        "settings": settings,
        "handle": urls.handle(settings),
        "profile_url": urls.profile(settings),
        "csrf_token": lambda: csrf_token(request),
        "logged_in": bool(request.session.get("auth")),
        **(context or {}),
    }
    body = env.get_template(template).render(page)
    return HTMLResponse(body, status_code=status, headers=headers)
