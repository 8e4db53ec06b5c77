"""Draft-cavage HTTP signatures (`Signature` header): the format and Solo's policy for it.

`prepare_signature` applies, besides the time window of `solo.federation.signature_checks`:

- `(request-target)` and `host` are signed (Misskey CVE-2023-49079);
- `date` or `(created)` is signed, `(created)` and `(expires)` only with hs2019;
- a POST, or any request with a body, signs `digest`, whose SHA-256 must match the body (a
  SHA-512 offered too is checked).

Signing outgoing requests, and the entry points, are in `solo.federation.signatures`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from solo.federation.signature_checks import (
    DIGESTS,
    HeaderInput,
    PreparedSignature,
    b64,
    check_digests,
    check_time,
    encode,
    has_body,
    header_fields,
    joined,
)
from solo.federation.signature_errors import (
    DigestMismatch,
    MalformedSignature,
    SignaturePolicyError,
    UnsupportedAlgorithm,
)


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of a draft-cavage `Signature` header."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


# The quoted string is unrolled (runs of plain characters, then one escape at a time): the
# same language as `(?:[^"\\]|\\.)*`, in half the time on a typical header.
_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*"
    r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s,"]+))[ \t]*'
)
_ESCAPE = re.compile(r"\\(.)")


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_USUAL = frozenset(("keyId", "algorithm", "headers", "signature", "created", "expires"))
_STAMPS = frozenset(("created", "expires", "(created)", "(expires)"))


def _plain_params(value: str) -> dict[str, str] | None:
    """The parameters of a header in the form every server sends, `name="value",…` with no
    spaces, escapes or tokens, found with `str.find` (the regexes walk the 344 characters of
    a signature one at a time); None for anything else, which `_parse_params` reads or refuses.
    What this returns is what `_parse_params` would."""
    if "\\" in value:
        return None
    found: dict[str, str] = {}
    pos = 0
    end = len(value)
    while True:
        equals = value.find('="', pos)
        if equals < 0:
            return None
        name = value[pos:equals]
        close = value.find('"', equals + 2)
        if close < 0 or name in found or (name not in _USUAL and _NAME.fullmatch(name) is None):
            return None
        found[name] = value[equals + 2 : close]
        pos = close + 1
        if pos == end:
            return found
        if value[pos] != ",":
            return None
        pos += 1


def _parse_params(value: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(value, pos)
        if match is None:
            raise MalformedSignature(f"Signature header could not be parsed at position {pos}")
        name, quoted, token = match.groups()
        if name in found:
            raise MalformedSignature(f"Signature header has {name} twice")
        if quoted is None:
            found[name] = token
        else:
            found[name] = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
        if pos == len(value):
            break
        if value[pos] != ",":
            raise MalformedSignature(f"Signature header could not be parsed at position {pos}")
        pos += 1
    return found


def parse_signature_header(value: str) -> SignatureParams:
    """Parse a draft-cavage `Signature` header value (not the `Authorization: Signature` form)."""
    found = _plain_params(value)
    if found is None:
        found = _parse_params(value)
    if not found.get("keyId") or not found.get("signature"):
        raise MalformedSignature("Signature header needs keyId and signature")
    try:
        signature = base64.b64decode(found["signature"], validate=True)
    except binascii.Error:
        raise MalformedSignature("signature is not base64") from None
    # Without a headers parameter the draft signs the Date header alone.
    headers = tuple(found.get("headers", "date").lower().split())
    if not headers:
        raise MalformedSignature("headers parameter is empty")
    stamps: dict[str, int] = {}
    if _STAMPS.isdisjoint(found) and _STAMPS.isdisjoint(headers):
        return SignatureParams(found["keyId"], found.get("algorithm"), headers, signature)
    for name in ("created", "expires"):
        if name in found and not re.fullmatch(r"[0-9]{1,15}", found[name]):
            raise MalformedSignature(f"{name} must be a Unix time in seconds")
        if name in found:
            stamps[name] = int(found[name])
        elif f"({name})" in headers:
            raise MalformedSignature(f"({name}) is signed but the {name} parameter is missing")
    return SignatureParams(found["keyId"], found.get("algorithm"), headers, signature, **stamps)


def signing_string(
    method: str,
    target: str,
    fields: Mapping[str, Sequence[str]],
    names: Iterable[str],
    created: int | None,
    expires: int | None,
) -> str:
    """The signing string over `names`, from fields collected by `header_fields`."""
    lines = []
    for name in names:
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            stamp = created if name == "(created)" else expires
            if stamp is None:
                raise MalformedSignature(f"{name} is signed but its parameter is missing")
            value = str(stamp)
        else:
            field_value = joined(fields, name)
            if field_value is None:
                raise MalformedSignature(f"{name} header is signed but missing from the request")
            value = field_value
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def cavage_signing_string(
    method: str, target: str, headers: HeaderInput, params: SignatureParams
) -> str:
    """The draft-cavage signing string of a request for the headers `params` lists."""
    return signing_string(
        method, target, header_fields(headers), params.headers, params.created, params.expires
    )


def _http_date(fields: Mapping[str, Sequence[str]]) -> float:
    value = joined(fields, "date")
    if value is None:
        raise MalformedSignature("date header is signed but missing from the request")
    when = _parse_http_date(value)
    if when is None:
        raise MalformedSignature(f"Date header is not an HTTP date: {value!r}")
    return when


# Requests arriving in the same second carry the same Date: parse each value once.
@functools.lru_cache(maxsize=256)
def _parse_http_date(value: str) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _check_digest_header(value: str | None, body: bytes) -> None:
    if value is None:
        raise DigestMismatch("Digest header is signed but missing")
    if value.startswith("SHA-256=") and value[8:] == b64(hashlib.sha256(body).digest()):
        return  # as every server sends it, and matching; anything else is read in full
    offered: dict[str, bytes] = {}
    names = []
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep:
            raise MalformedSignature(f"Digest header could not be parsed: {value!r}")
        name = name.strip().lower()
        names.append(name)
        if name in DIGESTS:
            try:
                offered[name] = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise MalformedSignature(f"Digest {name} value is not base64") from None
    if "sha-256" not in offered:
        raise DigestMismatch(f"Digest must include SHA-256 (offered: {', '.join(names)})")
    check_digests("Digest", offered, body)


def prepare_signature(
    method: str, target: str, fields: dict[str, list[str]], body: bytes, now: float
) -> PreparedSignature:
    """Parse and check a request's `Signature` header; `fields` as `header_fields` returns."""
    if len(fields["signature"]) != 1:
        raise MalformedSignature("the request has more than one Signature header")
    params = parse_signature_header(fields["signature"][0])
    algorithm = (params.algorithm or "hs2019").lower()
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise UnsupportedAlgorithm(
            f"algorithm {params.algorithm!r} is not supported; use rsa-sha256 or hs2019"
        )
    signed = set(params.headers)
    if algorithm != "hs2019" and signed & {"(created)", "(expires)"}:
        raise SignaturePolicyError("(created) and (expires) can only be signed with hs2019")
    # Only signed times count: an unsigned created parameter could make a replay look fresh.
    expires = params.expires if "(expires)" in signed else None
    if "(created)" in signed and params.created is not None:
        created: float = params.created
    elif "date" in signed:
        created = _http_date(fields)
    else:
        raise SignaturePolicyError("date header not signed (nor (created))")
    check_time(created, expires, now)
    for required in ("(request-target)", "host"):
        if required not in signed:
            raise SignaturePolicyError(f"{required} header not signed")
    if has_body(method, body) and "digest" not in signed:
        raise SignaturePolicyError("Digest header not signed (required on a POST)")
    if "digest" in signed:
        _check_digest_header(joined(fields, "digest"), body)
    targets = [target]
    if "?" in target and "(request-target)" in signed:
        targets.append(target.partition("?")[0])
    texts = [
        encode(signing_string(method, t, fields, params.headers, params.created, params.expires))
        for t in targets
    ]
    return PreparedSignature(
        "draft-cavage",
        params.key_id,
        "rsa-v1_5-sha256",
        texts[0],
        params.signature,
        tuple(texts[1:]),
    )
