"""Where templates and static files are: in the package when installed, else atop the checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _find(installed: str, checkout: str) -> Path:
    for candidate in (PACKAGE_DIR / installed, PACKAGE_DIR.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"cannot find the {checkout}/ folder beside {PACKAGE_DIR}")


def templates_dir() -> Path:
    return _find("_templates", "templates")


def static_dir() -> Path:
    return _find("_static", "static")


def locale_dir() -> Path:
    """The translations: solo/locale/<language>/LC_MESSAGES/messages.po, and messages.pot."""
    return PACKAGE_DIR / "locale"
