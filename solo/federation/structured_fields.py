"""RFC 8941 structured fields: the part HTTP message signatures need.

Dictionaries, inner lists and items with parameters, parsed from a field value and serialized
back (RFC 9421 builds its signature base from the serialized form). Bad input raises
`FormatError`, a `ValueError`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal


class FormatError(ValueError):
    """A structured field, component identifier or message that we cannot read."""


class Token(str):
    """An sf-token, kept apart from sf-string because the two serialize differently."""

    __slots__ = ()


BareItem = bool | int | Decimal | str | bytes
Params = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member = Item | InnerList

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


class _Reader:
    """A cursor over one field value; each method consumes what it parses."""

    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise FormatError("structured fields are ASCII only")
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip(self, chars: str) -> None:
        while not self.at_end() and self.text[self.pos] in chars:
            self.pos += 1

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            raise FormatError(f"expected {what} at position {self.pos}")
        self.pos = found.end()
        return found.group()

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise FormatError(f"expected {char!r} at position {self.pos}")
        self.pos += 1

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == '"':
            return self.string()
        if char == ":":
            self.pos += 1
            encoded = self.match(_BASE64, "base64") if self.peek() != ":" else ""
            self.expect(":")
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error as error:
                raise FormatError(f"invalid byte sequence: {error}") from None
        if char == "?":
            self.pos += 1
            flag = self.peek()
            if flag not in ("0", "1"):
                raise FormatError(f"invalid boolean at position {self.pos}")
            self.pos += 1
            return flag == "1"
        if char == "-" or char.isdigit():
            number = self.match(_NUMBER, "a number")
            whole, _, fraction = number.lstrip("-").partition(".")
            if len(whole) > (12 if fraction else 15) or len(fraction) > 3:
                raise FormatError(f"number out of range: {number}")
            return Decimal(number) if fraction else int(number)
        if char == "*" or char.isalpha():
            return Token(self.match(_TOKEN, "a token"))
        raise FormatError(f"unexpected {char or 'end of field'!r} at position {self.pos}")

    def string(self) -> str:
        self.expect('"')
        chars: list[str] = []
        while True:
            char = self.peek()
            self.pos += 1
            if char == "":
                raise FormatError("unterminated string")
            if char == '"':
                return "".join(chars)
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise FormatError(f"invalid escape at position {self.pos}")
                self.pos += 1
                chars.append(escaped)
            elif " " <= char <= "~":
                chars.append(char)
            else:
                raise FormatError(f"invalid character in string at position {self.pos - 1}")

    def params(self) -> Params:
        params: Params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.match(_KEY, "a parameter name")
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return params

    def member(self) -> Member:
        if self.peek() != "(":
            return Item(self.bare_item(), self.params())
        self.pos += 1
        items: list[Item] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(Item(self.bare_item(), self.params()))
            if self.peek() not in (" ", ")"):
                raise FormatError(f"expected ' ' or ')' at position {self.pos}")


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an sf-dictionary such as Signature-Input, Signature or Content-Digest."""
    reader = _Reader(text)
    reader.skip(" ")
    members: dict[str, Member] = {}
    while not reader.at_end():
        key = reader.match(_KEY, "a dictionary key")
        if reader.peek() == "=":
            reader.pos += 1
            members[key] = reader.member()
        else:
            members[key] = Item(True, reader.params())
        reader.skip(" \t")
        if reader.at_end():
            break
        reader.expect(",")
        reader.skip(" \t")
        if reader.at_end():
            raise FormatError("trailing comma")
    return members


def serialize_bare_item(value: BareItem) -> str:
    # bool before int: Python's bool is an int.
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = f"{value.quantize(Decimal('0.001')):f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def serialize_params(params: Params) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={serialize_bare_item(value)}"
        for key, value in params.items()
    )


def serialize_member(member: Member) -> str:
    if isinstance(member, InnerList):
        inner = " ".join(serialize_member(item) for item in member.items)
        return f"({inner}){serialize_params(member.params)}"
    return serialize_bare_item(member.value) + serialize_params(member.params)
