"""RFC 9421 HTTP Message Signatures (`Signature-Input` with `Signature`): format and policy.

The format: the signature base (RFC 9421 §2.5), built from structured fields parsed by
`solo.federation.structured_fields`, and a signature checked with one of the asymmetric
algorithms of the registry (§3.3). Bad input raises `FormatError` (a `ValueError`); a signature
that does not verify raises cryptography's `InvalidSignature`; a key that cannot be used with the
algorithm raises `KeyMismatch`. Nothing here catches anything broader.

Solo's policy, in `prepare_signature`, besides the time window of
`solo.federation.signature_checks`:

- only the first signature is used, and `created` is required;
- `@method` and `@target-uri`, or `@method`, `@authority` and `@path`, are signed;
- a POST, or any request with a body, signs `content-digest`, and its sha-256 or sha-512 must
  match the body.

Refusals there are `SignatureError`s; the entry points are in `solo.federation.signatures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl, urlsplit

from solo.federation.signature_checks import (
    DIGESTS,
    PreparedSignature,
    check_digests,
    check_time,
    encode,
    has_body,
    joined,
)
from solo.federation.signature_errors import (
    DigestMismatch,
    MalformedSignature,
    SignaturePolicyError,
    UnsupportedAlgorithm,
)
from solo.federation.structured_fields import (
    BareItem,
    FormatError,
    InnerList,
    Item,
    Member,
    Params,
    Token,
    parse_dictionary,
    serialize_bare_item,
    serialize_member,
    serialize_params,
)
from solo.lazy import lazy

if TYPE_CHECKING:
    from cryptography import exceptions
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
else:  # at the first signature checked, not at start (see solo.lazy)
    exceptions = lazy("cryptography.exceptions")
    hashes = lazy("cryptography.hazmat.primitives.hashes")
    ec = lazy("cryptography.hazmat.primitives.asymmetric.ec")
    ed25519 = lazy("cryptography.hazmat.primitives.asymmetric.ed25519")
    padding = lazy("cryptography.hazmat.primitives.asymmetric.padding")
    rsa = lazy("cryptography.hazmat.primitives.asymmetric.rsa")
    asym_utils = lazy("cryptography.hazmat.primitives.asymmetric.utils")
# The structured-field names are re-exported: callers and tests use them through this module.
__all__ = [
    "ALGORITHMS",
    "BareItem",
    "FormatError",
    "InnerList",
    "Item",
    "KeyMismatch",
    "Member",
    "Message",
    "Params",
    "Token",
    "algorithm_for_key",
    "component_value",
    "integer_param",
    "parse_content_digest",
    "parse_dictionary",
    "prepare_signature",
    "serialize_bare_item",
    "serialize_member",
    "serialize_params",
    "signature_base",
    "string_param",
    "verify_signature",
]


class KeyMismatch(ValueError):
    """The key cannot be used with the signature's algorithm (or with any we accept)."""


# --- Signature base (§2) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a signature base is computed from: a request, or a response and its request.

    `fields` maps lowercased field names to their field line values in order, as
    `solo.federation.signature_checks.header_fields` collects them.
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
            raise exceptions.InvalidSignature("an ECDSA P-256 signature is 64 bytes")
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        key.verify(asym_utils.encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    else:
        raise KeyMismatch(f"algorithm {algorithm!r} is not supported")


# --- Policy -------------------------------------------------------------------------------------


def _check_content_digest(value: str | None, body: bytes) -> None:
    if value is None:
        raise DigestMismatch("Content-Digest header is signed but missing")
    try:
        digests = parse_content_digest(value)
    except FormatError as error:
        raise MalformedSignature(f"Content-Digest could not be parsed: {error}") from None
    offered = {name: digest for name, digest in digests.items() if name in DIGESTS}
    if not offered:
        raise DigestMismatch(
            f"Content-Digest must include sha-256 or sha-512 (offered: {', '.join(digests)})"
        )
    check_digests("Content-Digest", offered, body)


def prepare_signature(
    method: str, target: str, fields: dict[str, list[str]], body: bytes, now: float, scheme: str
) -> PreparedSignature:
    """Parse and check a request's RFC 9421 signature; `fields` as `header_fields` returns."""
    try:
        inputs = parse_dictionary(joined(fields, "signature-input") or "")
        values = parse_dictionary(joined(fields, "signature") or "")
    except FormatError as error:
        raise MalformedSignature(
            f"Signature-Input or Signature could not be parsed: {error}"
        ) from None
    if not inputs:
        raise MalformedSignature("Signature-Input is empty")
    # Like Mastodon, only the first signature is used; others may be a proxy's, not the sender's.
    label, covered = next(iter(inputs.items()))
    signature = values.get(label)
    if not isinstance(covered, InnerList):
        raise MalformedSignature(f"Signature-Input {label} is not a list of components")
    if not isinstance(signature, Item) or not isinstance(signature.value, bytes):
        raise MalformedSignature(f"Signature has no byte sequence for {label}")
    try:
        key_id = string_param(covered.params, "keyid")
        algorithm = string_param(covered.params, "alg")
        created = integer_param(covered.params, "created")
        expires = integer_param(covered.params, "expires")
    except FormatError as error:
        raise MalformedSignature(f"Signature-Input {label}: {error}") from None
    if not key_id:
        raise MalformedSignature(f"Signature-Input {label} has no keyid")
    if algorithm is not None and algorithm.startswith("hmac"):
        raise UnsupportedAlgorithm("HMAC signatures are not accepted from remote servers")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {algorithm!r} is not supported")
    if created is None:
        raise SignaturePolicyError("created parameter is required (a Unix time in seconds)")
    check_time(created, expires, now)
    # Components with parameters (";req", ";key") are other values, so they do not count here.
    names = {
        item.value.lower()
        for item in covered.items
        if isinstance(item.value, str) and not item.params
    }
    if "@method" not in names or not ("@target-uri" in names or {"@authority", "@path"} <= names):
        raise SignaturePolicyError("@method and @target-uri must be signed")
    if has_body(method, body) and "content-digest" not in names:
        raise SignaturePolicyError("Content-Digest header not signed (required on a POST)")
    if "content-digest" in names:
        _check_content_digest(joined(fields, "content-digest"), body)
    host = joined(fields, "host")
    if host is None:
        raise MalformedSignature("the request has no Host header")
    message = Message(fields, method=method, target_uri=f"{scheme}://{host}{target}")
    try:
        base = signature_base(covered, message)
    except FormatError as error:
        raise MalformedSignature(str(error)) from None
    return PreparedSignature("rfc9421", key_id, algorithm, encode(base), signature.value)
