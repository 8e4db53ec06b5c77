"""The application factory: routes, middleware and the lifespan that owns the instance."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from solo import control
from solo.actions import (
    archive_zip,
    blocklists,
    csv_imports,
    retention,
    scheduled,
    server_stats,
)
from solo.actions.archive_jobs import ArchiveImports
from solo.activitystreams import wants_activity_json
from solo.api.cors import Cors
from solo.api.slashes import TrailingSlash
from solo.catalogues import N_
from solo.config import Settings
from solo.edge import i18n
from solo.edge.assets import StaticAssets
from solo.edge.compression import Compression
from solo.edge.inbox_lane import InboxLane
from solo.edge.middleware import BodyLimit, SecurityHeaders, ServerLane
from solo.edge.owner_first import OwnerFirst
from solo.edge.page_cache import PageCache
from solo.edge.sessions import OwnRequests, Sessions
from solo.errors import DISK_FULL, RequestError, TooManyRequests, storage_full
from solo.federation import actors, inbox, nodeinfo, objects, webfinger
from solo.federation.runtime import federation
from solo.instance import open_instance
from solo.lazy import LazyRoutes, lazy
from solo.paths import static_dir

if TYPE_CHECKING:
    from jinja2 import Environment

    from solo import app_routes
    from solo.edge import templating
    from solo.web import cards, media_proxy
else:  # at the first request for a page or the client API, not at start (see solo.lazy)
    app_routes = lazy("solo.app_routes")
    templating = lazy("solo.edge.templating")  # and with it Jinja2
    media_proxy = lazy("solo.web.media_proxy")
    cards = lazy("solo.web.cards")

FORM_LIMIT = 64 * 1024
INBOX_LIMIT = 1024 * 1024
API_LIMIT = 1024 * 1024
log = logging.getLogger("uvicorn.error")


async def actor_or_profile(request: Request) -> Response:
    """One URL, two answers: the actor to ActivityPub peers, the profile page to browsers."""
    if wants_activity_json(request):
        return await actors.person(request)  # Vary: Accept, Signature (secure mode)
    response = await app_routes.profile(request)
    response.headers["Vary"] = "Accept"
    return response


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    path = request.url.path
    return (
        wants_activity_json(request)
        or path.startswith(("/api/", "/.well-known/", "/nodeinfo/"))
        or ("json" in accept and "html" not in accept)
    )


async def _error_answer(request: Request, status: int, message: str) -> Response:
    headers: dict[str, str] = {}
    if _wants_json(request):
        return Response(
            json.dumps({"error": message}),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )
    if "html" in request.headers.get("accept", "") and "session" in request.scope:
        return templating.render(
            request, "error.html", {"status": status, "message": message}, status=status
        )
    return PlainTextResponse(message, status_code=status, headers=headers)


async def request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    response = await _error_answer(request, exc.status, exc.message)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


HTTP_MESSAGES = {  # error.html shows them translated
    404: N_("There is nothing here."),
    405: N_("This address does not take that kind of request."),
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    response = await _error_answer(request, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def storage_error(request: Request, exc: Exception) -> Response:
    """A full disk: 507 with a message, once here for every route (the inbox answers 503
    itself, so that peers retry). Any other OSError or SQLite error is a bug: raised again."""
    if not storage_full(exc):
        raise exc
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return await _error_answer(request, 507, DISK_FULL)


class _Server(Starlette):
    """Starlette with the inbox's lane in front of all of it: server-to-server POSTs to the
    inboxes skip even its error middleware, whose wrapping of every `send` costs at a thousand
    activities a second (an exception there reaches uvicorn, which answers 500 alike)."""

    def __init__(self, inbox_lane: ASGIApp, **options: Any) -> None:
        self.inbox_lane = inbox_lane
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        return ServerLane(super().build_middleware_stack(), self.inbox_lane)


def body_limits(settings: Settings) -> dict[str, int]:
    """The largest request body each path prefix takes: forms are small, the inbox takes one
    activity, and forms with files take their files (4 attachments, or avatar and header)."""
    upload = settings.max_upload_bytes
    return {
        "/inbox": INBOX_LIMIT,
        "/actor/inbox": INBOX_LIMIT,
        "/users/": INBOX_LIMIT,
        "/statuses": 4 * upload + FORM_LIMIT,
        "/settings": 2 * upload + FORM_LIMIT,
        # A blocklist: twice what an import takes, so a file a little too large is told why.
        "/settings/domain_blocks": 2 * blocklists.MAX_BYTES + FORM_LIMIT,
        "/settings/archive/import": archive_zip.MAX_ARCHIVE_BYTES + FORM_LIMIT,
        "/api/": API_LIMIT,
        "/api/v1/media": upload + FORM_LIMIT,
        "/api/v2/media": upload + FORM_LIMIT,
        "/api/v1/accounts/update_credentials": 2 * upload + FORM_LIMIT,
    }


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    serving: bool = False,
) -> Starlette:
    """The whole instance as an ASGI app. `transport` replaces the network for outgoing
    requests (tests route them to other in-process instances); `serving` is for `solo serve`
    alone: a pid file and signal handlers belong to the process, not to every app."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        instance = await open_instance(settings)
        app.state.instance = instance
        app.state.language = await i18n.saved_language(instance.db)
        try:
            async with (
                federation(instance, transport=transport) as running,
                csv_imports.importing(running) as importer,
            ):
                app.state.federation = running
                app.state.importer = importer
                imports = app.state.archive_imports = ArchiveImports(running)
                await imports.resume()
                scheduled.start(running)  # publishes scheduled posts (an action: not federation's)
                retention.start(running)
                server_stats.start(running)  # the Server page's samples, one a minute
                try:
                    if serving:

                        def look() -> None:  # SIGUSR1: another process stored work
                            for wake in (importer.wake, running.push.wake, running.webpush.wake):
                                wake.set()

                        with control.serving(settings, running.feeds, look):
                            yield
                    else:
                        yield
                finally:
                    try:
                        await retention.shutdown(running)
                        await scheduled.shutdown(running)
                    finally:
                        try:
                            await server_stats.shutdown(running)
                        finally:
                            await imports.aclose()
        finally:
            await instance.db.close()

    assets = StaticAssets(static_dir())
    routes = [
        *webfinger.routes,
        *nodeinfo.routes,
        *actors.routes,
        *objects.routes,
        *inbox.routes,
        Route("/users/{username}", actor_or_profile, methods=["GET", "HEAD"]),
        LazyRoutes(lambda: app_routes.routes),  # the pages and the client API
        Route("/static/{path:path}", assets.serve, methods=["GET", "HEAD"], name="static"),
    ]
    handlers: dict[type[Exception], Any] = {
        RequestError: request_error,
        HTTPException: http_error,
        sqlite3.OperationalError: storage_error,
        OSError: storage_error,
    }
    inbox_lane = InboxLane(INBOX_LIMIT, handlers)
    owner_first = OwnerFirst()
    middleware = [
        # Visitors' public pages, compressed, for a second: outside all that makes them.
        Middleware(PageCache, owner_first=owner_first),
        Middleware(Compression),
        Middleware(Cors),
        Middleware(TrailingSlash),
        Middleware(SecurityHeaders),
        Middleware(BodyLimit, default=FORM_LIMIT, limits=body_limits(settings)),
        Middleware(Sessions),
        Middleware(OwnRequests, owner_first=owner_first),
    ]
    app = _Server(
        inbox_lane,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=handlers,
    )
    app.state.settings = settings
    app.state.assets = assets
    app.state.owner_first = owner_first

    def make_templates() -> Environment:
        env = templating.make_environment(assets.url)
        env.globals["stylesheet"] = assets.stylesheet
        media_proxy.install(env)
        env.globals["status_actions"] = cards.status_actions
        return env

    app.state.make_templates = make_templates  # at the first page (templating.environment)
    return app
