"""Mastodon's paging: `max_id`, `since_id`, `min_id`, `limit`, and the `Link` header.

    page = PageRequest.of(params)                 # limit 20 by default, at most 40
    where, args, order = page.sql("s.id")         # "s.id < ? AND …", [...], "DESC" or "ASC"
    rows = await db.fetchall(f"SELECT … WHERE {where} ORDER BY s.id {order} LIMIT ?",
                             [*args, page.limit])
    rows = page.arrange(rows)                     # newest first, whichever order was read
    return paged(request, [entity(r) for r in rows], [r["id"] for r in rows])

`max_id`: older than it; `since_id`: the newest items newer than it; `min_id`: the items
immediately newer than it (read oldest first, shown newest first). The `Link` header points at
the next (older) page first, then the previous (newer) one, with absolute URLs that keep the
request's other parameters; an empty page has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse

from solo.api.errors import ValidationFailed
from solo.api.ids import id_of
from solo.api.params import Params
from solo.config import Settings

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 40
NOTIFICATIONS_MAX_LIMIT: Final = 80
_CURSORS: Final = ("max_id", "since_id", "min_id")
T = TypeVar("T")


def _cursor(params: Params, key: str) -> int | None:
    """An id cursor; clients send ids as strings, and some send an empty one for none."""
    raw = params.string(key)
    if raw is None or raw.strip() == "":
        return None
    found = id_of(raw)
    if found is None:
        raise ValidationFailed(params.name(key), "is not an id")
    return found


@dataclass(frozen=True)
class PageRequest:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    @classmethod
    def of(
        cls, params: Params, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
    ) -> PageRequest:
        """The cursors and the limit asked for; a limit out of range is brought within
        1…`maximum` rather than refused, as Mastodon does."""
        limit = max(1, abs(params.integer("limit", default)))
        return cls(
            max_id=_cursor(params, "max_id"),
            since_id=_cursor(params, "since_id"),
            min_id=_cursor(params, "min_id"),
            limit=min(limit, maximum),
        )

    @property
    def ascending(self) -> bool:
        """Whether rows are read oldest first: `min_id` takes the ones right after it."""
        return self.min_id is not None

    def sql(self, column: str) -> tuple[str, list[int], str]:
        """A WHERE condition on `column` (never empty), its arguments, and the ORDER BY
        direction to read in."""
        conditions: list[str] = []
        args: list[int] = []
        if self.max_id is not None:
            conditions.append(f"{column} < ?")
            args.append(self.max_id)
        if self.since_id is not None:
            conditions.append(f"{column} > ?")
            args.append(self.since_id)
        if self.min_id is not None:
            conditions.append(f"{column} > ?")
            args.append(self.min_id)
        return " AND ".join(conditions) or "1", args, "ASC" if self.ascending else "DESC"

    def arrange(self, items: Sequence[T]) -> list[T]:
        """Items read in `sql`'s order, newest first."""
        return list(reversed(items)) if self.ascending else list(items)

    def window(self, ids: Sequence[int]) -> list[int]:
        """This page of `ids` (newest first), for lists held in memory (the feeds)."""
        chosen = [
            i
            for i in ids
            if (self.max_id is None or i < self.max_id)
            and (self.since_id is None or i > self.since_id)
            and (self.min_id is None or i > self.min_id)
        ]
        if self.ascending:
            return chosen[-self.limit :]
        return chosen[: self.limit]


def _absolute(settings: Settings, request: Request, **cursor: str) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _CURSORS]
    kept.extend(cursor.items())
    # The path is decoded (`/tags/日本語`): a header must be ASCII, so it goes back encoded.
    path = quote(request.url.path, safe="/@:+,;=")
    return f"{settings.base_url}{path}?{urlencode(kept)}"


def link_header(request: Request, cursor_ids: Sequence[int | str]) -> str | None:
    """The `Link` header of a page whose items have these paging ids (newest first); None for
    an empty page."""
    if not cursor_ids:
        return None
    settings: Settings = request.app.state.settings
    older = _absolute(settings, request, max_id=str(cursor_ids[-1]))
    newer = _absolute(settings, request, min_id=str(cursor_ids[0]))
    return f'<{older}>; rel="next", <{newer}>; rel="prev"'


def paged(request: Request, items: list[Any], cursor_ids: Sequence[int | str]) -> JSONResponse:
    """A JSON list answer with its `Link` header."""
    response = JSONResponse(items)
    link = link_header(request, cursor_ids)
    if link is not None:
        response.headers["Link"] = link
    return response
