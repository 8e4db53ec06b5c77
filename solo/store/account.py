"""The local account, its key pairs and instance-wide values."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from solo.db import Database
from solo.keys import KeyPair


@dataclass(frozen=True)
class ProfileField:
    name: str
    value: str
    verified_at: float | None = None  # when the linked page was last seen to link back (rel=me)

    @property
    def link(self) -> str | None:
        """The value when it is one http(s) URL, which profiles show as a link."""
        value = self.value
        if any(c.isspace() for c in value) or not value.lower().startswith(("http://", "https://")):
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            return None
        return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


@dataclass(frozen=True)
class Alias:
    """An account we come from: its actor URL and its handle, as checked when added."""

    ap_id: str
    handle: str


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    summary_html: str
    summary_source: str
    fields: tuple[ProfileField, ...]
    avatar_url: str | None
    header_url: str | None
    locked: bool
    discoverable: bool
    password_hash: str
    created_at: float
    updated_at: float
    aliases: tuple[Alias, ...] = ()  # the accounts we come from (alsoKnownAs)
    moved_to: str | None = None  # the actor we moved to (movedTo)
    moved_to_handle: str | None = None
    moved_at: float | None = None  # the last move, kept after an undo for the cooldown


def account_from_row(row: sqlite3.Row) -> Account:
    fields = tuple(
        ProfileField(f["name"], f["value"], f.get("verified_at"))
        for f in json.loads(row["fields_json"])
    )
    return Account(
        username=row["username"],
        display_name=row["display_name"],
        summary_html=row["summary_html"],
        summary_source=row["summary_source"],
        fields=fields,
        avatar_url=row["avatar_url"],
        header_url=row["header_url"],
        locked=bool(row["locked"]),
        discoverable=bool(row["discoverable"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        aliases=tuple(Alias(a["id"], a["handle"]) for a in json.loads(row["aliases_json"])),
        moved_to=row["moved_to"],
        moved_to_handle=row["moved_to_handle"],
        moved_at=row["moved_at"],
    )


async def get_account(db: Database) -> Account | None:
    row = await db.fetchone("SELECT * FROM account WHERE id = 1")
    return None if row is None else account_from_row(row)


async def create_account(
    conn: aiosqlite.Connection,
    *,
    username: str,
    display_name: str,
    locked: bool,
    password_hash: str,
) -> None:
    now = time.time()
    await conn.execute(
        "INSERT INTO account (id, username, display_name, locked, password_hash, created_at,"
        " updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
        (username, display_name, int(locked), password_hash, now, now),
    )


async def set_password_hash(db: Database, password_hash: str) -> None:
    await db.execute(
        "UPDATE account SET password_hash = ?, updated_at = ? WHERE id = 1",
        (password_hash, time.time()),
    )


async def update_settings(
    db: Database, *, display_name: str | None = None, locked: bool | None = None
) -> bool:
    """Apply values set in the configuration; True when something changed."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE account SET display_name = COALESCE(?, display_name),"
            " locked = COALESCE(?, locked), updated_at = ?"
            " WHERE id = 1 AND (display_name IS NOT COALESCE(?, display_name)"
            " OR locked IS NOT COALESCE(?, locked))",
            (
                display_name,
                None if locked is None else int(locked),
                time.time(),
                display_name,
                None if locked is None else int(locked),
            ),
        )
        return cursor.rowcount > 0


async def save_keypair(conn: aiosqlite.Connection, owner: str, pair: KeyPair) -> None:
    await conn.execute(
        "INSERT INTO keys (owner, private_pem, public_pem, created_at) VALUES (?, ?, ?, ?)",
        (owner, pair.private_pem, pair.public_pem, time.time()),
    )


async def get_keypair(db: Database, owner: str) -> KeyPair | None:
    row = await db.fetchone("SELECT private_pem, public_pem FROM keys WHERE owner = ?", (owner,))
    return None if row is None else KeyPair(row["private_pem"], row["public_pem"])


async def set_meta(conn: aiosqlite.Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def get_meta(db: Database, key: str) -> str | None:
    value = await db.fetchval("SELECT value FROM meta WHERE key = ?", (key,))
    return None if value is None else str(value)


async def update_profile(
    conn: aiosqlite.Connection,
    *,
    display_name: str,
    summary_source: str,
    summary_html: str,
    fields: tuple[ProfileField, ...],
    locked: bool,
    avatar_url: str | None,
    header_url: str | None,
) -> None:
    """Replace what the settings page edits, in the caller's transaction."""
    await conn.execute(
        "UPDATE account SET display_name = ?, summary_source = ?, summary_html = ?,"
        " fields_json = ?, locked = ?, avatar_url = ?, header_url = ?, updated_at = ?"
        " WHERE id = 1",
        (
            display_name,
            summary_source,
            summary_html,
            fields_json(fields),
            int(locked),
            avatar_url,
            header_url,
            time.time(),
        ),
    )


async def read_account(conn: aiosqlite.Connection) -> Account:
    """The account as the writer sees it, inside the caller's transaction."""
    async with conn.execute("SELECT * FROM account WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return account_from_row(row)


def fields_json(fields: tuple[ProfileField, ...]) -> str:
    """The fields as stored; `verified_at` only on the fields that have one."""
    stored: list[dict[str, Any]] = []
    for field in fields:
        item: dict[str, Any] = {"name": field.name, "value": field.value}
        if field.verified_at is not None:
            item["verified_at"] = field.verified_at
        stored.append(item)
    return json.dumps(stored, ensure_ascii=False)


async def set_fields(conn: aiosqlite.Connection, fields: tuple[ProfileField, ...]) -> None:
    """Replace the fields alone (their verification marks), in the caller's transaction; the
    profile itself is unchanged, so `updated_at` is kept."""
    await conn.execute("UPDATE account SET fields_json = ? WHERE id = 1", (fields_json(fields),))
