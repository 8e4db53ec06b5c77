"""Every user-facing string of every template goes through gettext: a failing test names the
template, the line and the text left in English."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import nodes

from solo.edge.templating import make_environment
from solo.paths import templates_dir

# Text that is the same in every language: the brand, symbols, units of a format.
ALLOWED = {"Solo", "ALT", "RSS", "Atom", "CSV", "OK", "UTC", "LitePub"}
VISIBLE_ATTRIBUTES = {
    "title",
    "placeholder",
    "aria-label",
    "alt",
    "aria-description",
    "data-done",  # what the live region says after an action (static/app.js)
    "data-confirm",
    "data-local",
}
TRANSLATORS = {"_", "gettext", "ngettext"}
# Templates whose strings are not all wrapped yet (a merge may bring some): expected to fail,
# strictly, so a template fully wrapped must leave this set.
PENDING: set[str] = set()
LETTERS = re.compile(r"[^\W\d_]{2,}")
PLACEHOLDER = "\x00"

TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
COMMENT = re.compile(r"{#.*?#}", re.S)
STREAM = re.compile(r"{%-?\s*block stream\s*-?%}.*?{%-?\s*endblock", re.S)  # a name, not text
EXPRESSION = re.compile(r"{{.*?}}", re.S)
STATEMENT = re.compile(r"{%.*?%}", re.S)


def templates() -> list[pytest.ParameterSet]:
    return [
        pytest.param(
            path,
            id=path.name,
            marks=[pytest.mark.xfail(strict=True)] if path.name in PENDING else [],
        )
        for path in sorted(templates_dir().glob("*.html"))
    ]


def stripped(source: str) -> str:
    """The template's HTML with Jinja taken out (line breaks kept, so lines still match)."""

    def blank(match: re.Match[str]) -> str:
        return PLACEHOLDER + "\n" * match.group(0).count("\n")

    def nothing(match: re.Match[str]) -> str:
        return "\n" * match.group(0).count("\n")

    source = COMMENT.sub(nothing, source)
    source = STREAM.sub(nothing, source)
    source = TRANS_BLOCK.sub(blank, source)
    source = EXPRESSION.sub(blank, source)
    return STATEMENT.sub(nothing, source)


def words(text: str) -> bool:
    """True when `text` holds words someone reads, not just symbols or allowed names."""
    text = text.replace(PLACEHOLDER, " ")
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return any(word not in ALLOWED for word in LETTERS.findall(text))


class Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[int, str]] = []
        self.skipping = 0  # inside <code>, <script>, <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "script", "style", "kbd"):
            self.skipping += 1
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and values.get("type") in ("submit", "button", "reset")
            )
            if visible and words(value):
                self.found.append((self.getpos()[0], f"{tag}[{name}]={value!r}"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style", "kbd") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and words(data):
            self.found.append((self.getpos()[0], repr(data.strip())))


def literal_labels(source: str) -> list[tuple[int, str]]:
    """String constants in Jinja expressions that read as text (a label passed to a macro, an
    `or "default"`), outside gettext calls."""
    tree = make_environment().parse(source)
    found: list[tuple[int, str]] = []

    def visit(node: nodes.Node) -> None:
        if (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in TRANSLATORS
        ):
            return
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            value = node.value
            if re.search(r"[A-Z][a-z]|[a-z] [a-z]", value) and words(value):
                found.append((node.lineno, repr(value)))
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize("path", templates())
def test_template_strings_are_translated(path: Path) -> None:
    source = path.read_text()
    finder = Finder()
    finder.feed(stripped(source))
    finder.close()
    found = sorted(finder.found + literal_labels(source))
    assert not found, f"{path.name}: wrap in _() or {{% trans %}}:\n" + "\n".join(
        f"  line {line}: {text}" for line, text in found
    )


def test_the_check_catches_plain_text_and_attributes() -> None:
    finder = Finder()
    finder.feed(
        stripped(
            '<p>{{ _("Fine") }}</p><p>Not fine</p><input placeholder="Your name">'
            "<b>{% trans %}Also fine{% endtrans %}</b> <span>Solo ·</span>"
            '<input type="submit" value="Send">'
        )
    )
    assert [text for _line, text in finder.found] == [
        "'Not fine'",
        "input[placeholder]='Your name'",
        "input[value]='Send'",
    ]
    assert literal_labels('{{ m.action(v, "favourite", "Favourite") }}{{ _("Ok then") }}') == [
        (1, "'Favourite'")
    ]
