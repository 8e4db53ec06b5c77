"""Every route of the client API, in the order they are tried (see the package's docstring)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from solo.api import (
    account_actions,
    accounts,
    app_calls,
    apps,
    authorize,
    conversations,
    domain_blocks,
    filters,
    instance,
    lists,
    misc,
    notification_requests,
    notifications,
    oauth,
    push,
    reports,
    scheduled,
    search,
    social,
    tags,
    timelines,
)
from solo.api import media as media_api
from solo.api import polls as polls_api
from solo.api import statuses as statuses_api
from solo.api import streaming as streaming_api

routes: list[BaseRoute] = [
    *apps.routes,
    *authorize.routes,
    *oauth.routes,
    *instance.routes,
    *domain_blocks.routes,
    *app_calls.routes,  # before accounts: accounts/familiar_followers is not an id
    *lists.routes,
    *tags.routes,
    *accounts.routes,
    *account_actions.routes,
    *timelines.routes,
    *notification_requests.routes,  # before notifications: requests and policy are no ids
    *notifications.routes,
    *search.routes,
    *conversations.routes,
    *scheduled.routes,
    *social.routes,
    *filters.routes,
    *misc.routes,
    *push.routes,
    *statuses_api.routes,
    *media_api.routes,
    *polls_api.routes,
    *reports.routes,
    *streaming_api.routes,
]
