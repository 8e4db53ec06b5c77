"""JSON from outside (inbox bodies, fetched documents, API bodies, WebSocket messages), parsed
by one function so that every door refuses the same things, each with a message for a person.

`json.loads` recurses once per level of nesting: about a thousand levels raise RecursionError,
and a few hundred parse but make later code (sanitizing, `json.dumps` into a job, templates)
recurse out instead. JSON's escapes can also spell lone surrogates (`"\\ud800"`), which parse
into text that UTF-8 (SQLite, pages) cannot encode. NaN and Infinity are not JSON at all.

The checks cost a walk of the parsed value, so it is done only when the raw text could hold a
problem: more brackets than levels allowed, or a surrogate escape. A usual activity has neither.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

# ActivityStreams documents nest a Create, its object, a tag or attachment, its url Links…
# far less deep than this; an API body nests much less (it passes its own limit).
MAX_DEPTH: Final = 64
_SURROGATE_BYTES: Final = re.compile(rb"\\u[dD][89abAB]")
_SURROGATE_TEXT: Final = re.compile(r"\\u[dD][89abAB]")
_LITERAL_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class BadJSON(ValueError):
    """Not JSON, or JSON Solo refuses. The message completes "The body …" or "The message …"."""


def _not_a_number(name: str) -> Any:
    raise BadJSON(f"holds {name}, which is not a JSON number")


def _suspicious(data: bytes | str, max_depth: int) -> bool:
    if isinstance(data, bytes):
        brackets = data.count(b"[") + data.count(b"{")
        return brackets >= max_depth or _SURROGATE_BYTES.search(data) is not None
    brackets = data.count("[") + data.count("{")
    return (
        brackets >= max_depth
        or _SURROGATE_TEXT.search(data) is not None
        or _LITERAL_SURROGATE.search(data) is not None
    )


def problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed value cannot be used: nested `max_depth` containers deep or more, or holding
    text that is not valid Unicode; None when it is sound. Walks iteratively (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return "holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return f"is nested deeper than {max_depth} levels"
            children = [*item, *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return None


# One decoder for every call: `json.loads` with `parse_constant` builds a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_not_a_number)


def _loads(data: bytes | str) -> Any:
    """As `json.loads(data, parse_constant=_not_a_number)`."""
    if isinstance(data, bytes):
        return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    if data.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    return _DECODER.decode(data)


def parse(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a JSON text from outside; `BadJSON` says why it is refused."""
    try:
        value = _loads(data)
    except RecursionError:
        raise BadJSON(f"is nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise BadJSON("is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise BadJSON(
            f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if _suspicious(data, max_depth):
        found = problem(value, max_depth)
        if found is not None:
            raise BadJSON(found)
    return value


def parse_object(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """As `parse`, for a text that must be a JSON object."""
    value = parse(data, max_depth=max_depth)
    if not isinstance(value, dict):
        raise BadJSON("is JSON, but not an object")
    return value
