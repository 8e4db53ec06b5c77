"""Link preview cards: rows of `cards`, one per URL linked to, and of `status_cards`, which card a
status shows. A failed fetch is a row too (`failed`), so that it is not retried at once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiosqlite

from solo.db import Database


@dataclass(frozen=True, slots=True)
class Card:
    """What a page says about itself; plain text, escaped where shown."""

    url: str  # the link as it appears in posts
    card_url: str  # where the card links to
    title: str
    description: str = ""
    site_name: str = ""
    type: str = ""

    @property
    def site(self) -> str:
        """The site's own name, or the host the card links to."""
        return self.site_name or urlsplit(self.card_url).hostname or ""


@dataclass(frozen=True, slots=True)
class Cached:
    """A `cards` row: `card` is None when the fetch failed."""

    card: Card | None
    fetched_at: float


async def get(db: Database, url: str) -> Cached | None:
    row = await db.fetchone(
        "SELECT url, card_url, title, description, site_name, type, failed, fetched_at"
        " FROM cards WHERE url = ?",
        (url,),
    )
    if row is None:
        return None
    card = None if row["failed"] else _card(row)
    return Cached(card, row["fetched_at"])


async def save(conn: aiosqlite.Connection, url: str, card: Card | None) -> None:
    """Store what fetching `url` gave (None: nothing usable), replacing an older answer."""
    await conn.execute(
        "INSERT OR REPLACE INTO cards (url, fetched_at, failed, card_url, title, description,"
        " site_name, type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            url,
            time.time(),
            card is None,
            card.card_url if card else "",
            card.title if card else "",
            card.description if card else "",
            card.site_name if card else "",
            card.type if card else "",
        ),
    )


async def linked_content(conn: aiosqlite.Connection, status_id: int) -> tuple[str, str | None]:
    """What a status links to now: its HTML and the post it quotes; ("", None) when it is gone.
    Read in the transaction that attaches a card, so that an edit cannot slip in between."""
    cursor = await conn.execute(
        "SELECT content_html, quote_ap_id FROM statuses WHERE id = ? AND deleted_at IS NULL",
        (status_id,),
    )
    row = await cursor.fetchone()
    return ("", None) if row is None else (row[0], row[1])


async def attach(conn: aiosqlite.Connection, status_id: int, url: str) -> None:
    """Show the card of `url` under the status (once `url` has a `cards` row)."""
    await conn.execute(
        "INSERT OR REPLACE INTO status_cards (status_id, url)"
        " SELECT ?, url FROM cards WHERE url = ?",
        (status_id, url),
    )


async def cards_of(db: Database, status_ids: Iterable[int]) -> dict[int, Card]:
    """The cards of these statuses, failed fetches left out: one query for a whole page."""
    rows = await db.fetchall(
        "SELECT sc.status_id, c.url, c.card_url, c.title, c.description, c.site_name, c.type"
        " FROM status_cards sc JOIN cards c ON c.url = sc.url"
        " WHERE sc.status_id IN (SELECT value FROM json_each(?)) AND NOT c.failed",
        (json.dumps(sorted({int(i) for i in status_ids})),),
    )
    return {row["status_id"]: _card(row) for row in rows}


def _card(row: aiosqlite.Row) -> Card:
    return Card(
        url=row["url"],
        card_url=row["card_url"],
        title=row["title"],
        description=row["description"],
        site_name=row["site_name"],
        type=row["type"],
    )
