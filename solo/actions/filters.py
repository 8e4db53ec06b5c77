"""Keyword filters: creating and changing them (web and API alike), and the compiled rules
every listing applies (`rules`).

Sizes are bounded so that the rules stay cheap to compile and to run on every page: at most
MAX_FILTERS filters, MAX_KEYWORDS keywords each and MAX_ALL_KEYWORDS in all, MAX_STATUSES posts
each; a keyword is at most MAX_KEYWORD_LENGTH characters, taken literally (`(a+)+$` matches
those six characters, nothing else). A change that would pass a limit is refused whole
(InvalidFilter, 422) and changes nothing.

The rules are compiled once per change and kept beside the running instance; a filter that
expires stops applying at once (each match checks the time) and the rules are compiled again
on the first read after it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

from solo.actions.filter_rules import Rules
from solo.catalogues import N_, Message
from solo.errors import NotFound, RequestError
from solo.federation.context import Federation
from solo.federation.per_federation import PerFederation
from solo.store import filters as store
from solo.store import statuses as status_store
from solo.store.filters import ACTIONS, CONTEXTS, Filter, FilteredStatus, Keyword

MAX_FILTERS = 200
MAX_KEYWORDS = 100
MAX_ALL_KEYWORDS = 2_000
MAX_STATUSES = 200
MAX_KEYWORD_LENGTH = 200
MAX_TITLE_LENGTH = 200
MAX_EXPIRES_IN = 100 * 365 * 86_400  # past a century it is "for ever" by another name


class InvalidFilter(RequestError):
    """A filter or keyword we refuse: the message says which field and why, in Mastodon's
    words for the API; `sentence` says it for a page (`%(name)s` filled from `values`, and
    translated there)."""

    status = 422

    def __init__(self, field_name: str, reason: str, sentence: str, **values: object) -> None:
        super().__init__(f"Validation failed: {field_name} {reason % values if values else reason}")
        self.field = field_name
        self.sentence = Message(sentence, **values)


def _not_found() -> NotFound:
    return NotFound("Record not found")


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """One entry of `keywords_attributes`: a new keyword (no id), a change, or a removal."""

    id: int | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False


@dataclass(frozen=True, slots=True)
class FilterChange:
    """What a create or update sets; None leaves a field as it is (an update)."""

    title: str | None = None
    contexts: Sequence[str] | None = None
    action: str | None = None
    expires_in: int | None = None
    clear_expiry: bool = False  # `expires_in` given empty: the filter no longer ends
    keywords: Sequence[KeywordChange] = field(default_factory=tuple)


@dataclass
class _Cache:
    rules: Rules | None = None
    version: int = 0  # counts changes, so a load that raced a change is not kept


_cache_of = PerFederation(_Cache)


async def rules(federation: Federation) -> Rules:
    """The filters in force, compiled (read and compiled again only after a change or an
    expiry)."""
    cache = _cache_of(federation)
    now = time.time()
    if cache.rules is not None and not cache.rules.stale(now):
        return cache.rules
    version = cache.version
    compiled = Rules(await store.all_filters(federation.db), now)
    if cache.version == version:
        cache.rules = compiled
    return compiled


def _changed(federation: Federation) -> None:
    cache = _cache_of(federation)
    cache.rules = None
    cache.version += 1


def check_title(title: str | None) -> str:
    text = (title or "").strip()
    if not text:
        raise InvalidFilter("title", "can't be blank", N_("Title can't be blank."))
    if len(text) > MAX_TITLE_LENGTH:
        raise InvalidFilter(
            "title",
            "is too long (maximum is %(limit)s characters)",
            N_("Title is too long (maximum is %(limit)s characters)."),
            limit=MAX_TITLE_LENGTH,
        )
    return text


def check_contexts(contexts: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(c.strip() for c in contexts if c.strip()))
    if not chosen:
        raise InvalidFilter("context", "can't be blank", N_("Context can't be blank."))
    unknown = [c for c in chosen if c not in CONTEXTS]
    if unknown:
        raise InvalidFilter(
            "context",
            "must be some of %(contexts)s (not %(unknown)s)",
            N_("Solo does not know the context “%(unknown)s”. Reload the page and try again."),
            contexts=", ".join(CONTEXTS),
            unknown=unknown[0][:40],
        )
    return chosen


def check_action(action: str | None) -> str:
    chosen = (action or "warn").strip()
    if chosen not in ACTIONS:
        raise InvalidFilter(
            "filter_action", "must be warn or hide", N_("Choose to warn or to hide.")
        )
    return chosen


def check_keyword(keyword: str | None) -> str:
    text = (keyword or "").strip()
    if not text:
        raise InvalidFilter("keyword", "can't be blank", N_("Keyword can't be blank."))
    if len(text) > MAX_KEYWORD_LENGTH:
        raise InvalidFilter(
            "keyword",
            "is too long (maximum is %(limit)s characters)",
            N_("Keyword is too long (maximum is %(limit)s characters)."),
            limit=MAX_KEYWORD_LENGTH,
        )
    return text


def expires_at(expires_in: int | None, now: float) -> float | None:
    if expires_in is None:
        return None
    if not 1 <= expires_in <= MAX_EXPIRES_IN:
        raise InvalidFilter(
            "expires_in",
            "must be between 1 and %(limit)s seconds",
            N_("Choose how long the filter lasts from the list."),
            limit=MAX_EXPIRES_IN,
        )
    return now + expires_in


async def _check_counts(conn: aiosqlite.Connection, filter_id: int) -> None:
    """After a change inside its transaction: refuse it (the caller rolls back) past a cap."""
    if await store.count_keywords(conn, filter_id) > MAX_KEYWORDS:
        raise InvalidFilter(
            "keywords",
            "are too many (at most %(limit)s in a filter)",
            N_("A filter holds at most %(limit)s keywords."),
            limit=MAX_KEYWORDS,
        )
    if await store.count_keywords(conn) > MAX_ALL_KEYWORDS:
        raise InvalidFilter(
            "keywords",
            "are too many (at most %(limit)s in all your filters)",
            N_("Your filters hold at most %(limit)s keywords in all."),
            limit=MAX_ALL_KEYWORDS,
        )


async def _apply_keywords(
    conn: aiosqlite.Connection, filter_id: int, changes: Sequence[KeywordChange]
) -> None:
    if len(changes) > MAX_KEYWORDS * 2:
        raise InvalidFilter(
            "keywords_attributes",
            "has more than %(limit)s items",
            N_("A filter holds at most %(limit)s keywords."),
            limit=MAX_KEYWORDS,
        )
    cursor = await conn.execute("SELECT id FROM filter_keywords WHERE filter_id = ?", (filter_id,))
    own = {row[0] for row in await cursor.fetchall()}
    for change in changes:
        if change.id is not None and change.id not in own:
            raise InvalidFilter(
                "keywords_attributes",
                "names no keyword of this filter (%(id)s)",
                N_("That keyword is not in this filter any more. Reload the page and try again."),
                id=change.id,
            )
        if change.destroy:
            if change.id is not None:
                await store.delete_keyword(conn, change.id)
            continue
        if change.id is None:
            word = check_keyword(change.keyword)
            whole = True if change.whole_word is None else change.whole_word
            await store.insert_keyword(conn, filter_id, word, whole)
            continue
        cursor = await conn.execute(
            "SELECT keyword, whole_word FROM filter_keywords WHERE id = ?", (change.id,)
        )
        row = await cursor.fetchone()
        assert row is not None
        word = row[0] if change.keyword is None else check_keyword(change.keyword)
        whole = bool(row[1]) if change.whole_word is None else change.whole_word
        await store.update_keyword(conn, change.id, word, whole)
    await _check_counts(conn, filter_id)


async def create_filter(federation: Federation, change: FilterChange) -> Filter:
    title = check_title(change.title)
    contexts = check_contexts(change.contexts or ())
    action = check_action(change.action)
    ends = expires_at(change.expires_in, time.time())
    async with federation.db.transaction() as conn:
        if await store.count_filters(conn) >= MAX_FILTERS:
            raise InvalidFilter(
                "filters",
                "are too many (at most %(limit)s)",
                N_("You can have at most %(limit)s filters."),
                limit=MAX_FILTERS,
            )
        filter_id = await store.insert_filter(
            conn, title=title, contexts=contexts, action=action, expires_at=ends
        )
        await _apply_keywords(conn, filter_id, change.keywords)
    _changed(federation)
    return await get_filter(federation, filter_id)


async def get_filter(federation: Federation, filter_id: int) -> Filter:
    found = await store.get_filter(federation.db, filter_id)
    if found is None:
        raise _not_found()
    return found


async def update_filter(federation: Federation, filter_id: int, change: FilterChange) -> Filter:
    current = await get_filter(federation, filter_id)
    title = current.title if change.title is None else check_title(change.title)
    contexts = current.contexts if change.contexts is None else check_contexts(change.contexts)
    action = current.action if change.action is None else check_action(change.action)
    ends = current.expires_at
    if change.clear_expiry:
        ends = None
    elif change.expires_in is not None:
        ends = expires_at(change.expires_in, time.time())
    async with federation.db.transaction() as conn:
        await store.update_filter(
            conn, filter_id, title=title, contexts=contexts, action=action, expires_at=ends
        )
        await _apply_keywords(conn, filter_id, change.keywords)
    _changed(federation)
    return await get_filter(federation, filter_id)


async def delete_filter(federation: Federation, filter_id: int) -> None:
    async with federation.db.transaction() as conn:
        if not await store.delete_filter(conn, filter_id):
            raise _not_found()
    _changed(federation)


async def get_keyword(federation: Federation, keyword_id: int) -> Keyword:
    found = await store.get_keyword(federation.db, keyword_id)
    if found is None:
        raise _not_found()
    return found


async def add_keyword(
    federation: Federation, filter_id: int, keyword: str | None, whole_word: bool
) -> Keyword:
    word = check_keyword(keyword)
    await get_filter(federation, filter_id)
    async with federation.db.transaction() as conn:
        keyword_id = await store.insert_keyword(conn, filter_id, word, whole_word)
        await _check_counts(conn, filter_id)
    _changed(federation)
    return await get_keyword(federation, keyword_id)


async def update_keyword(
    federation: Federation, keyword_id: int, keyword: str | None, whole_word: bool | None
) -> Keyword:
    current = await get_keyword(federation, keyword_id)
    word = current.keyword if keyword is None else check_keyword(keyword)
    whole = current.whole_word if whole_word is None else whole_word
    async with federation.db.transaction() as conn:
        await store.update_keyword(conn, keyword_id, word, whole)
    _changed(federation)
    return await get_keyword(federation, keyword_id)


async def delete_keyword(federation: Federation, keyword_id: int) -> Keyword:
    """Remove a keyword; answers what it was."""
    current = await get_keyword(federation, keyword_id)
    async with federation.db.transaction() as conn:
        await store.delete_keyword(conn, keyword_id)
    _changed(federation)
    return current


async def get_filtered_status(federation: Federation, row_id: int) -> FilteredStatus:
    found = await store.get_status(federation.db, row_id)
    if found is None:
        raise _not_found()
    return found


async def add_status(federation: Federation, filter_id: int, status_id: int) -> FilteredStatus:
    """Name a post in a filter (its boosts match too); naming it twice changes nothing."""
    await get_filter(federation, filter_id)
    status = await status_store.get_status(federation.db, status_id)
    if status is None or status.deleted_at is not None:
        raise InvalidFilter("status_id", "names no post we know", N_("There is no such post here."))
    async with federation.db.transaction() as conn:
        row_id = await store.insert_status(conn, filter_id, status.reblog_of_id or status.id)
        if await store.count_statuses(conn, filter_id) > MAX_STATUSES:
            raise InvalidFilter(
                "statuses",
                "are too many (at most %(limit)s in a filter)",
                N_("A filter holds at most %(limit)s posts."),
                limit=MAX_STATUSES,
            )
    _changed(federation)
    return await get_filtered_status(federation, row_id)


async def delete_status(federation: Federation, row_id: int) -> FilteredStatus:
    current = await get_filtered_status(federation, row_id)
    async with federation.db.transaction() as conn:
        await store.delete_status(conn, row_id)
    _changed(federation)
    return current
