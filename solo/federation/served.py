"""Our public documents kept serialized in memory, for the stampede (issue 15).

A repeat fetch of a public post or of our actor costs the query that says the document is still
current (the status row, the account row) and nothing more: no rendering, no JSON encoding, no
hashing. Each entry keeps what it was made from (`source`, frozen rows compared by value), so an
edit, a delete, a poll vote or a profile update makes the next fetch see a different source and
render afresh, whichever path made the change; nothing has to remember to invalidate.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from solo.activitystreams import ACTIVITY_JSON
from solo.http_cache import PUBLIC_DOCUMENT, matches, strong_etag

# A stampede is about one post; a few hundred entries cover every post that is being fetched.
LIMIT: Final = 256


@dataclass(frozen=True, slots=True)
class Served:
    source: object  # what the body was made from; equal to the current one → still current
    body: bytes
    etag: str


class ServedCache:
    """Bounded, least recently used first out."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._entries: OrderedDict[str, Served] = OrderedDict()
        self._limit = limit

    def get(self, key: str) -> Served | None:
        """The entry for `key`, current or not: the caller compares its `source`."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, source: object, document: dict[str, Any]) -> Served:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        entry = Served(source, body, strong_etag(body))
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)


def cache_of(connection: HTTPConnection) -> ServedCache:
    """The running app's cache, made on first use so that every app has its own."""
    state = connection.app.state
    cache: ServedCache | None = getattr(state, "served_documents", None)
    if cache is None:
        cache = ServedCache()
        state.served_documents = cache
    return cache


def answer(request: Request, entry: Served, *, shared: bool) -> Response:
    """The document, or 304 when the requester already has it. `shared` (a public document
    outside secure mode) adds the validator and lets shared caches keep it; otherwise the
    answer depends on the signer and says so."""
    headers = {"Vary": "Accept, Signature"}
    if not shared:
        headers["Cache-Control"] = "private"
        return Response(entry.body, media_type=ACTIVITY_JSON, headers=headers)
    headers["ETag"] = entry.etag
    headers["Cache-Control"] = PUBLIC_DOCUMENT
    if matches(request.headers, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type=ACTIVITY_JSON, headers=headers)
