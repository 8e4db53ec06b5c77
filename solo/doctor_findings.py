"""What `solo doctor` reports: findings, each in English for the CLI and in its reader's
language on the `/server/doctor` page.

A finding's message and fix are English with `%(name)s` placeholders, marked with N_ for
`make messages`; its values (host names, URLs, numbers, nginx lines) are kept apart, so that a
page translates the text and then fills them in as they are. The report stored as JSON keeps
both, so the page can show a run of the CLI in any language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from solo.catalogues import N_

Level = Literal["ok", "warn", "fail"]
Value = str | int | float
GB: Final = 1024**3

# The checks' titles. TLS, WebFinger, host-meta, NodeInfo and X-Forwarded-* are names, the same
# in every language.
ADDRESS: Final = N_("Address")
PUBLIC_URL: Final = N_("Public URL")
ACTOR: Final = N_("Actor")
SIGNED_POST: Final = N_("Signed POST")
CLOCK: Final = N_("Clock")
DISK: Final = N_("Disk")


def english(message: str) -> str:
    return message


def english_value(name: str, value: Value) -> str:
    """A value as the CLI prints it (a page writes numbers and sizes its language's way)."""
    if name.endswith("_bytes") and isinstance(value, int | float):
        return f"{value / GB:.1f} GB"
    return str(value)


@dataclass(frozen=True)
class Finding:
    """What a check found. `message` and `fix` are English with `%(name)s` placeholders for
    `values`; a value named `*_bytes` is a size in bytes, any other number a plain number."""

    check: str
    level: Level
    message: str
    fix: str = ""
    values: Mapping[str, Value] = field(default_factory=dict)

    def said(
        self,
        text: str,
        gettext: Callable[[str], str] = english,
        shown: Callable[[str, Value], str] = english_value,
    ) -> str:
        """`text` (this finding's message or fix) through `gettext`, then filled in."""
        translated = gettext(text)
        if not self.values or not text:
            return translated
        filled = {name: shown(name, value) for name, value in self.values.items()}
        try:
            return translated % filled
        except (KeyError, ValueError, TypeError):  # a report edited by hand, or from elsewhere
            return text

    @property
    def text(self) -> str:
        """The message in English, filled in."""
        return self.said(self.message)

    @property
    def fix_text(self) -> str:
        return self.said(self.fix)

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "level": self.level,
            "message": self.message,
            "fix": self.fix,
            "values": dict(self.values),
        }

    @classmethod
    def from_json(cls, data: Any) -> Finding | None:
        """A stored finding, or None when it is not one (an older report's finding has no
        values: its texts are already filled in, and show in English)."""
        if not isinstance(data, dict) or data.get("level") not in ("ok", "warn", "fail"):
            return None
        values = data.get("values", {})
        if not isinstance(values, dict):
            return None
        return cls(
            str(data["check"]),
            data["level"],
            str(data["message"]),
            str(data.get("fix", "")),
            {
                str(name): value if isinstance(value, int | float | str) else str(value)
                for name, value in values.items()
            },
        )
