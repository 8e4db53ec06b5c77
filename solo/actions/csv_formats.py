"""Mastodon's CSV exports, read and written: following, blocks, mutes, domain blocks, bookmarks,
lists (Mastodon's `Export` model and its `Form::Import`).

| kind | Mastodon's file | columns |
|---|---|---|
| following | following_accounts.csv | `Account address,Show boosts,Notify on new posts,Languages` |
| blocks | blocked_accounts.csv | one address a line, no header |
| mutes | muted_accounts.csv | `Account address,Hide notifications` |
| domain-blocks | blocked_domains.csv | one domain a line, no header (or the admin `#domain,…`) |
| bookmarks | bookmarks.csv | one post URI a line, no header |
| lists | lists.csv | `List name,Account address`, no header |

As Mastodon does, a file whose first cell is a known header is read by its header, and any
other file by the kind's default columns. A file is checked whole before anything is stored:
too large, more than MAX_ROWS lines, not UTF-8 text, not CSV, another kind's header, or no
usable line at all is refused with why. A BOM and CRLF line ends are fine. Single lines that
cannot be used (not an address, listed twice) are kept as failed or skipped with the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Final

from solo.actions import ActionError
from solo.actions.blocklists import BlocklistError
from solo.actions.blocklists import parse as parse_blocklist
from solo.actions.domain_blocks import InvalidDomain, normalize
from solo.actions.follows import HANDLE_RE
from solo.catalogues import N_, Message
from solo.store.csv_imports import Settled

KINDS: Final = ("following", "blocks", "mutes", "domain-blocks", "bookmarks", "lists")
MODES: Final = ("merge", "overwrite")
MAX_BYTES: Final = 4 * 1024 * 1024
MAX_ROWS: Final = 20_000  # Mastodon's ROWS_PROCESSING_LIMIT
MAX_CELL: Final = 2_000
FILENAMES: Final = {
    "following": "following_accounts.csv",
    "blocks": "blocked_accounts.csv",
    "mutes": "muted_accounts.csv",
    "domain-blocks": "blocked_domains.csv",
    "bookmarks": "bookmarks.csv",
    "lists": "lists.csv",
}
LABELS: Final = {
    "following": N_("Follows"),
    "blocks": N_("Blocked accounts"),
    "mutes": N_("Muted accounts"),
    "domain-blocks": N_("Blocked domains"),
    "bookmarks": N_("Bookmarks"),
    "lists": N_("Lists"),
}
ADDRESS: Final = "Account address"
FOLLOWING_HEADER: Final = (ADDRESS, "Show boosts", "Notify on new posts", "Languages")
MUTES_HEADER: Final = (ADDRESS, "Hide notifications")
KNOWN_FIRST: Final = (ADDRESS, "#domain", "#uri", "List name")
DEFAULT_HEADER: Final = {
    "following": (ADDRESS,),
    "blocks": (ADDRESS,),
    "mutes": (ADDRESS,),
    "bookmarks": ("#uri",),
    "lists": ("List name", ADDRESS),
}
# A column that only one kind's export has: a file with it is that kind's.
TELLING: Final = {"Show boosts": "following", "Hide notifications": "mutes", "List name": "lists"}
FALSE: Final = frozenset({"false", "0", "f", "off", "no", "n"})

Parsed = list[tuple[int, dict[str, Any], Settled | None]]


class CsvError(ActionError):
    """A file refused whole: nothing of it was stored or applied."""


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CsvError(
            "%(kind)s is not something Solo imports; choose one of %(choices)s.",
            kind=repr(kind),
            choices=", ".join(KINDS),
        )
    return kind


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CsvError(
            "The file is larger than %(limit)s MB; Mastodon's exports of "
            "%(max_rows)s lines fit well within that.",
            limit=MAX_BYTES // 1048576,
            max_rows=format(MAX_ROWS, ","),
        )
    if b"\x00" in data:
        raise CsvError("This is not a text file. Import a CSV file exported from Mastodon.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError(
            "This file is not UTF-8 text. Import a CSV file exported from Mastodon."
        ) from None
    if not text.strip():
        raise CsvError("The file is empty.")
    return text


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the lines that are not blank, at most MAX_ROWS of them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS + 1:  # a header and MAX_ROWS lines are fine
                raise CsvError(
                    "The file has more than %(max_rows)s lines; at most %(max_rows)s are "
                    "taken at once (as on Mastodon). Split it and import the parts.",
                    max_rows=format(MAX_ROWS, ","),
                )
            rows.append((reader.line_num, [cell.strip()[:MAX_CELL] for cell in cells]))
    except csv.Error as error:
        raise CsvError("The file cannot be read as CSV: %(error)s.", error=error) from None
    return rows


def account_address(text: str) -> str | None:
    """`user@server` as Mastodon writes it (a leading @ is fine), lowercase server; None if
    the text is no address."""
    match = HANDLE_RE.match(text.strip())
    if match is None:
        return None
    return f"{match.group(1)}@{match.group(2).lower()}"


def _flag(text: str, default: bool) -> bool:
    value = text.strip().lower()
    return default if not value else value not in FALSE


def _value(kind: str, cells: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """A line's values, and why it cannot be used (None when it can)."""
    if kind == "bookmarks":
        uri = cells.get("#uri", "")
        ok = uri.startswith(("https://", "http://")) and " " not in uri
        return {"value": uri}, None if ok else N_("not the address of a post (https://…)")
    written = cells.get(ADDRESS, "")
    address = account_address(written)
    data: dict[str, Any] = {"value": address or written}
    why = None if address else N_("not an account address (user@server)")
    if kind == "following":
        data["boosts"] = _flag(cells.get("Show boosts", ""), True)
        data["notify"] = _flag(cells.get("Notify on new posts", ""), False)
        data["languages"] = cells.get("Languages", "")
    elif kind == "mutes":
        data["notifications"] = _flag(cells.get("Hide notifications", ""), True)
    elif kind == "lists":
        data["list"] = cells.get("List name", "")[:100]
        if not data["list"] and why is None:
            why = N_("no list name")
    return data, why


