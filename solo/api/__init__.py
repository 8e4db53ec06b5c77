"""The Mastodon client API and OAuth: what phone and desktop apps speak to.

    auth.py      the bearer token, scopes and the `@api` decorator of endpoints
    params.py    parameters from the query, JSON, urlencoded or multipart bodies
    paging.py    max_id / since_id / min_id / limit and the Link header
    entities.py  Mastodon's entities as dicts (Account, Application…)
    errors.py    the API's refusals (401, 403, 404, 422) as `RequestError`s
    scopes.py    Mastodon's OAuth scopes
    apps.py      POST /api/v1/apps
    authorize.py GET/POST /oauth/authorize (login, consent, code)
    oauth.py     POST /oauth/token, /oauth/revoke, the server metadata
    cors.py      CORS for browser clients
    instance.py  /api/v1/instance, /api/v2/instance
    accounts.py  /api/v1/accounts/… (get, lookup, statuses, followers, relationships…)
    account_entities.py  Account and Relationship entities, loaded a page at a time
    account_actions.py   follow, unfollow, block, mute… an account
    timelines.py /api/v1/timelines/home, /public, /tag/:hashtag
    notifications.py     /api/v1/notifications/… and the Notification entity
    notification_requests.py  the notification policy and its requests (Mastodon 4.3)
    search.py    /api/v2/search
    conversations.py     /api/v1/conversations: direct messages by conversation
    social.py    follow_requests, bookmarks, favourites, blocks, mutes
    misc.py      markers, preferences, and the lists Solo keeps empty
    lists.py     /api/v1/lists/…, /api/v1/timelines/list/:id, accounts/:id/lists
    tags.py      tags/:name (follow), followed_tags, featured_tags
    filters.py   /api/v2/filters (keywords, posts) and the v1 shim /api/v1/filters
    ids.py       ids in paths and parameters
    refusals.py  the actions' refusals as 422 answers
    status_entities.py  Status and Context, a page in a fixed number of queries
    status_parts.py     MediaAttachment, Poll, Card, Tag
    statuses.py  /api/v1/statuses/…
    scheduled.py /api/v1/scheduled_statuses and `scheduled_at` on a new status
    status_history.py   /api/v1/statuses/:id/history
    media.py     /api/v1/media, /api/v2/media
    polls.py     /api/v1/polls/…
    reports.py   /api/v1/reports and the Report entity
    streams.py   which event goes to which open stream, rendered once
    streaming.py /api/v1/streaming: WebSocket and Server-Sent Events

routes.py    every route of the package, for `solo.app_routes` (kept out of this file, so
             that importing one module of the package does not import them all)
"""
