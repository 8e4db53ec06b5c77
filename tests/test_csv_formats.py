"""Reading Mastodon's CSV exports (tests/fixtures/csv, see SOURCES.md): each kind's columns,
a BOM, CRLF, blank and duplicate lines, lines that cannot be used; and writing them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo.actions.csv_formats import MAX_ROWS, CsvError, parse, write

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
OWN = "solo.example"


def values(kind: str, data: bytes) -> list[dict[str, object]]:
    return [line for _, line, settled in parse(kind, data, OWN) if settled is None]


def test_each_fixture_reads_as_its_kind() -> None:
    following = values("following", (FIXTURES / "following_accounts.csv").read_bytes())
    assert following == [
        {"value": "ann@social.example", "boosts": True, "notify": False, "languages": ""},
        {"value": "bob@mastodon.example", "boosts": False, "notify": True, "languages": "en, de"},
    ]
    blocked = values("blocks", (FIXTURES / "blocked_accounts.csv").read_bytes())
    assert [line["value"] for line in blocked] == ["spammer@bad.example", "troll@worse.example"]
    muted = values("mutes", (FIXTURES / "muted_accounts.csv").read_bytes())
    assert [(line["value"], line["notifications"]) for line in muted] == [
        ("loud@social.example", True),
        ("quiet@mastodon.example", False),
    ]
    domains = values("domain-blocks", (FIXTURES / "blocked_domains.csv").read_bytes())
    assert [line["value"] for line in domains] == ["bad.example", "worse.example"]
    marks = values("bookmarks", (FIXTURES / "bookmarks.csv").read_bytes())
    assert marks[1] == {"value": "https://mastodon.example/@bob/110000000000000002"}
    lists = values("lists", (FIXTURES / "lists.csv").read_bytes())
    assert [(line["list"], line["value"]) for line in lists] == [
        ("Friends", "ann@social.example"),
        ("Friends", "bob@mastodon.example"),
        ("Work", "bob@mastodon.example"),
    ]


def test_a_bom_crlf_blank_lines_and_a_leading_at_are_fine() -> None:
    data = (FIXTURES / "following_accounts.csv").read_bytes().replace(b"\n", b"\r\n")
    data = b"\xef\xbb\xbf" + data.replace(b"ann@", b"@ann@") + b"\r\n\r\n"
    assert [line["value"] for line in values("following", data)] == [
        "ann@social.example",
        "bob@mastodon.example",
    ]
    # A following file may also be a plain list of addresses, as Mastodon takes it.
    assert values("following", b"Ann@Social.Example\r\n")[0]["value"] == "Ann@social.example"


def test_duplicates_are_skipped_and_bad_lines_failed_each_with_why() -> None:
    data = b"Account address\nann@x.test\nANN@X.TEST\nhttps://x.test/@ann\nann@me@x\nbob@x.test\n"
    lines = parse("blocks", data, OWN)
    outcomes = [(number, None if s is None else (s.outcome, s.reason)) for number, _, s in lines]
    assert outcomes == [
        (2, None),
        (3, ("skipped", "listed twice (first on line 2)")),
        (4, ("failed", "not an account address (user@server)")),
        (5, ("failed", "not an account address (user@server)")),
        (6, None),
    ]
    domains = parse("domain-blocks", b"ok.example\n*.wild.example\n" + OWN.encode() + b"\n", OWN)
    assert domains[0][2] is None
    assert domains[1][2] is not None and "wildcards" in domains[1][2].reason
    assert domains[2][2] is not None and "own domain" in domains[2][2].reason


def test_the_line_cap_counts_lines_not_the_header() -> None:
    header = "Account address,Hide notifications\n"
    fits = header + "".join(f"u{i}@h.test,true\n" for i in range(MAX_ROWS))
    assert len(parse("mutes", fits.encode(), OWN)) == MAX_ROWS
    with pytest.raises(CsvError, match="more than 20,000 lines"):
        parse("mutes", (fits + "one@more.test,true\n").encode(), OWN)


def test_a_quote_left_open_is_refused() -> None:
    with pytest.raises(CsvError, match="cannot be read as CSV"):
        parse("lists", b'Friends,a@b.test\n"Open,a@c.test\n' + b"x" * 200_000, OWN)


def test_written_as_mastodon_writes_it() -> None:
    text = write(("Account address", "Hide notifications"), [("a@b.test", True), ("c@d", False)])
    assert text == "Account address,Hide notifications\na@b.test,true\nc@d,false\n"
    assert write(None, [("Work, and more", "a@b.test")]) == '"Work, and more",a@b.test\n'