def _header(kind: str, rows: list[tuple[int, list[str]]]) -> tuple[tuple[str, ...], bool]:
    """The columns, and whether the first row is the header."""
    first = rows[0][1]
    if first[0] not in KNOWN_FIRST:
        return DEFAULT_HEADER[kind], False
    header = tuple(first)
    for column, other in TELLING.items():
        if column in header and other != kind:
            raise CsvError(
                "This looks like Mastodon's “%(found)s” export (it has a “%(column)s” column),"
                " not “%(chosen)s”. Choose “%(found)s”.",
                found=Message(LABELS[other]),
                column=column,
                chosen=Message(LABELS[kind]),
            )
    missing = [name for name in DEFAULT_HEADER[kind] if name not in header]
    if missing:
        raise CsvError(
            "The header (%(header)s) has no %(missing)s column: this is not Mastodon's"
            " “%(chosen)s” export.",
            header=", ".join(header),
            missing=" or ".join(missing),
            chosen=Message(LABELS[kind]),
        )
    return header, True


def _domain_lines(data: bytes, own_domain: str) -> Parsed:
    try:
        rows = parse_blocklist(data)
    except BlocklistError as error:
        raise CsvError(error.message) from None
    parsed: Parsed = []
    for number, written, _, _ in rows:
        try:
            parsed.append((number, {"value": normalize(written, own_domain)}, None))
        except InvalidDomain as error:
            failed = Settled(number, "failed", str(error))
            parsed.append((number, {"value": written[:MAX_CELL]}, failed))
    return parsed


def parse(kind: str, data: bytes, own_domain: str) -> Parsed:
    """The lines of a Mastodon export of `kind` as (line, values, outcome when settled
    already); raises CsvError, for a person, when the file cannot be imported as that kind."""
    check_kind(kind)
    if kind == "domain-blocks":
        parsed = _domain_lines(data, own_domain)
    else:
        rows = _rows(_text(data))
        if not rows:
            raise CsvError("The file is empty.")
        header, has_header = _header(kind, rows)
        if has_header:
            rows = rows[1:]
        parsed = []
        for number, cells in rows:
            values, why = _value(kind, dict(zip(header, cells, strict=False)))
            if why is not None and not has_header and not parsed:
                raise CsvError(
                    "The first line (%(line)s) is neither a header of Mastodon's “%(chosen)s”"
                    " export nor %(expected)s.",
                    line=", ".join(cells)[:80],
                    chosen=Message(LABELS[kind]),
                    expected=_expected(kind),
                )
            parsed.append((number, values, None if why is None else Settled(number, "failed", why)))
    if not parsed:
        raise CsvError("The file has a header and nothing else.")
    if all(settled is not None for _, _, settled in parsed):
        raise CsvError(
            "No line of this file is %(expected)s; nothing was imported.", expected=_expected(kind)
        )
    return _mark_duplicates(kind, parsed)


EXPECTED: Final = {
    "domain-blocks": N_("a domain"),
    "bookmarks": N_("the address of a post"),
    "lists": N_("a list name and an account address"),
}


def _expected(kind: str) -> Message:
    return Message(EXPECTED.get(kind, N_("an account address (user@server)")))


def _mark_duplicates(kind: str, parsed: Parsed) -> Parsed:
    seen: dict[tuple[str, str], int] = {}
    marked: Parsed = []
    for number, values, settled in parsed:
        key = (str(values.get("list", "")), str(values["value"]).lower())
        if settled is None and key in seen:
            settled = Settled(number, "skipped", f"listed twice (first on line {seen[key]})")
        elif settled is None:
            seen[key] = number
        marked.append((number, values, settled))
    return marked


def write(header: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> str:
    """CSV as Mastodon writes it: `\\n` line ends, true/false for flags."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow(
            [("true" if cell else "false") if isinstance(cell, bool) else cell for cell in row]
        )
    return out.getvalue()
