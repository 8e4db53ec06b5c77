"""What the page modules share: the login gate, cursors, fragments for in-place forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from solo.catalogues import N_
from solo.edge.sessions import checked_form, current_account
from solo.errors import BadRequest
from solo.federation.context import federation_of
from solo.store.account import Account
from solo.web.views import AuthorView, Page, local_author

PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 40
T = TypeVar("T")
# Asked by static/app.js: answer with the changed part of the page, not a whole page.
FRAGMENT_TYPE: Final = "text/html-fragment"

LoggedInPage = Callable[[Request, Account], Awaitable[Response]]
FormPage = Callable[[Request, Account, FormData], Awaitable[Response]]


def wants_fragment(request: Request) -> bool:
    return FRAGMENT_TYPE in request.headers.get("accept", "") or (
        request.query_params.get("fragment") == "1"
    )


def login_required(page: LoggedInPage) -> Callable[[Request], Awaitable[Response]]:
    """The page for the logged-in user; others go to the login form (scripts get a 401)."""

    async def endpoint(request: Request) -> Response:
        account = await current_account(request)
        if account is None:
            if wants_fragment(request):
                return PlainTextResponse("Log in first.", status_code=401)
            return RedirectResponse("/login", status_code=303)
        return await page(request, account)

    endpoint.__name__ = page.__name__
    endpoint.__doc__ = page.__doc__
    return endpoint


def form_page(page: FormPage) -> Callable[[Request], Awaitable[Response]]:
    """`login_required` for a form that may carry files: the page gets the form once its CSRF
    token is checked, and the files' temporary copies are closed whatever the page answers."""

    async def with_form(request: Request, account: Account) -> Response:
        form = await checked_form(request)
        try:
            return await page(request, account, form)
        finally:
            await form.close()

    with_form.__name__ = page.__name__
    with_form.__doc__ = page.__doc__
    return login_required(with_form)


def _number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise BadRequest("%(name)s must be a whole number.", name=name)
    return int(raw)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts (`?max_id=`: what is older than this id) and its size (`?limit=`)."""

    max_id: int | None
    limit: int

    @classmethod
    def of(cls, request: Request) -> Cursor:
        limit = _number(request, "limit")
        return cls(_number(request, "max_id"), min(max(limit or PAGE_SIZE, 1), MAX_PAGE_SIZE))

    @property
    def fetch(self) -> int:
        """How many to read: one more than shown tells whether an older page exists."""
        return self.limit + 1

    def split(self, items: list[T]) -> tuple[list[T], bool]:
        """The items to show, and whether there are more."""
        return items[: self.limit], len(items) > self.limit


def older_link(request: Request, cursor: int) -> str:
    """This page's address, moved on to what is older than `cursor`."""
    params = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("max_id", "fragment")
    ]
    params.append(("max_id", str(cursor)))
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params)


def me(request: Request, account: Account) -> AuthorView:
    return local_author(federation_of(request).settings, account)


def page_loader(request: Request, account: Account) -> Page:
    return Page(federation_of(request), me(request, account))


def safe_path(target: str, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default`: an open redirect would let
    links bounce through us."""
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def safe_back(form: FormData, default: str = "/") -> str:
    """Where a form returns to (its `back` field)."""
    return safe_path(str(form.get("back", default)), default)


def page_of(back: str) -> str:
    """The page a `back` path names, without the card it points at."""
    return back.split("#", 1)[0] or "/"


MAX_ROW_ID: Final = 2**63 - 1  # SQLite's largest integer: beyond it no row can exist


NOT_AN_ID: Final = {
    "post": N_("That is not a post id."),
    "request": N_("That is not a request id."),
    "list": N_("That is not a list id."),
    "scheduled post": N_("That is not a scheduled post id."),
    "conversation": N_("That is not a conversation id."),
    "app": N_("That is not an app id."),
}


def id_from(raw: str, what: str = "post") -> int | None:
    """A row id typed into a URL or a form; None when absent, BadRequest when not an id."""
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ROW_ID:
        raise BadRequest(NOT_AN_ID[what])
    return int(raw)
