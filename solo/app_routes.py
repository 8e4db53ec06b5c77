"""The routes of the web pages and the client API, in the order `solo.app` tries them.

Imported at the first request that the federation's routes do not answer (`solo.lazy.LazyRoutes`):
about 170 modules that a server answering only its peers does not need at start.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from solo.api.routes import routes as api_routes
from solo.web import (
    account,
    apps,
    archive,
    compose,
    conversations,
    doctor,
    domain_blocks,
    feeds,
    filters,
    forms,
    history,
    imports,
    interact,
    lists,
    media_proxy,
    moderation,
    moving,
    notification_requests,
    pages,
    polls,
    profiles,
    push,
    relationships,
    relays,
    reports,
    search,
    server_page,
    streaming,
    tag_follows,
    threads,
    timelines,
    uploads,
)
from solo.web import scheduled as scheduled_pages

profile = pages.profile  # the profile page, which `/users/<name>` shows to browsers

routes: list[BaseRoute] = [
    *pages.routes,
    *feeds.routes,
    *timelines.routes,
    *lists.routes,
    *tag_follows.routes,
    *notification_requests.routes,
    *conversations.routes,
    *scheduled_pages.routes,
    *profiles.routes,
    *threads.routes,
    *history.routes,
    *relationships.routes,
    *reports.routes,
    *moderation.routes,
    *compose.routes,
    *forms.routes,
    *polls.routes,
    *search.routes,
    *server_page.routes,
    *interact.routes,
    *account.routes,
    *push.routes,
    *archive.routes,
    *domain_blocks.routes,
    *relays.routes,
    *doctor.routes,
    *moving.routes,
    *filters.routes,
    *imports.routes,
    *apps.routes,
    *api_routes,
    *streaming.routes,
    *media_proxy.routes,
    *uploads.routes,
]
