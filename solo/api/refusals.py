"""What the app's actions refuse (`solo.actions.ActionError`, a 400 on the web), as the API
answers it: 422 `{"error": "Validation failed: <the action's message>"}`, as Mastodon answers
a post it will not make. An upload refused as too large keeps its 413.

    with refusals():
        await interactions.favourite(federation, status_id)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from solo.actions import ActionError
from solo.actions.media import MediaRefused
from solo.errors import RequestError


class ActionRefused(RequestError):
    status = 422

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(f"Validation failed: {message}")
        self.status = status


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except MediaRefused as error:
        raise ActionRefused(error.message, 413 if error.status == 413 else 422) from None
    except ActionError as error:
        raise ActionRefused(error.message) from None
