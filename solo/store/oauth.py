"""OAuth apps, authorization codes and access tokens (migration 0008).

Secrets, codes and tokens reach this module already hashed (`digest`): the raw values exist
only in the answer that hands them out.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass

import aiosqlite

from solo.db import Database

CODE_LIFETIME = 600.0  # seconds: an authorization code is exchanged at once, or not at all


def digest(secret: str) -> str:
    """How a client secret, code or token is stored and looked up: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class OAuthApp:
    id: int
    client_id: str
    secret_hash: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    website: str | None
    created_at: float


@dataclass(frozen=True)
class CodeGrant:
    """An authorization code as stored."""

    app_id: int
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used_at: float | None
    token_id: int | None


@dataclass(frozen=True)
class AccessToken:
    id: int
    app_id: int
    app_name: str
    app_website: str | None
    scopes: tuple[str, ...]
    user: bool  # False: an app-only token (client_credentials), which reads no user data
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class AuthorizedApp:
    """An app holding live user tokens, as the settings page lists it."""

    app_id: int
    name: str
    website: str | None
    scopes: tuple[str, ...]
    authorized_at: float
    last_used_at: float | None
    tokens: int


def _app(row: sqlite3.Row) -> OAuthApp:
    return OAuthApp(
        id=row["id"],
        client_id=row["client_id"],
        secret_hash=row["secret_hash"],
        name=row["name"],
        redirect_uris=tuple(row["redirect_uris"].split("\n")),
        scopes=tuple(row["scopes"].split()),
        website=row["website"],
        created_at=row["created_at"],
    )


async def create_app(
    db: Database,
    *,
    client_id: str,
    secret_hash: str,
    name: str,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    website: str | None,
) -> OAuthApp:
    now = time.time()
    app_id = await db.execute(
        "INSERT INTO oauth_apps (client_id, secret_hash, name, redirect_uris, scopes, website,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (client_id, secret_hash, name, "\n".join(redirect_uris), " ".join(scopes), website, now),
    )
    return OAuthApp(app_id, client_id, secret_hash, name, redirect_uris, scopes, website, now)


async def get_app_by_client_id(db: Database, client_id: str) -> OAuthApp | None:
    row = await db.fetchone("SELECT * FROM oauth_apps WHERE client_id = ?", (client_id,))
    return None if row is None else _app(row)


async def get_app(db: Database, app_id: int) -> OAuthApp | None:
    row = await db.fetchone("SELECT * FROM oauth_apps WHERE id = ?", (app_id,))
    return None if row is None else _app(row)


async def create_code(
    db: Database,
    *,
    code_hash: str,
    app_id: int,
    redirect_uri: str,
    scopes: tuple[str, ...],
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> None:
    """Store a new code, and forget the codes that expired long enough ago to be of no use."""
    now = time.time()
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM oauth_codes WHERE expires_at < ?", (now - 24 * 3600,))
        await conn.execute(
            "INSERT INTO oauth_codes (code_hash, app_id, redirect_uri, scopes, code_challenge,"
            " code_challenge_method, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                code_hash,
                app_id,
                redirect_uri,
                " ".join(scopes),
                code_challenge,
                code_challenge_method,
                now,
                now + CODE_LIFETIME,
            ),
        )


async def read_code(conn: aiosqlite.Connection, code_hash: str) -> CodeGrant | None:
    """A code as the writer sees it, inside the caller's transaction (to redeem it once)."""
    async with conn.execute(
        "SELECT * FROM oauth_codes WHERE code_hash = ?", (code_hash,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return CodeGrant(
        app_id=row["app_id"],
        redirect_uri=row["redirect_uri"],
        scopes=tuple(row["scopes"].split()),
        code_challenge=row["code_challenge"],
        code_challenge_method=row["code_challenge_method"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        token_id=row["token_id"],
    )


async def mark_code_used(conn: aiosqlite.Connection, code_hash: str, token_id: int) -> None:
    await conn.execute(
        "UPDATE oauth_codes SET used_at = ?, token_id = ? WHERE code_hash = ?",
        (time.time(), token_id, code_hash),
    )


async def insert_token(
    conn: aiosqlite.Connection,
    *,
    token_hash: str,
    app_id: int,
    scopes: tuple[str, ...],
    user: bool,
) -> tuple[int, float]:
    """A new token in the caller's transaction: its row id and creation time."""
    now = time.time()
    cursor = await conn.execute(
        "INSERT INTO oauth_tokens (token_hash, app_id, scopes, user, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, app_id, " ".join(scopes), int(user), now),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid, now


async def revoke_token_id(conn: aiosqlite.Connection, token_id: int) -> None:
    await conn.execute(
        "UPDATE oauth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (time.time(), token_id),
    )


async def live_token(db: Database, token_hash: str) -> AccessToken | None:
    """The unrevoked token with this hash, with its app; None when there is none."""
    row = await db.fetchone(
        "SELECT t.*, a.name AS app_name, a.website AS app_website FROM oauth_tokens t"
        " JOIN oauth_apps a ON a.id = t.app_id"
        " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        (token_hash,),
    )
    if row is None:
        return None
    return AccessToken(
        id=row["id"],
        app_id=row["app_id"],
        app_name=row["app_name"],
        app_website=row["app_website"],
        scopes=tuple(row["scopes"].split()),
        user=bool(row["user"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
    )


async def token_is_live(db: Database, token_id: int) -> bool:
    """Whether the token with this row id is still unrevoked (for streams opened with it)."""
    row = await db.fetchone(
        "SELECT 1 FROM oauth_tokens WHERE id = ? AND revoked_at IS NULL", (token_id,)
    )
    return row is not None


async def touch_token(db: Database, token_id: int, now: float) -> None:
    await db.execute("UPDATE oauth_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))


async def revoke_token(db: Database, token_hash: str, app_id: int) -> bool:
    """Revoke the app's token with this hash; False when it has none such."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE oauth_tokens SET revoked_at = ?"
            " WHERE token_hash = ? AND app_id = ? AND revoked_at IS NULL",
            (time.time(), token_hash, app_id),
        )
        return cursor.rowcount > 0


async def revoke_app(db: Database, app_id: int) -> int:
    """Revoke every live token of an app (the settings page's button); how many were."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE oauth_tokens SET revoked_at = ? WHERE app_id = ? AND revoked_at IS NULL",
            (time.time(), app_id),
        )
        return cursor.rowcount


async def authorized_apps(db: Database) -> list[AuthorizedApp]:
    """The apps that hold live tokens acting for the user, most recently authorized first."""
    rows = await db.fetchall(
        "SELECT a.id, a.name, a.website, group_concat(t.scopes, ' ') AS scopes,"
        " min(t.created_at) AS authorized_at, max(t.last_used_at) AS last_used_at,"
        " count(*) AS tokens"
        " FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id"
        " WHERE t.user = 1 AND t.revoked_at IS NULL"
        " GROUP BY a.id ORDER BY max(t.created_at) DESC"
    )
    return [
        AuthorizedApp(
            app_id=row["id"],
            name=row["name"],
            website=row["website"],
            scopes=tuple(dict.fromkeys(row["scopes"].split())),
            authorized_at=row["authorized_at"],
            last_used_at=row["last_used_at"],
            tokens=row["tokens"],
        )
        for row in rows
    ]
