"""RFC 9421 HTTP Message Signatures: the message format, without policy.

This module parses the structured fields involved (the subset of RFC 8941 that signatures use:
dictionaries, inner lists, items with parameters), builds the signature base (RFC 9421 §2.5) and
checks a signature with one of the asymmetric algorithms of the registry (§3.3). What a
signature must cover and how old it may be is Solo's policy, in `solo.federation.signatures`.

Bad input raises `FormatError` (a `ValueError`); a signature that does not verify raises
cryptography's `InvalidSignature`; a key that cannot be used with the algorithm raises
`KeyMismatch`. Nothing here catches anything broader.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import SplitResult, parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class FormatError(ValueError):
    """A structured field, component identifier or message that we cannot read."""


class KeyMismatch(ValueError):
    """The key cannot be used with the signature's algorithm (or with any we accept)."""


# --- Structured fields (RFC 8941), the part HTTP signatures need -------------------------------


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


# --- Signature base (§2) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a signature base is computed from: a request, or a response and its request.

    `fields` maps lowercased field names to their field line values in order, as
    `solo.federation.signatures` collects them.
    """

    fields: Mapping[str, Sequence[str]]
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None
    request: Message | None = None


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
# Characters the WHATWG application/x-www-form-urlencoded percent-encode set leaves alone (§2.2.8).
_FORM_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._")


def _form_encode(text: str) -> str:
    return "".join(chr(b) if b in _FORM_SAFE else f"%{b:02X}" for b in text.encode("utf-8"))


def _target(message: Message) -> SplitResult:
    if message.target_uri is None:
        raise FormatError("this message has no target URI (is it a response?)")
    return urlsplit(message.target_uri)


def _derived_value(name: str, params: Params, message: Message) -> str:
    if name == "@method":
        if message.method is None:
            raise FormatError("@method needs a request")
        return message.method
    if name == "@status":
        if message.status is None:
            raise FormatError("@status needs a response")
        return str(message.status)
    if name == "@target-uri":
        _target(message)  # only to fail the same way as the other URI components
        return str(message.target_uri)
    target = _target(message)
    if name == "@authority":
        authority = target.netloc.rpartition("@")[2].lower()
        default_port = _DEFAULT_PORTS.get(target.scheme.lower())
        return authority.removesuffix(default_port) if default_port else authority
    if name == "@scheme":
        return target.scheme.lower()
    if name == "@path":
        return target.path or "/"
    if name == "@query":
        return "?" + target.query
    if name == "@request-target":
        return (target.path or "/") + ("?" + target.query if target.query else "")
    if name == "@query-param":
        wanted = params.get("name")
        if not isinstance(wanted, str):
            raise FormatError('@query-param needs a name="…" parameter')
        values = [
            value for key, value in parse_qsl(target.query, keep_blank_values=True) if key == wanted
        ]
        if len(values) != 1:
            raise FormatError(f"query parameter {wanted!r} must occur exactly once")
        return _form_encode(values[0])
    raise FormatError(f"unknown derived component {name}")


def _field_value(name: str, message: Message) -> str:
    lines = message.fields.get(name.lower())
    if not lines:
        raise FormatError(f"covered field {name!r} is missing from the message")
    return ", ".join(line.strip() for line in lines)


_ALLOWED_PARAMS = {"@query-param": {"name", "req"}}


def component_value(component: Item, message: Message) -> str:
    """The value of one covered component (§2.1, §2.2) in `message`."""
    name = component.value
    if not isinstance(name, str) or isinstance(name, Token):
        raise FormatError("component identifiers are quoted strings")
    derived = name.startswith("@")
    allowed = _ALLOWED_PARAMS.get(name, {"req"})
    # Parameters we do not implement (;sf, ;key, ;bs, ;tr) change the value: guessing is unsafe.
    unknown = set(component.params) - allowed
    if unknown:
        raise FormatError(f"component parameter ;{sorted(unknown)[0]} is not supported")
    if name == "@signature-params":
        raise FormatError("@signature-params cannot be covered")
    if "req" in component.params:
        if component.params["req"] is not True or message.request is None:
            raise FormatError(f"{name};req needs a response and its request")
        message = message.request
    value = (
        _derived_value(name, component.params, message) if derived else _field_value(name, message)
    )
    if "\n" in value or "\r" in value:
        raise FormatError(f"component {name} contains a line break")
    return value


def signature_base(covered: InnerList, message: Message) -> str:
    """The signature base of §2.5 for the components and parameters in `covered`."""
    lines: list[str] = []
    seen: set[str] = set()
    for component in covered.items:
        identifier = serialize_member(component)
        if identifier in seen:
            raise FormatError(f"component {identifier} is covered twice")
        seen.add(identifier)
        lines.append(f"{identifier}: {component_value(component, message)}")
    lines.append(f'"@signature-params": {serialize_member(covered)}')
    return "\n".join(lines)


def string_param(params: Params, name: str) -> str | None:
    """A signature parameter that RFC 9421 defines as a string (keyid, alg, nonce, tag)."""
    value = params.get(name)
    if value is None or (isinstance(value, str) and not isinstance(value, Token)):
        return value
    raise FormatError(f"{name} must be a quoted string")


def integer_param(params: Params, name: str) -> int | None:
    """A signature parameter that RFC 9421 defines as an integer (created, expires)."""
    value = params.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise FormatError(f"{name} must be an integer")


def parse_content_digest(text: str) -> dict[str, bytes]:
    """The digests of a Content-Digest field (RFC 9530), by lowercase algorithm name."""
    digests: dict[str, bytes] = {}
    for name, member in parse_dictionary(text).items():
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise FormatError(f"Content-Digest value for {name} is not a byte sequence")
        digests[name] = member.value
    return digests


# --- Algorithms (§3.3) --------------------------------------------------------------------------

# HMAC is left out on purpose: a remote actor has no shared secret with us.
ALGORITHMS = frozenset({"rsa-v1_5-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256", "ed25519"})


def algorithm_for_key(key: PublicKeyTypes) -> str:
    """The algorithm a key implies when the signature names none (RSA means PKCS#1 v1.5)."""
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa-v1_5-sha256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ecdsa-p256-sha256"
    raise KeyMismatch(f"{type(key).__name__} keys are not supported")


def verify_signature(algorithm: str, key: PublicKeyTypes, message: bytes, signature: bytes) -> None:
    """Raise `InvalidSignature` unless `signature` is `key`'s signature of `message`."""
    if algorithm in ("rsa-v1_5-sha256", "rsa-pss-sha512"):
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyMismatch(f"algorithm {algorithm} needs an RSA key")
        if algorithm == "rsa-v1_5-sha256":
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            key.verify(signature, message, pss, hashes.SHA512())
    elif algorithm == "ed25519":
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyMismatch("algorithm ed25519 needs an Ed25519 key")
        key.verify(signature, message)
    elif algorithm == "ecdsa-p256-sha256":
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise KeyMismatch("algorithm ecdsa-p256-sha256 needs a P-256 key")
        # RFC 9421 sends r || s as two 32-byte integers; cryptography wants DER.
        if len(signature) != 64:
            raise InvalidSignature("an ECDSA P-256 signature is 64 bytes")
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    else:
        raise KeyMismatch(f"algorithm {algorithm!r} is not supported")
