"""What the full-text index holds for a post, and the temporary triggers that keep it in step.

The index (`status_search`, FTS5 with `unicode61 remove_diacritics 2`: case and accents folded)
has one row per stored post, keyed by the status id: `body` is the sanitized HTML as plain text,
`cw` the content warning, `extra` the alt text of its media and its poll options; `props` (not
indexed) says whether the post carries a link.

Plain text comes from Python (`solo_search_text`), which the SQL of a schema trigger cannot call
on every connection; so the triggers are TEMP triggers on the writer connection, made when the
database opens, as `Database.watch` does. Every write to statuses, media and polls goes through
that writer, and so every create, edit and delete reaches the index in its own transaction.

unicode61 does not split Chinese or Japanese (a run of kanji and kana is one "word"), so runs of
CJK letters are indexed as overlapping bigrams, the last letter of a run also alone: "日本語"
becomes "日本 本語 語". A query word goes through the same cut (`query_tokens`), so any
substring of two or more letters is found as a phrase, and a single letter as a prefix.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import unicodedata
from typing import Final

_BLOCK_TAG: Final = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|blockquote|h[1-6]|pre)\b[^>]*>", re.I
)
_ANY_TAG: Final = re.compile(r"<[^>]*>")
_ANCHOR: Final = re.compile(r"<a\b([^>]*)>", re.I)
_CLASS: Final = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
# Han (with extensions and compatibility forms), kana, Hangul, and the marks between them.
CJK_RUN: Final = re.compile(
    "[\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
    "\uf900-\ufaff\U00020000-\U0003134f]+"
)
# Enough text of one post to find it by; beyond this a remote post is not worth more index.
MAX_INDEXED: Final = 20_000


def _bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) == 1:
        return f" {run} "
    pairs = [run[i : i + 2] for i in range(len(run) - 1)]
    return " " + " ".join([*pairs, run[-1]]) + " "


def index_text(text: object) -> str:
    """Plain text as the index keeps it: NFKC (full-width letters, half-width kana), CJK runs
    cut into bigrams. Never raises: it runs inside the triggers of every post write."""
    if not isinstance(text, str) or not text:
        return ""
    normal = unicodedata.normalize("NFKC", text[:MAX_INDEXED])
    return CJK_RUN.sub(_bigrams, normal)


def html_text(content: object) -> str:
    """The words of sanitized HTML: tags out, entities decoded, blocks kept apart."""
    if not isinstance(content, str) or not content:
        return ""
    spaced = _BLOCK_TAG.sub(" ", content[: MAX_INDEXED * 2])
    return html.unescape(_ANY_TAG.sub("", spaced))


def has_link(content: object) -> bool:
    """Whether sanitized HTML links somewhere other than a mention or a hashtag."""
    if not isinstance(content, str):
        return False
    for anchor in _ANCHOR.finditer(content):
        found = _CLASS.search(anchor.group(1))
        classes = (found.group(1) or found.group(2) or "").split() if found else []
        if "mention" not in classes and "hashtag" not in classes:
            return True
    return False


def poll_titles(options_json: object) -> str:
    """The option titles of a poll row, one text."""
    if not isinstance(options_json, str):
        return ""
    try:
        options = json.loads(options_json)
    except ValueError:
        return ""
    if not isinstance(options, list):
        return ""
    return " ".join(str(option.get("title", "")) for option in options if isinstance(option, dict))


def query_tokens(term: str) -> str:
    """A query word or phrase cut as the index cuts text, without the lone last letter of a
    CJK run (the index has the bigram that starts there)."""

    def pairs(match: re.Match[str]) -> str:
        run = match.group(0)
        if len(run) == 1:
            return f" {run} "
        return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "

    return CJK_RUN.sub(pairs, unicodedata.normalize("NFKC", term))


def _body(content: object) -> str:
    return index_text(html_text(content))


def _props(content: object) -> str:
    return "link" if has_link(content) else ""


_EXTRA = (
    "solo_search_text(coalesce((SELECT group_concat(description, ' ') FROM main.media"
    " WHERE status_id = {id}), '') || ' ' || coalesce((SELECT solo_poll_titles(options_json)"
    " FROM main.polls WHERE status_id = {id}), ''))"
)
INDEXABLE = "{s}.reblog_of_id IS NULL AND {s}.deleted_at IS NULL"
# One row of the index for a status row `s` (of the statuses table or a trigger's NEW).
ROW = (
    "INSERT OR REPLACE INTO status_search (rowid, body, cw, extra, props)"
    " SELECT {s}.id, solo_search_body({s}.content_html), solo_search_text({s}.summary), "
    + _EXTRA.format(id="{s}.id")
    + ", solo_search_props({s}.content_html)"
)

_TRIGGERS: Final = (
    (
        "status_search_insert",
        "AFTER INSERT ON main.statuses WHEN " + INDEXABLE.format(s="NEW"),
        ROW.format(s="NEW") + ";",
    ),
    (
        "status_search_update",
        "AFTER UPDATE OF content_html, summary, deleted_at, reblog_of_id ON main.statuses",
        "DELETE FROM status_search WHERE rowid = OLD.id; "
        + ROW.format(s="NEW")
        + " WHERE "
        + INDEXABLE.format(s="NEW")
        + ";",
    ),
    (
        "status_search_delete",
        "AFTER DELETE ON main.statuses",
        "DELETE FROM status_search WHERE rowid = OLD.id;",
    ),
)


def _extra_refresh(table: str, event: str, rows: tuple[str, ...], when: str = "") -> str:
    updates = " ".join(
        f"UPDATE status_search SET extra = {_EXTRA.format(id=f'{r}.status_id')}"
        f" WHERE rowid = {r}.status_id;"
        for r in rows
    )
    return (
        f"CREATE TEMP TRIGGER IF NOT EXISTS status_search_{table}_{event.split()[0].lower()}"
        f" AFTER {event} ON main.{table} {when} BEGIN {updates} END"
    )


def install(conn: sqlite3.Connection) -> None:
    """Register the text functions and make the triggers on the writer connection `conn`."""
    conn.create_function("solo_search_text", 1, index_text, deterministic=True)
    conn.create_function("solo_search_body", 1, _body, deterministic=True)
    conn.create_function("solo_search_props", 1, _props, deterministic=True)
    conn.create_function("solo_poll_titles", 1, poll_titles, deterministic=True)
    for name, when, body in _TRIGGERS:
        conn.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS {name} {when} BEGIN {body} END")
    conn.execute(_extra_refresh("media", "INSERT", ("NEW",)))
    conn.execute(_extra_refresh("media", "UPDATE OF description, status_id", ("OLD", "NEW")))
    conn.execute(_extra_refresh("media", "DELETE", ("OLD",)))
    conn.execute(_extra_refresh("polls", "INSERT", ("NEW",)))
    conn.execute(
        _extra_refresh(
            "polls",
            "UPDATE OF options_json",
            ("NEW",),
            # Each vote rewrites the counts; only a change of the titles is worth an index write.
            "WHEN solo_poll_titles(OLD.options_json) IS NOT solo_poll_titles(NEW.options_json)",
        )
    )
    conn.execute(_extra_refresh("polls", "DELETE", ("OLD",)))
