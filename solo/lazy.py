"""Heavy libraries, and the routes of the pages and the client API, imported at their first use
instead of at start.

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
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


class _LazyModule(ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Later lookups find the names here without coming back through __getattr__.
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


def lazy(name: str) -> ModuleType:
    """A stand-in for module `name` that imports it at the first attribute access."""
    return _LazyModule(name)


class LazyRoutes(BaseRoute):
    """Routes whose modules are imported at the first request that reaches them.

    Starlette tries routes in order; this one stands where its routes would stand and behaves
    as they would (the first full match wins, else the first partial one, e.g. a 405), but
    `load` imports them only when a request gets past every route before it: a server that
    only federates never loads the web pages and the client API.
    """

    def __init__(self, load: Callable[[], Sequence[BaseRoute]]) -> None:
        self._load = load
        self._routes: Sequence[BaseRoute] | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        if self._routes is None:
            self._routes = self._load()
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        partial: tuple[Match, Scope] | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, _CHOSEN: route}
            if match is Match.PARTIAL and partial is None:
                partial = match, {**child_scope, _CHOSEN: route}
        return partial or (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_CHOSEN)
        scope["route"] = route
        await route.handle(scope, receive, send)


_CHOSEN = "solo.lazy_route"  # the scope key that carries the matched route to `handle`
