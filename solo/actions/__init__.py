"""What the user does: the services that the web pages and the client API both call."""

from solo.errors import BadRequest


class ActionError(BadRequest):
    """An action that cannot be done as asked; the message is for the user."""


class WrongPassword(ActionError):
    """The password given to confirm an action is not the account's: a guess, which the edge
    counts against the failed-login budget."""
