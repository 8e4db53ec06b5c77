"""What draft-cavage and RFC 9421 signatures share: the request's header fields, the accepted
time window, digest comparison, and `PreparedSignature`, which `prepare` hands to `verify`.

The window: the signed time may be at most 1 h ahead of `now` and at most 1 h 5 min behind it
(Mastodon's window); a signed `expires` in the past rejects, and one in the future stretches the
age limit to 12 h + 1 h.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from solo.federation.signature_errors import DigestMismatch, MalformedSignature, SignatureTimeError

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
Scheme = Literal["draft-cavage", "rfc9421"]

CLOCK_SKEW = 3600  # seconds a signed time may be ahead of ours, or past its validity
DEFAULT_VALIDITY = 300  # a signature without expires is good for 5 minutes (plus the skew)
MAX_VALIDITY = 12 * 3600  # a signed expires cannot stretch that beyond 12 hours
DIGESTS: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


@dataclass(frozen=True)
class PreparedSignature:
    """A signature that passed every check that needs no key; `verify` does the rest."""

    scheme: Scheme
    key_id: str
    algorithm: str | None  # a name from rfc9421.ALGORITHMS; None: the key decides
    message: bytes  # the signing string or signature base
    signature: bytes
    # Mastodon also accepts a (request-target) signed without the query (FEDERATION.md A.3).
    fallback_messages: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class VerifiedSignature:
    scheme: Scheme
    key_id: str
    algorithm: str


def header_fields(headers: HeaderInput) -> dict[str, list[str]]:
    """Field values by lowercased name; a field sent on several lines keeps every line."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name.lower(), []).append(value)
    return fields


def joined(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The field's lines joined as one value, or None if the request lacks it."""
    values = fields.get(name)
    if not values:
        return None
    if len(values) == 1:  # nearly always: no generator to join
        return values[0].strip()
    return ", ".join(value.strip() for value in values)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode(text: str) -> bytes:
    """The bytes of a signing string or signature base."""
    # Servers decode header bytes as Latin-1, so encoding back gives the bytes that were sent.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedSignature("a signed header holds characters outside Latin-1") from None


def has_body(method: str, body: bytes) -> bool:
    """Whether the request must sign a digest of its body."""
    return method.upper() == "POST" or bool(body)


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_time(created: float, expires: float | None, now: float) -> None:
    """Refuse a signed time outside the window of the module docstring."""
    if created > now + CLOCK_SKEW:
        raise SignatureTimeError(
            f"signed date {_iso(created)} is more than 1 hour in the future (now {_iso(now)})"
        )
    if expires is not None and now > expires:
        raise SignatureTimeError(f"signature expired at {_iso(expires)} (now {_iso(now)})")
    validity = DEFAULT_VALIDITY if expires is None else MAX_VALIDITY
    if now > created + validity + CLOCK_SKEW:
        raise SignatureTimeError(
            f"signature expired: signed date {_iso(created)} is too old (now {_iso(now)})"
        )


def check_digests(label: str, offered: Mapping[str, bytes], body: bytes) -> None:
    """Refuse unless every digest offered (names from `DIGESTS`) matches the body."""
    for name, given in offered.items():
        computed = DIGESTS[name](body).digest()
        if not hmac.compare_digest(computed, given):
            raise DigestMismatch(
                f"{label} does not match the body: computed {name}={b64(computed)},"
                f" given {b64(given)}"
            )
