"""Creating an instance (`solo init`) and opening one to serve it."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from solo.config import Settings
from solo.db import DAMAGE, Database, damaged
from solo.errors import SetupError
from solo.keys import KeyPair, generate_keypair
from solo.passwords import hash_password
from solo.store import account as account_store
from solo.webpush import VapidKey

SESSION_SECRET = "session_secret"  # noqa: S105 - the name of a meta row, not a secret
VAPID_KEY = "vapid_key"  # the meta row of the Web Push key (PEM), made at the first start


@dataclass(frozen=True)
class Instance:
    """What a running instance loads once at start: its database, keys and secrets."""

    settings: Settings
    db: Database
    user_keys: KeyPair
    instance_keys: KeyPair
    session_secret: str
    vapid: VapidKey  # signs Web Push messages (RFC 8292)


async def initialise(settings: Settings, password: str, *, force: bool = False) -> None:
    """Create the database, both key pairs and the account. Refuses to replace one without force."""
    path = settings.db_path
    if path.exists() and not force:
        raise SetupError(
            f"an instance already exists at {path}; `solo init --force` replaces it"
            " (and loses everything in it)"
        )
    if path.exists():
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        shutil.rmtree(settings.data_dir / "media", ignore_errors=True)
    db = Database(path)
    await db.open(create=True)
    try:
        async with db.transaction() as conn:
            await account_store.create_account(
                conn,
                username=settings.username,
                display_name=settings.display_name or settings.username,
                locked=bool(settings.locked),
                password_hash=hash_password(password),
            )
            await account_store.save_keypair(conn, "user", generate_keypair())
            await account_store.save_keypair(conn, "instance", generate_keypair())
            await account_store.set_meta(conn, SESSION_SECRET, secrets.token_urlsafe(32))
    finally:
        await db.close()


async def open_instance(settings: Settings) -> Instance:
    """Open an initialised instance for serving; a SetupError says what is missing."""
    db = Database(settings.db_path, checkpoints=not settings.litestream)
    await db.open()
    try:
        try:
            account = await account_store.get_account(db)
            user_keys = await account_store.get_keypair(db, "user")
            instance_keys = await account_store.get_keypair(db, "instance")
            secret = await account_store.get_meta(db, SESSION_SECRET)
        except DAMAGE as error:
            raise damaged(settings.db_path, error) from None
        if account is None or user_keys is None or instance_keys is None or secret is None:
            raise SetupError(
                f"the instance at {settings.data_dir} is incomplete: run `solo init --force`"
            )
        if account.username != settings.username:
            raise SetupError(
                f"this instance belongs to @{account.username}, but the configuration says"
                f" @{settings.username}: set SOLO_USERNAME={account.username}"
            )
        await account_store.update_settings(
            db, display_name=settings.display_name, locked=settings.locked
        )
        vapid_pem = await account_store.get_meta(db, VAPID_KEY)
        if vapid_pem is None:
            # Made once and kept: apps and browsers subscribe against its public half.
            vapid_pem = VapidKey.generate().private_pem
            async with db.transaction() as conn:
                await account_store.set_meta(conn, VAPID_KEY, vapid_pem)
    except BaseException:
        await db.close()
        raise
    return Instance(settings, db, user_keys, instance_keys, secret, VapidKey(vapid_pem))


def instance_of(request: HTTPConnection) -> Instance:
    """The running instance, as the lifespan opened it."""
    instance: Instance = request.app.state.instance
    return instance
