"""Posts by hashtag. The tags live in each status's `raw` JSON (ours: `vocab.Extras`; remote: the
document, its `tag` normalised at ingest by `federation.tags`), so these queries scan; a tag
index belongs with full-text search.
"""

from __future__ import annotations

import json

from solo.db import Database
from solo.store.suppression import author_hidden

# The tags of the post `s`. Rows stored before ingest normalised `tag` may hold any shape (a
# bare URL string, one object, a number), so nothing here assumes one.
TAG_ITEMS = (
    "json_each(CASE WHEN json_valid(s.raw) AND json_type(s.raw, '$.tag') = 'array'"
    " THEN s.raw ELSE '{\"tag\": []}' END, '$.tag')"
)
# One item `t` of TAG_ITEMS as a JSON object, '{}' if it is none: json_extract on a string item
# would fail the whole query, and SQLite does not promise to test `t.type` first in a WHERE.
TAG_OBJECT = "CASE WHEN t.type = 'object' THEN t.value ELSE '{}' END"
# The name of a Hashtag item `t`, lower case (ASCII) and without its '#' (PeerTube's have none);
# NULL for any other item.
TAG_NAME = (
    f"CASE WHEN json_extract({TAG_OBJECT}, '$.type') = 'Hashtag'"
    f" THEN lower(ltrim(json_extract({TAG_OBJECT}, '$.name'), '#')) END"
)


def tagged(names_parameter: str) -> str:
    """SQL true when the post `s` has a Hashtag tag named in the JSON list `names_parameter`
    (names without '#', lower case)."""
    return (
        f"EXISTS (SELECT 1 FROM {TAG_ITEMS} t"
        f" WHERE {TAG_NAME} IN (SELECT value FROM json_each({names_parameter})))"
    )


async def hashtag_page(
    db: Database, name: str, *, max_id: int | None, limit: int, local_only: bool
) -> list[int]:
    """Public posts tagged `#name` (any case), newest first: the web's tag page."""
    local = "AND s.actor_id IS NULL" if local_only else ""
    rows = await db.fetchall(
        "SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL"
        f" AND s.visibility = 'public' {local} AND NOT {author_hidden('s.actor_id')}"
        " AND (? IS NULL OR s.id < ?)"
        f" AND {tagged('?')} ORDER BY s.id DESC LIMIT ?",
        (max_id, max_id, json.dumps([name.lstrip("#").lower()]), limit),
    )
    return [row[0] for row in rows]
