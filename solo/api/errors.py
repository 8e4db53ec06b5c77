"""The API's refusals, as members of Solo's exception tree (`solo.errors`).

`solo.app` answers every `RequestError` raised under `/api/` as JSON `{"error": message}` with
the error's status, so an endpoint raises and never builds an error answer itself:

    InvalidToken       401  {"error": "The access token is invalid"}
    OutsideScopes      403  {"error": "This action is outside the authorized scopes"}
    RecordNotFound     404  {"error": "Record not found"}
    ValidationFailed   422  {"error": "Validation failed: <field> <reason>"}
    UserRequired       422  an app-only token where a user is needed (Mastodon's wording)

The OAuth endpoints (/oauth/token, /oauth/revoke) answer RFC 6749's own error shape instead;
see `solo.api.oauth.OAuthError`.
"""

from __future__ import annotations

from solo.errors import NotFound, RequestError

INVALID_TOKEN = "The access token is invalid"  # noqa: S105 - a message, not a secret
OUTSIDE_SCOPES = "This action is outside the authorized scopes"
RECORD_NOT_FOUND = "Record not found"


class InvalidToken(RequestError):
    status = 401

    def __init__(self, message: str = INVALID_TOKEN) -> None:
        super().__init__(message)


class OutsideScopes(RequestError):
    status = 403

    def __init__(self, message: str = OUTSIDE_SCOPES) -> None:
        super().__init__(message)


class RecordNotFound(NotFound):
    def __init__(self, message: str = RECORD_NOT_FOUND) -> None:
        super().__init__(message)


class ValidationFailed(RequestError):
    """A parameter we refuse; the message names it: `Validation failed: limit must be…`."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Validation failed: {field} {reason}".rstrip())
        self.field = field


class Unprocessable(RequestError):
    """A well-formed request for something this server cannot do (yet): 422 with why."""

    status = 422


class UserRequired(RequestError):
    status = 422

    def __init__(self) -> None:
        super().__init__("This method requires an authenticated user")
