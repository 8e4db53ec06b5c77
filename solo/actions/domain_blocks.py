"""Blocking whole servers, as Mastodon's domain blocks.

A block takes effect at once, in one transaction: follows with accounts of the domain end both
ways (nothing is sent to it, as Mastodon sends nothing to a blocked domain), their
notifications go, queued deliveries to it are dropped, and its files leave the media cache
(rows here, files after the commit). From then on nothing from it is accepted (the inbox, 403),
shown (listings leave its accounts out, `solo.store.domain_blocks.BLOCKED_ACTORS`), fetched
(the fetcher refuses its URLs) or delivered to it. Lifting a block shows what was kept again;
ended follows stay ended.

What a person types is normalised by `normalize`: a URL gives its host (people paste links);
`*.example.com` is refused (Mastodon takes no wildcards, and a block of `example.com` already
covers every subdomain); IP literals, our own domain and empty text are refused with why.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

import aiosqlite

from solo.catalogues import Message
from solo.federation.context import Federation
from solo.store import domain_blocks as store
from solo.store.domain_blocks import covering, host_of

MAX_DOMAIN: Final = 253
MAX_REASON: Final = 1000
_LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(ValueError):
    """Text that is no domain we can block; the message says why, for a person (in English
    with `%(name)s` placeholders for `values`: the web page translates it)."""

    def __init__(self, message: str, **values: object) -> None:
        self.message = Message(message, **values)
        super().__init__(self.message)


def normalize(text: str, own_domain: str) -> str:
    """The domain to block for what was typed, lowercase and in ASCII (IDNA); raises
    InvalidDomain saying why it cannot be blocked."""
    value = text.strip()
    if not value:
        raise InvalidDomain("Enter a domain to block, such as spam.example.")
    if len(value) > 2 * MAX_DOMAIN:
        raise InvalidDomain("That is too long to be a domain.")
    if "://" in value:
        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None
        if not host:
            raise InvalidDomain("%(value)s is a URL without a server name in it.", value=value)
        value = host
    elif "/" in value:
        value = value.split("/", 1)[0]
    if value.startswith("*"):
        raise InvalidDomain(
            "%(value)s: wildcards are not accepted; block %(domain)s instead, which covers all"
            " its subdomains.",
            value=value,
            domain=value.lstrip("*."),
        )
    if value.startswith("@") or "@" in value:
        raise InvalidDomain(
            "%(value)s looks like an account; block its domain instead.", value=value
        )
    literal = value.strip("[]")
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        pass
    else:
        raise InvalidDomain(
            "%(value)s is an IP address; domain blocks take domain names.", value=value
        )
    value = host_of(value).rstrip(".")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidDomain("%(value)s is not a valid domain name.", value=text.strip()) from None
    labels = value.split(".")
    if len(value) > MAX_DOMAIN or not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain("%(value)s is not a valid domain name.", value=text.strip())
    if labels[-1].isdigit():
        raise InvalidDomain(
            "%(value)s is an IP address; domain blocks take domain names.", value=value
        )
    own = host_of(own_domain)
    if covering(own, {value}):
        raise InvalidDomain(
            "%(value)s is this server's own domain; it cannot be blocked.", value=value
        )
    return value


def clean_reason(reason: str) -> str:
    """The reason as kept: one line of at most MAX_REASON characters."""
    return " ".join(reason.split())[:MAX_REASON]


async def _drop_ties(conn: aiosqlite.Connection, actor_ids: set[int]) -> list[str]:
    """End follows and notifications of the accounts `actor_ids`, drop queued deliveries to
    blocked hosts, and forget their cached media; the storage keys of the files to delete."""
    ids = json.dumps(sorted(actor_ids))
    within = "(SELECT value FROM json_each(?))"
    await conn.execute(f"DELETE FROM follows WHERE actor_id IN {within}", (ids,))
    await conn.execute(f"DELETE FROM notifications WHERE actor_id IN {within}", (ids,))
    async with conn.execute(
        "SELECT DISTINCT host FROM jobs WHERE queue = 'push' AND host IS NOT NULL"
        " AND state IN ('queued', 'retrying')"
    ) as cursor:
        queued = [str(row[0]) for row in await cursor.fetchall()]
    blocked_hosts = await store.blocked_hosts(conn, queued)
    if blocked_hosts:
        await conn.execute(
            "UPDATE jobs SET state = 'dead', last_error = 'the domain is blocked'"
            " WHERE queue = 'push' AND state IN ('queued', 'retrying')"
            " AND host IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(blocked_hosts)),),
        )
    # Cached files: those on a blocked host, and those of the covered accounts (their avatars,
    # headers and attachments, which may live on another host such as a CDN).
    async with conn.execute("SELECT domain FROM domain_blocks") as cursor:
        blocked = {str(row[0]) for row in await cursor.fetchall()}
    async with conn.execute(
        "SELECT url FROM media_cache WHERE url IN ("
        f" SELECT avatar_url FROM actors WHERE id IN {within}"
        f" UNION SELECT header_url FROM actors WHERE id IN {within}"
        " UNION SELECT m.remote_url FROM media m JOIN statuses s ON s.id = m.status_id"
        f" WHERE s.actor_id IN {within})",
        (ids, ids, ids),
    ) as cursor:
        urls = {str(row[0]) for row in await cursor.fetchall()}
    async with conn.execute("SELECT url FROM media_cache") as cursor:
        async for row in cursor:
            host = urlsplit(str(row[0])).hostname or ""
            if host and covering(host, blocked):
                urls.add(str(row[0]))
    keys: list[str] = []
    if urls:
        listed = json.dumps(sorted(urls))
        async with conn.execute(
            "DELETE FROM media_cache WHERE url IN (SELECT value FROM json_each(?))"
            " RETURNING storage_key",
            (listed,),
        ) as cursor:
            keys = [str(row[0]) for row in await cursor.fetchall()]
    return keys


async def block(federation: Federation, blocks: Sequence[tuple[str, str]]) -> list[str]:
    """Block each (domain, reason), normalised already; the domains that were not blocked
    before. Everything of theirs goes in ONE transaction (see the module)."""
    async with federation.db.transaction() as conn:
        added = await store.add(conn, blocks)
        keys: list[str] = []
        if added:
            async with conn.execute("SELECT actor_id FROM domain_blocked_actors") as cursor:
                covered = {int(row[0]) for row in await cursor.fetchall()}
            keys = await _drop_ties(conn, covered)
    if added:
        for key in keys:
            await federation.storage.delete(key)
        await federation.feeds.rebuild()
    return added


async def unblock(federation: Federation, domain: str) -> bool:
    """Lift the block of `domain`; False when there was none."""
    async with federation.db.transaction() as conn:
        removed = await store.remove(conn, domain)
    if removed:
        await federation.feeds.rebuild()
    return removed
