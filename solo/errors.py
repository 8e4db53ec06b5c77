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
"""


class SoloError(Exception):
    """Base of every error Solo raises on purpose."""


class SetupError(SoloError):
    """The instance cannot run as configured; the message says what to do."""


class RequestError(SoloError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
