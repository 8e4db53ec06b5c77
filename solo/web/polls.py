"""The vote form of a poll card, and the poll fields of the compose form.

Without the script a vote goes back to the page (303), a refusal with its reason shown; the
script's in-place form gets the redrawn card with the results, or the reason as a fragment.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.routing import BaseRoute, Route

from solo.actions import ActionError
from solo.actions import polls as poll_actions
from solo.actions.polls import PollDraft
from solo.federation.context import Federation
from solo.web.forms import card_action


def poll_draft(form: FormData) -> PollDraft | None:
    """The compose form's poll, when any option was typed (`poll_option`, repeated)."""
    options = tuple(str(value) for value in form.getlist("poll_option"))
    if not any(option.strip() for option in options):
        return None
    raw = str(form.get("poll_expires_in", "")).strip()
    expires_in = int(raw) if raw.isdigit() and len(raw) < 10 else -1
    return PollDraft(
        options=options, multiple=bool(form.get("poll_multiple")), expires_in=expires_in
    )


def _choices(form: FormData) -> list[int]:
    choices = []
    for value in form.getlist("choice"):
        text = str(value).strip()
        if not text.isdigit() or len(text) > 6:
            raise ActionError("That is not one of the poll's options.")
        choices.append(int(text))
    return choices


async def _vote(federation: Federation, status_id: int, form: FormData) -> None:
    await poll_actions.vote(federation, status_id, _choices(form))


routes: list[BaseRoute] = [
    Route("/statuses/{status_id}/vote", card_action(_vote), methods=["POST"]),
]
