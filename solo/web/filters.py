"""The keyword filters' settings pages: the list with a form for a new filter, and one page
per filter to change or delete it. Plain forms: keywords are rows (text, whole word, remove)
with a few empty rows for new ones, so nothing needs a script.

    GET  /settings/filters              the filters, and a form for a new one
    POST /settings/filters              create
    GET  /settings/filters/{id}         change one
    POST /settings/filters/{id}         save it
    POST /settings/filters/{id}/delete  delete it
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from solo.actions import filters as actions
from solo.actions.filters import FilterChange, InvalidFilter, KeywordChange
from solo.catalogues import N_
from solo.edge.i18n import gettext_for, ngettext_for
from solo.edge.sessions import checked_form
from solo.edge.templating import flash, render
from solo.errors import NotFound
from solo.federation.context import federation_of
from solo.store import filters as store
from solo.store.account import Account
from solo.store.filters import Filter
from solo.web.common import login_required

NEW_ROWS: Final = 3  # empty keyword rows a form offers (save to get more)
CONTEXT_LABELS: Final = {
    "home": N_("Home timeline (and lists)"),
    "notifications": N_("Notifications"),
    "public": N_("Local, federated and hashtag timelines"),
    "thread": N_("Threads"),
    "account": N_("Profiles"),
}
CONTEXT_SHORT: Final = {
    "home": N_("Home"),
    "notifications": N_("Notifications"),
    "public": N_("Public timelines"),
    "thread": N_("Threads"),
    "account": N_("Profiles"),
}
# Durations offered, as Mastodon's form: seconds → label.
EXPIRIES: Final = {
    "": N_("Never"),
    "1800": N_("In 30 minutes"),
    "3600": N_("In 1 hour"),
    "21600": N_("In 6 hours"),
    "43200": N_("In 12 hours"),
    "86400": N_("In 1 day"),
    "604800": N_("In 1 week"),
}
KEEP: Final = "keep"  # the edit form's "leave the end as it is"


@dataclass(frozen=True)
class KeywordRow:
    id: str  # "" for a new one
    keyword: str
    whole_word: bool = True
    remove: bool = False


@dataclass(frozen=True)
class FilterForm:
    """What a form shows: a saved filter, or what was typed when it was refused."""

    title: str = ""
    contexts: tuple[str, ...] = ("home", "public", "thread", "account", "notifications")
    action: str = "warn"
    expires: str = ""
    rows: list[KeywordRow] = field(default_factory=list)

    @classmethod
    def of(cls, found: Filter) -> FilterForm:
        rows = [KeywordRow(str(k.id), k.keyword, k.whole_word) for k in found.keywords]
        return cls(found.title, found.contexts, found.action, KEEP, _padded(rows))

    @classmethod
    def typed(cls, form: FormData) -> FilterForm:
        count = min(_int(form.get("rows")), actions.MAX_KEYWORDS + NEW_ROWS)
        rows = [
            KeywordRow(
                str(form.get(f"keyword_id_{i}", "")),
                str(form.get(f"keyword_{i}", "")),
                bool(form.get(f"whole_{i}")),
                bool(form.get(f"remove_{i}")),
            )
            for i in range(count)
        ]
        return cls(
            str(form.get("title", "")),
            tuple(str(c) for c in form.getlist("context")),
            str(form.get("action", "warn")),
            str(form.get("expires", "")),
            rows,
        )

    def change(self, editing: bool) -> FilterChange:
        keywords = []
        for row in self.rows:
            row_id = int(row.id) if row.id.isdigit() and len(row.id) < 19 else None
            if row_id is None:
                if row.keyword.strip() and not row.remove:
                    keywords.append(KeywordChange(keyword=row.keyword, whole_word=row.whole_word))
                continue
            if row.remove or not row.keyword.strip():
                keywords.append(KeywordChange(id=row_id, destroy=True))
            else:
                keywords.append(
                    KeywordChange(id=row_id, keyword=row.keyword, whole_word=row.whole_word)
                )
        keep = editing and self.expires == KEEP
        if not keep and self.expires not in EXPIRIES:
            raise InvalidFilter(
                "expiry",
                "must be one of the durations offered",
                N_("Expiry must be one of the durations offered."),
            )
        return FilterChange(
            title=self.title,
            contexts=list(self.contexts),
            action=self.action,
            expires_in=None if keep or not self.expires else int(self.expires),
            clear_expiry=not keep and not self.expires,
            keywords=keywords,
        )


def _message(error: InvalidFilter) -> str:
    """What a page says of the refusal (the API's is "Validation failed: keyword can't be
    blank"), translated by the page."""
    return error.sentence


def _int(value: object) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 6 else 0


def _padded(rows: list[KeywordRow]) -> list[KeywordRow]:
    return rows + [KeywordRow("", "")] * NEW_ROWS


def _ends(request: Request, found: Filter, now: float) -> str:
    _, ngettext = gettext_for(request), ngettext_for(request)
    if found.expires_at is None:
        return _("Never ends")
    if found.expired(now):
        return _("Expired")
    left = found.expires_at - now
    if left >= 86_400:
        days = int(left // 86_400)
        return ngettext("Ends in %(num)s day", "Ends in %(num)s days", days) % {"num": days}
    if left >= 3_600:
        hours = int(left // 3_600)
        return ngettext("Ends in %(num)s hour", "Ends in %(num)s hours", hours) % {"num": hours}
    if left >= 60:
        minutes = int(left // 60)
        return ngettext("Ends in %(num)s minute", "Ends in %(num)s minutes", minutes) % {
            "num": minutes
        }
    return _("Ends in less than a minute")


def _common(**values: Any) -> dict[str, Any]:
    return {
        "context_labels": CONTEXT_LABELS,
        "context_short": CONTEXT_SHORT,
        "expiries": EXPIRIES,
        "max_keywords": actions.MAX_KEYWORDS,
        "max_keyword_length": actions.MAX_KEYWORD_LENGTH,
        "max_title_length": actions.MAX_TITLE_LENGTH,
        "error": None,
        **values,
    }


async def _list_page(
    request: Request, form: FilterForm | None = None, error: str | None = None, status: int = 200
) -> Response:
    found = await store.all_filters(federation_of(request).db)
    now = time.time()
    values = _common(
        filters=[(f, _ends(request, f, now)) for f in found],
        form=form or FilterForm(rows=_padded([])),
        error=error,
        max_filters=actions.MAX_FILTERS,
    )
    return render(request, "filters.html", values, status=status)


@login_required
async def filters_page(request: Request, account: Account) -> Response:
    return await _list_page(request)


@login_required
async def create(request: Request, account: Account) -> Response:
    typed = FilterForm.typed(await checked_form(request))
    try:
        made = await actions.create_filter(federation_of(request), typed.change(editing=False))
    except InvalidFilter as error:
        return await _list_page(request, typed, _message(error), error.status)
    flash(request, "The filter “%(title)s” is saved.", title=made.title)
    return RedirectResponse("/settings/filters", status_code=303)


def _filter_id(request: Request) -> int:
    raw = str(request.path_params["filter_id"])
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("There is no such filter.")
    return int(raw)


async def _edit_page(
    request: Request,
    found: Filter,
    form: FilterForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    values = _common(
        filter=found,
        ends=_ends(request, found, time.time()),
        form=form or FilterForm.of(found),
        error=error,
    )
    return render(request, "filter_edit.html", values, status=status)


async def _existing(request: Request) -> Filter:
    found = await store.get_filter(federation_of(request).db, _filter_id(request))
    if found is None:
        raise NotFound("There is no such filter: it may have been deleted.")
    return found


@login_required
async def edit_page(request: Request, account: Account) -> Response:
    return await _edit_page(request, await _existing(request))


@login_required
async def save(request: Request, account: Account) -> Response:
    typed = FilterForm.typed(await checked_form(request))
    found = await _existing(request)
    try:
        saved = await actions.update_filter(
            federation_of(request), found.id, typed.change(editing=True)
        )
    except InvalidFilter as error:
        return await _edit_page(request, found, typed, _message(error), error.status)
    flash(request, "The filter “%(title)s” is saved.", title=saved.title)
    return RedirectResponse(f"/settings/filters/{saved.id}", status_code=303)


@login_required
async def delete(request: Request, account: Account) -> Response:
    await checked_form(request)
    found = await _existing(request)
    await actions.delete_filter(federation_of(request), found.id)
    flash(request, "The filter “%(title)s” is deleted.", title=found.title)
    return RedirectResponse("/settings/filters", status_code=303)


routes: list[BaseRoute] = [
    Route("/settings/filters", filters_page, methods=["GET", "HEAD"]),
    Route("/settings/filters", create, methods=["POST"]),
    Route("/settings/filters/{filter_id}", edit_page, methods=["GET", "HEAD"]),
    Route("/settings/filters/{filter_id}", save, methods=["POST"]),
    Route("/settings/filters/{filter_id}/delete", delete, methods=["POST"]),
]
