"""Blocklists in and out: Mastodon's `blocked_domains.csv`, or a plain list of domains.

Mastodon's export has the header `#domain,#severity,#reject_media,#reject_reports,
#public_comment,#obfuscate`. Solo's blocks are Mastodon's `suspend`: rows of severity `silence`
or `noop` are skipped with that reason (Solo has no partial block); `#public_comment` becomes the
block's reason. Without that header, each line is one domain (text after a comma or a `#` is
ignored, so a plain list may carry comments).

An import is read whole before anything is blocked: a file that is not text, has no `#domain`
column, or is too large is refused with why, and nothing of it is applied. Then every valid new
domain is blocked in ONE transaction, and the result counts what was added and what was skipped
and why (already blocked, listed twice, invalid, our own domain, severity).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from solo.actions import ActionError
from solo.actions.domain_blocks import InvalidDomain, block, clean_reason, normalize
from solo.catalogues import N_, Message
from solo.federation.context import Federation
from solo.store import domain_blocks as store

MAX_BYTES: Final = 2 * 1024 * 1024
MAX_LINES: Final = 20_000
HEADER: Final = (
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
)
# How many skipped lines an answer names one by one; the rest are only counted.
SHOWN_SKIPS: Final = 50
# Why a line was skipped, as the summary counts them ("2 invalid").
INVALID: Final = Message(N_("invalid"))
OWN_DOMAIN: Final = Message(N_("our own domain"))
TWICE: Final = Message(N_("listed twice"))
ALREADY: Final = Message(N_("already blocked"))


@dataclass(frozen=True)
class Skipped:
    line: int
    text: str
    why: str


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # the first SHOWN_SKIPS
    reasons: Counter[str] = field(default_factory=Counter)  # why → how many

    @property
    def skipped_count(self) -> int:
        return sum(self.reasons.values())

    def skip(self, line: int, text: str, why: str, detail: str = "") -> None:
        """Count a skipped line under `why`; the first few are kept with `detail`."""
        self.reasons[why] += 1
        if len(self.skipped) < SHOWN_SKIPS:
            self.skipped.append(Skipped(line, text[:100], detail or why))

    def summary(self) -> Message:
        """One sentence for a person: what was added, what was skipped and why."""
        added = len(self.added)
        if not self.reasons:
            return Message.counted("%(num)s domain blocked.", "%(num)s domains blocked.", added)
        counts = self.reasons.most_common()
        # "2 invalid, 1 listed twice": a template of placeholders only, the same in every
        # language (gettext gives it back as it is), its reasons translated.
        placeholders = ", ".join(f"%(count{n})s %(why{n})s" for n in range(len(counts)))
        values: dict[str, object] = {f"count{n}": count for n, (_, count) in enumerate(counts)}
        values.update({f"why{n}": why for n, (why, _) in enumerate(counts)})
        parts = Message(placeholders, **values)
        return Message.counted(
            "%(num)s domain blocked; %(skipped)s skipped (%(reasons)s).",
            "%(num)s domains blocked; %(skipped)s skipped (%(reasons)s).",
            added,
            skipped=self.skipped_count,
            reasons=parts,
        )


class BlocklistError(ActionError):
    """A file refused whole: nothing of it was applied."""


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise BlocklistError(
            "The file is larger than %(limit)s MB; a blocklist of %(max_lines)s"
            " domains fits well within that. Split it and import the parts.",
            limit=MAX_BYTES // 1048576,
            max_lines=format(MAX_LINES, ","),
        )
    if b"\x00" in data:
        raise BlocklistError(
            "This is not a text file. Import a CSV (Mastodon's blocked_domains.csv)"
            " or a list of domains, one per line."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BlocklistError(
            "This file is not UTF-8 text. Import a CSV (Mastodon's blocked_domains.csv)"
            " or a list of domains, one per line."
        ) from None
    if not text.strip():
        raise BlocklistError("The file is empty.")
    return text


def parse(data: bytes) -> list[tuple[int, str, str, str]]:
    """The rows of a blocklist as (line, domain as written, severity, comment); raises
    BlocklistError when the file cannot be a blocklist."""
    lines = _text(data).splitlines()
    filled = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if len(filled) > MAX_LINES:
        raise BlocklistError(
            "The file has %(count)s lines; at most %(max_lines)s are taken at once."
            " Split it and import the parts.",
            count=format(len(filled), ","),
            max_lines=format(MAX_LINES, ","),
        )
    first = filled[0][1].strip()
    # A header row: Mastodon's (`#domain,#severity,…`), or another CSV's, refused below.
    if first.startswith(("#domain", "domain,")) or (first.startswith("#") and "," in first):
        return _csv(filled)
    rows = []
    for number, line in filled:
        value = line.split("#", 1)[0].split(",", 1)[0].strip()
        if value:
            rows.append((number, value, "suspend", ""))
    return rows


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _csv(filled: list[tuple[int, str]]) -> list[tuple[int, str, str, str]]:
    reader = csv.reader(io.StringIO("\n".join(line for _, line in filled)))
    try:
        header = [name.strip().lstrip("#").lower() for name in next(reader)]
        if "domain" not in header:
            raise BlocklistError("The CSV has no #domain column.")
        at = {name: header.index(name) for name in header}
        rows = []
        for (number, _), row in zip(filled[1:], reader, strict=False):
            severity = _cell(row, at.get("severity")).lower() or "suspend"
            rows.append(
                (number, _cell(row, at["domain"]), severity, _cell(row, at.get("public_comment")))
            )
    except csv.Error as error:
        raise BlocklistError("The CSV cannot be read: %(error)s.", error=error) from None
    return rows


async def import_blocklist(federation: Federation, data: bytes) -> ImportResult:
    """Block the domains of a blocklist file; see the module for what is skipped."""
    rows = parse(data)
    result = ImportResult()
    wanted: dict[str, str] = {}
    lines: dict[str, tuple[int, str]] = {}  # domain → where it was written, and how
    own = federation.settings.domain
    for number, written, severity, comment in rows:
        if severity not in ("suspend", ""):
            result.skip(
                number,
                written,
                Message("of severity %(severity)s", severity=severity[:20]),
                Message(
                    "severity %(severity)s: Solo's blocks are all full (suspend) blocks",
                    severity=severity[:20],
                ),
            )
            continue
        try:
            domain = normalize(written, own)
        except InvalidDomain as error:
            own_domain = "own domain" in error.message.template
            result.skip(number, written, OWN_DOMAIN if own_domain else INVALID, error.message)
            continue
        if domain in wanted:
            result.skip(number, written, TWICE)
            continue
        wanted[domain] = clean_reason(comment)
        lines[domain] = (number, written)
    for domain in sorted(await store.existing(federation.db, list(wanted)), key=lambda d: lines[d]):
        del wanted[domain]
        result.skip(*lines[domain], ALREADY)
    result.added = await block(federation, list(wanted.items()))
    return result


def export_csv(blocks: list[store.DomainBlock]) -> str:
    """Mastodon's `blocked_domains.csv` of these blocks (all of severity suspend)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for item in blocks:
        writer.writerow((item.domain, "suspend", "true", "true", item.reason, "false"))
    return out.getvalue()
