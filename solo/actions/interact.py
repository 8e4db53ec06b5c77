"""Interacting from another server: a visitor's handle → their server's page for following or
answering one of our addresses, through the `subscribe` template their WebFinger publishes (the
OStatus name that Mastodon, GoToSocial, Pleroma and Misskey all still use)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlsplit

from solo.actions import ActionError
from solo.actions.follows import HANDLE_RE
from solo.federation.context import Federation
from solo.federation.webfinger import SUBSCRIBE
from solo.net.fetch import FetchError, HTTPStatusError

MAX_HANDLE: Final = 320  # RFC 5321's longest address: any real handle is shorter
MAX_TEMPLATE: Final = 2048


def parse_handle(text: str) -> tuple[str, str]:
    """`you@your.server` (maybe with a leading @ or `acct:`) → (user, host); ActionError if not."""
    handle = text.strip().removeprefix("acct:")
    if not handle:
        raise ActionError("Give your handle, like you@your.server.")
    if len(handle) > MAX_HANDLE:
        raise ActionError(
            "That handle is longer than %(max_handle)s characters.", max_handle=MAX_HANDLE
        )
    match = HANDLE_RE.match(handle)
    if match is None or ("." not in match.group(2) and ":" not in match.group(2)):
        raise ActionError(
            "“%(handle)s” is not a handle: write it like you@your.server.", handle=handle
        )
    return match.group(1), match.group(2).lower()


def _template(jrd: dict[str, Any]) -> str | None:
    for link in jrd.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == SUBSCRIBE:
            template = link.get("template")
            if isinstance(template, str) and "{uri}" in template:
                return template
    return None


def fill(template: str, uri: str) -> str:
    """The template with `uri` in place; ActionError unless it makes an http(s) address (a
    hostile server could otherwise send the visitor to `javascript:` through our redirect)."""
    if len(template) > MAX_TEMPLATE:
        raise ActionError("Your server's address for interactions is too long to follow.")
    target = template.replace("{uri}", quote(uri, safe=""))
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ActionError("Your server's address for interactions is not a web address.")
    return target


async def interaction_url(federation: Federation, handle: str, uri: str) -> str:
    """Where to send the visitor `handle` so that their server shows them `uri`."""
    user, host = parse_handle(handle)
    if host == federation.settings.domain.lower():
        raise ActionError(
            "@%(user)s@%(host)s is on this server: log in here instead.", user=user, host=host
        )
    resource = quote(f"acct:{user}@{host}", safe=":@")
    schemes = ["https", "http"] if federation.settings.allow_private_addresses else ["https"]
    error: FetchError | None = None
    for scheme in schemes:
        try:
            jrd = await federation.fetcher.get_json(
                f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
            )
            break
        except FetchError as failed:
            error = failed
    else:
        if isinstance(error, HTTPStatusError) and error.status in (404, 410):
            raise ActionError("%(host)s knows no account called %(user)s.", host=host, user=user)
        raise ActionError(
            "Could not ask %(host)s about @%(user)s@%(host)s: %(error)s",
            host=host,
            user=user,
            error=error,
        )
    template = _template(jrd)
    if template is None:
        raise ActionError(
            "%(host)s does not say where to follow or reply from it: open %(uri)s "
            "in your own server's search instead.",
            host=host,
            uri=uri,
        )
    return fill(template, uri)
