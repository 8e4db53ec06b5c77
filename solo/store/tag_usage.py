"""How much a hashtag was used, per day: the `history` of the client API's Tag entity."""

from __future__ import annotations

import time

from solo.db import Database

DAY = 86400
# Each element of a post's `tag` list, whatever its shape: AS2 allows bare URL strings there,
# and json_extract fails on those, so only objects are looked into (CASE evaluates in order).
_NAMES = (
    "SELECT CASE WHEN t.type = 'object' AND json_extract(t.value, '$.type') = 'Hashtag'"
    " THEN lower(ltrim(json_extract(t.value, '$.name'), '#')) END AS name"
    " FROM json_each(CASE WHEN json_valid(s.raw) AND json_type(s.raw, '$.tag') = 'array'"
    " THEN s.raw ELSE '{\"tag\": []}' END, '$.tag') t"
)


async def daily_uses(db: Database, name: str, days: int = 7) -> list[tuple[int, int, int]]:
    """(day start, posts, accounts) for the last `days` days, newest first, as Mastodon's
    history counts them: public posts using the tag, and the distinct accounts posting them."""
    today = int(time.time()) // DAY * DAY
    since = today - (days - 1) * DAY
    rows = await db.fetchall(
        "SELECT CAST(s.published_at / 86400 AS INTEGER) * 86400 AS day, COUNT(*),"
        " COUNT(DISTINCT COALESCE(s.actor_id, 0))"
        " FROM statuses s WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
        " AND s.visibility = 'public' AND s.published_at >= ?"
        f" AND ? IN ({_NAMES}) GROUP BY day",
        (since, name.lstrip("#").lower()),
    )
    counted = {int(row[0]): (int(row[1]), int(row[2])) for row in rows}
    return [(day, *counted.get(day, (0, 0))) for day in range(today, since - 1, -DAY)]


async def peers(db: Database) -> list[str]:
    """The domains of every account we know, less those we block (Mastodon's peers)."""
    rows = await db.fetchall(
        "SELECT DISTINCT domain FROM actors WHERE deleted_at IS NULL"
        " AND domain NOT IN (SELECT domain FROM domain_blocks) ORDER BY domain"
    )
    return [row[0] for row in rows]
