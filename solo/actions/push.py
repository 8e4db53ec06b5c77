"""Subscribing to Web Push, for an app (the client API) or a browser (the settings page).

Everything a subscription names is checked before it is stored: the endpoint is an https URL
(http too where private addresses are allowed, as in tests) of bounded length whose host resolves
to public addresses only (the address policy every fetch follows: a push service inside the
network would make Solo a way in), `p256dh` a point on P-256 and `auth` 16 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from solo.config import Settings
from solo.errors import RequestError
from solo.net.addresses import AddressRefused, check_url, resolve
from solo.store.push_subscriptions import ALERTS, POLICIES, NewSubscription
from solo.webpush import BadKey, auth_secret, b64url, p256_point

MAX_ENDPOINT: Final = 2048  # Mastodon's limit; real push services use a few hundred characters


class BadSubscription(RequestError):
    """A subscription we refuse: 422 with what is wrong, nothing stored. In Mastodon's English
    for apps; the settings page shows it in its reader's language."""

    status = 422


def alerts_from(
    given: Mapping[str, bool], current: Mapping[str, bool] | None = None
) -> dict[str, bool]:
    """Every alert Mastodon names, each as given, else as it was, else off."""
    base = {name: False for name in ALERTS}
    base.update({name: value for name, value in (current or {}).items() if name in base})
    base.update({name: value for name, value in given.items() if name in base})
    return base


def checked_policy(policy: str | None, current: str = "all") -> str:
    if policy is None or policy == "":
        return current
    if policy not in POLICIES:
        raise BadSubscription(
            "Validation failed: policy must be one of %(policies)s", policies=", ".join(POLICIES)
        )
    return policy


async def checked(
    settings: Settings,
    *,
    endpoint: str | None,
    p256dh: str | None,
    auth: str | None,
    standard: bool,
    alerts: dict[str, bool],
    policy: str,
) -> NewSubscription:
    """A new subscription once every part of it is checked; else BadSubscription."""
    if not endpoint:
        raise BadSubscription("Validation failed: endpoint can't be blank")
    if len(endpoint) > MAX_ENDPOINT:
        raise BadSubscription(
            "Validation failed: endpoint is longer than %(limit)s characters", limit=MAX_ENDPOINT
        )
    if not p256dh or not auth:
        raise BadSubscription("Validation failed: keys p256dh and auth can't be blank")
    try:
        key = p256_point(p256dh)
    except BadKey as error:
        raise BadSubscription(
            "Validation failed: keys p256dh %(reason)s", reason=error.message
        ) from None
    try:
        secret = auth_secret(auth)
    except BadKey as error:
        raise BadSubscription(
            "Validation failed: keys auth %(reason)s", reason=error.message
        ) from None
    allow_private = settings.allow_private_addresses
    try:
        url = check_url(endpoint, allow_private=allow_private)
    except AddressRefused as error:
        raise BadSubscription(
            "Validation failed: endpoint %(reason)s", reason=error.message
        ) from None
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        await resolve(host, port, settings)
    except AddressRefused as error:
        raise BadSubscription(
            "Validation failed: endpoint %(reason)s", reason=error.message
        ) from None
    except OSError:  # TimeoutError included
        raise BadSubscription(
            "Validation failed: endpoint's host %(host)s does not resolve", host=host
        ) from None
    return NewSubscription(
        endpoint=endpoint,
        host=urlsplit(endpoint).netloc.lower(),
        p256dh=b64url(key),
        auth=b64url(secret),
        standard=standard,
        alerts=alerts,
        policy=policy,
    )
