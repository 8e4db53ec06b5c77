"""WebFinger (RFC 7033) and host-meta (RFC 6415): how other servers find our actors by handle.

We answer for the user (`acct:user@domain`, its actor URL, its profile URL) and for the
instance actor (`acct:domain@domain`, as Mastodon names its own). Mastodon resolves a handle
here, then checks the round trip: the actor's `preferredUsername@host` must give back the same
subject, so the subject is always built from the settings, never echoed from the request.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from solo import urls
from solo.activitystreams import ACTIVITY_JSON
from solo.config import Settings
from solo.errors import BadRequest, NotFound
from solo.instance import instance_of

JRD = "application/jrd+json"
XRD = "application/xrd+xml"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
# Where other servers send their users to follow or answer something of ours (remote follow).
SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
# Other servers' pages read these from the browser too (remote follow buttons).
CORS = {"Access-Control-Allow-Origin": "*"}
# Subjects never change for a given domain and user; let fetchers cache for an hour.
CACHE = {"Cache-Control": "public, max-age=3600"}

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")  # RFC 3986 §3.1

USER = "user"
INSTANCE = "instance"


def _json(document: dict[str, Any], media_type: str) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type=media_type, headers={**CORS, **CACHE})


def _from_acct(settings: Settings, acct: str) -> str:
    """`user@domain` (maybe with a leading @) → USER or INSTANCE; 400 if malformed, else 404."""
    user, at, host = acct.removeprefix("@").rpartition("@")
    if not at or not user or not host or "@" in user or any(c.isspace() for c in acct):
        raise BadRequest(f"{acct!r} is not an account of the form user@domain.")
    domain = settings.domain.lower()
    if host.lower() != domain:
        raise NotFound(f"This server only answers for accounts on {settings.domain}.")
    if user.lower() == settings.username:
        return USER
    if user.lower() == domain:
        return INSTANCE
    raise NotFound(f"There is no account called {user} here.")


def _from_url(settings: Settings, url: str) -> str:
    """One of our actor or profile URLs → USER or INSTANCE; 404 for another host's URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadRequest(f"{url!r} is not an http(s) URL.")
    if parts.netloc.lower() != settings.domain.lower():
        # Well-formed but not ours: unknown here, as RFC 7033 and Mastodon answer.
        raise NotFound(f"{url!r} is not a URL of {settings.domain}.")
    # Compared by path, so that http/https (behind a TLS proxy) and a trailing / both resolve.
    path = parts.path.rstrip("/")
    if path in (urlsplit(urls.actor(settings)).path, urlsplit(urls.profile(settings)).path):
        return USER
    if path == urls.INSTANCE_ACTOR_PATH:
        return INSTANCE
    raise NotFound(f"{url!r} is not an account here.")


def resolve(settings: Settings, resource: str) -> str:
    """Which of our actors a WebFinger `resource` names: USER or INSTANCE."""
    resource = resource.strip()
    if not resource:
        raise BadRequest("The resource parameter is required.")
    scheme, colon, rest = resource.partition(":")
    # RFC 7033 §4.2: the resource is a URI, and one that is not (a bare `user@domain`, or
    # `user@host:port` whose "scheme" holds an @) is malformed. A well-formed URI of a scheme
    # we hold nothing under (mailto:, xmpp:) names no resource here (§4.5).
    if not colon or not _SCHEME.match(scheme):
        raise BadRequest(f"{resource!r} is not a URI: ask for acct:user@domain or an http(s) URL.")
    if scheme.lower() == "acct":
        return _from_acct(settings, rest)
    if scheme.lower() in ("http", "https"):
        return _from_url(settings, resource)
    raise NotFound(f"This server answers only for acct: and http(s) URIs, not {scheme}:.")


def user_document(settings: Settings) -> dict[str, Any]:
    actor, profile = urls.actor(settings), urls.profile(settings)
    return {
        "subject": f"acct:{urls.handle(settings)}",
        "aliases": [actor, profile],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": PROFILE_PAGE, "type": "text/html", "href": profile},
            {
                "rel": SUBSCRIBE,
                "template": f"{settings.base_url}/authorize_interaction?uri={{uri}}",
            },
        ],
    }


def instance_document(settings: Settings) -> dict[str, Any]:
    actor = urls.instance_actor(settings)
    return {
        "subject": f"acct:{settings.domain}@{settings.domain}",
        "aliases": [actor],
        "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": actor}],
    }


async def webfinger(request: Request) -> Response:
    settings = instance_of(request).settings
    found = resolve(settings, request.query_params.get("resource", ""))
    document = user_document(settings) if found == USER else instance_document(settings)
    return _json(document, JRD)


def _lrdd_template(settings: Settings) -> str:
    return f"{settings.base_url}/.well-known/webfinger?resource={{uri}}"


async def host_meta(request: Request) -> Response:
    """The XRD form, which Pleroma/Akkoma read and Mastodon falls back to on a WebFinger 404."""
    template = _lrdd_template(instance_of(request).settings)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
    return Response(body, media_type=XRD, headers={**CORS, **CACHE})


async def host_meta_json(request: Request) -> Response:
    """The JRD form of host-meta; RFC 6415 serves it as plain application/json."""
    template = _lrdd_template(instance_of(request).settings)
    return _json({"links": [{"rel": "lrdd", "template": template}]}, "application/json")


routes: list[BaseRoute] = [
    Route("/.well-known/webfinger", webfinger, methods=["GET", "HEAD"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET", "HEAD"]),
    Route("/.well-known/host-meta.json", host_meta_json, methods=["GET", "HEAD"]),
]
