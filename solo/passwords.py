"""Password hashing with Argon2id (memory-hard), stored in the PHC string format."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import TYPE_CHECKING

from solo.lazy import lazy

if TYPE_CHECKING:
    from cryptography import exceptions
    from cryptography.hazmat.primitives.kdf import argon2
else:  # at the first login, not at start (see solo.lazy)
    exceptions = lazy("cryptography.exceptions")
    argon2 = lazy("cryptography.hazmat.primitives.kdf.argon2")

# OWASP's minimum for Argon2id (19 MiB, 2 passes): about 50 ms here, well under a second on a Pi.
MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
MIN_LENGTH = 8
MAX_LENGTH = 1024


def _kdf(salt: bytes) -> argon2.Argon2id:
    return argon2.Argon2id(
        salt=salt, length=32, iterations=ITERATIONS, lanes=LANES, memory_cost=MEMORY_KIB
    )


def hash_password(password: str) -> str:
    return _kdf(os.urandom(16)).derive_phc_encoded(password.encode())


def check_password(password: str, encoded: str) -> bool:
    try:
        argon2.Argon2id.verify_phc_encoded(password.encode(), encoded)
    except exceptions.InvalidKey:
        return False
    return True


async def check_password_async(password: str, encoded: str) -> bool:
    """Verify off the event loop: a hash takes tens of milliseconds."""
    return await asyncio.to_thread(check_password, password, encoded)


def validate_new_password(password: str) -> str | None:
    """A message for a person when the password is unacceptable, else None."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters."
    return None


def generate_password() -> str:
    return secrets.token_urlsafe(15)
