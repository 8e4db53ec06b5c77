"""Who signed a request: the actor whose key verifies its HTTP signature (rules 6 and 7).

Shared by the inbox (signed POSTs) and the signed GETs of our non-public posts
(`signed_fetch`): the key comes from the resolver's cache, else it is fetched once, so a key
that rotated is picked up by the second try.
"""

from __future__ import annotations

from starlette.requests import Request

from solo.errors import Unauthorized
from solo.federation.context import Federation
from solo.federation.resolver import CachedKey, ResolveError
from solo.federation.signatures import PreparedSignature, SignatureError, verify


class KeyGone(Exception):
    """The keyId answered 410: its owner is gone (and only its owner, rule 38)."""


def request_target(request: Request) -> str:
    """The request target as received (path and query), which the signature covers."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return (raw_path + (b"?" + query if query else b"")).decode("latin-1")


async def signing_key(
    federation: Federation, prepared: PreparedSignature, *, stored: bool = True
) -> CachedKey:
    """The key that verifies `prepared`, with its owner: the cached key first, then one fresh
    fetch.

    `stored=False`: a fetched actor may come back before its row is written, without its row
    id and with the place of that write in line (`Resolver.fetch_key`). Raises SignatureError
    when the signature does not verify, Unauthorized when the key cannot be had, KeyGone when
    the keyId answers 410."""
    cached = await federation.resolver.cached_key(prepared.key_id)
    if cached is not None:
        try:
            verify(prepared, cached.public_key)
            return cached
        except SignatureError:
            pass  # the key may have rotated: fetch it again, once
    try:
        fetched = await federation.resolver.fetch_key(prepared.key_id, stored=stored)
    except ResolveError as error:
        if error.gone:
            raise KeyGone from None
        raise Unauthorized(f"Cannot get the signing key: {error}") from None
    verify(prepared, fetched.public_key)
    return fetched
