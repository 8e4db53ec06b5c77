"""Heavy libraries imported at their first use instead of at start.

An idle Solo should cost a Raspberry Pi little memory (issue 15: ≤ 45 MB after start), and some
libraries cost megabytes that many runs never need, or not in the first minutes: cryptography's
OpenSSL binding alone adds 7.5 MB of RSS, for signatures and passwords that wait for the first
delivery, the first signed request or the first login. `lazy(name)` returns a stand-in module that
imports the real one at the first attribute access. It is the one sanctioned way to defer an
import; it is not for dodging import cycles between our own modules (DESIGN.md forbids that).

Use it beside a `TYPE_CHECKING` import, so that mypy and readers see the real module:

    if TYPE_CHECKING:
        from cryptography.hazmat.primitives import hashes
    else:
        hashes = lazy("cryptography.hazmat.primitives.hashes")

and reach names through the module (`hashes.SHA256()`), never `from … import` them, which would
import at once. Thread-safe: the import system's module locks serialise the first import, and a
lookup that races with it finds the name on the real module.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Later lookups find the names here without coming back through __getattr__.
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


def lazy(name: str) -> ModuleType:
    """A stand-in for module `name` that imports it at the first attribute access."""
    return _LazyModule(name)
