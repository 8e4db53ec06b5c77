"""The exception tree of Solo.

Code below the web edge raises these; `solo.app` turns them into HTTP answers in one place, and
the CLI turns `SetupError` into a one-line message. Anything else is a bug and is left to surface.

    SoloError
     ├── SetupError        the instance cannot start as configured (no instance, newer DB…)
     └── RequestError      a request we refuse; carries the HTTP status and a message for a person
          ├── BadRequest        400
          ├── Unauthorized      401
          ├── Forbidden         403
          ├── NotFound          404
          ├── PayloadTooLarge   413
          └── TooManyRequests   429 (with the seconds to wait)

A full disk is not in the tree: it surfaces as SQLite's "database or disk is full" or as an
OSError (ENOSPC) from a file being written, wherever that happens; `storage_full` recognises
both, and `solo.app` answers them 507 Insufficient Storage with `DISK_FULL`.
"""

import errno
import sqlite3

from solo.catalogues import Message

DISK_FULL = "The server's disk is full, so nothing was saved. Try again once space is freed."
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class SoloError(Exception):
    """Base of every error Solo raises on purpose."""


class SetupError(SoloError):
    """The instance cannot run as configured; the message says what to do."""


class RequestError(SoloError):
    """`message` in English with `%(name)s` placeholders for `values`, which web pages show in
    the reader's language (`solo.catalogues.Message`); the API says it in English."""

    status = 400

    def __init__(self, message: str, **values: object) -> None:
        self.message: str = (
            message if isinstance(message, Message) and not values else Message(message, **values)
        )
        super().__init__(self.message)


class BadRequest(RequestError):
    status = 400


class Unauthorized(RequestError):
    status = 401


class Forbidden(RequestError):
    status = 403


class NotFound(RequestError):
    status = 404


class PayloadTooLarge(RequestError):
    status = 413


class TooManyRequests(RequestError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def storage_full(error: BaseException) -> bool:
    """Whether `error` says the disk (or the database's size limit) is full."""
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(error)
    return isinstance(error, OSError) and error.errno in _FULL_ERRNOS
