"""HTTP signatures: signing what Solo sends, checking what it receives.

Outgoing requests carry a draft-cavage `rsa-sha256` signature (FEDERATION.md A.1-A.3), added by
`HTTPSignatureAuth` on an httpx client, or computed directly with `sign_headers`.

Incoming requests are checked in two steps, so that the caller can fetch the key in between:

    prepared = prepare(method, target, headers, body, now=time.time())  # parsing and policy
    key = ...  # from the cache, or fetched from prepared.key_id
    verified = verify(prepared, key)  # the cryptography

Both draft-cavage (`Signature`) and RFC 9421 (`Signature-Input` with `Signature`) are accepted;
the RFC 9421 format lives in `solo.federation.rfc9421`, the policy for both lives here:

- `(request-target)` and `host` are signed (Misskey CVE-2023-49079); for RFC 9421, `@method` and
  `@target-uri`, or `@method`, `@authority` and `@path`.
- `date` or `(created)` is signed (RFC 9421: `created` is required). The signed time may be at
  most 1 h ahead of `now` and at most 1 h 5 min behind it (Mastodon's window); a signed
  `expires` in the past rejects, and one in the future stretches the age limit to 12 h + 1 h.
- A POST, or any request with a body, signs `digest` (RFC 9421: `content-digest`), and its
  SHA-256 (RFC 9421: sha-256 or sha-512) must match the body; a SHA-512 offered too is checked.

Every refusal is a `SignatureError`, which is an `Unauthorized`: the web edge answers 401 with
its message, written for the admin of the sending server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import Literal

import cryptography.exceptions
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from solo.errors import Unauthorized
from solo.federation import rfc9421

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
PublicKeyInput = PublicKeyTypes | str | bytes
Scheme = Literal["draft-cavage", "rfc9421"]

CLOCK_SKEW = 3600  # seconds a signed time may be ahead of ours, or past its validity
DEFAULT_VALIDITY = 300  # a signature without expires is good for 5 minutes (plus the skew)
MAX_VALIDITY = 12 * 3600  # a signed expires cannot stretch that beyond 12 hours
_DIGESTS: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


class SignatureError(Unauthorized):
    """A request signature Solo refuses; the message is for the sending server's admin."""


class SignatureMissing(SignatureError):
    """The request is not signed at all (a caller may treat it as anonymous)."""


class MalformedSignature(SignatureError):
    """A signature header, parameter or signed value that cannot be read."""


class UnsupportedAlgorithm(SignatureError):
    """An algorithm Solo does not accept, or one that does not fit the key."""


class SignaturePolicyError(SignatureError):
    """A header or component Solo requires is not signed, or the signed Host is not Solo's."""


class SignatureTimeError(SignatureError):
    """The signed time is outside the accepted window."""


class DigestMismatch(SignatureError):
    """The Digest or Content-Digest is missing, unusable or does not match the body."""


class BadSignature(SignatureError):
    """The signature does not verify with the key."""


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of a draft-cavage `Signature` header."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


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


def _fields(headers: HeaderInput) -> dict[str, list[str]]:
    """Field values by lowercased name; a field sent on several lines keeps every line."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name.lower(), []).append(value)
    return fields


def _joined(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    return None if not values else ", ".join(value.strip() for value in values)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode(text: str) -> bytes:
    # Servers decode header bytes as Latin-1, so encoding back gives the bytes that were sent.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedSignature("a signed header holds characters outside Latin-1") from None


# --- Outgoing -----------------------------------------------------------------------------------


def _check_key_id(key_id: str) -> None:
    if not key_id or '"' in key_id or "\\" in key_id:
        raise ValueError(f"cannot put key id {key_id!r} in a Signature header")


def sign_headers(
    method: str,
    url: str | httpx.URL,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: float | None = None,
) -> dict[str, str]:
    """The headers that sign a request with draft-cavage rsa-sha256.

    Returns `Host` and `Date` when `headers` lacks them, `Digest` for a POST or any request with a
    body, and `Signature`, which covers `(request-target) host date`, plus `digest content-type`
    when there is a body (content-type only if the request has one).
    """
    _check_key_id(key_id)
    target = httpx.URL(url)
    fields = _fields(headers)
    added: dict[str, str] = {}
    if "host" not in fields:
        added["Host"] = target.netloc.decode("ascii")  # keeps a non-default port
    if "date" not in fields:
        added["Date"] = formatdate(time.time() if now is None else now, usegmt=True)
    signed = ["(request-target)", "host", "date"]
    if body or method.upper() == "POST":
        added["Digest"] = "SHA-256=" + _b64(hashlib.sha256(body).digest())
        signed.append("digest")
        if "content-type" in fields:
            signed.append("content-type")
    fields.update((name.lower(), [value]) for name, value in added.items())
    text = _signing_string(method, target.raw_path.decode("ascii"), fields, signed, None, None)
    signature = private_key.sign(_encode(text), padding.PKCS1v15(), hashes.SHA256())
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(signed)}",'
        f'signature="{_b64(signature)}"'
    )
    return added


class HTTPSignatureAuth(httpx.Auth):
    """Signs every request of an httpx client as `key_id` (draft-cavage rsa-sha256)."""

    requires_request_body = True  # the Digest needs the body before the request is sent

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        _check_key_id(key_id)
        self.key_id = key_id
        self.private_key = private_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(
            sign_headers(
                request.method,
                request.url,
                request.headers,
                request.content,
                key_id=self.key_id,
                private_key=self.private_key,
            )
        )
        yield request


# --- Incoming: draft-cavage ---------------------------------------------------------------------

_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))[ \t]*'
)


def parse_signature_header(value: str) -> SignatureParams:
    """Parse a draft-cavage `Signature` header value (not the `Authorization: Signature` form)."""
    found: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(value, pos)
        if match is None:
            raise MalformedSignature(f"Signature header could not be parsed at position {pos}")
        name, quoted, token = match.groups()
        if name in found:
            raise MalformedSignature(f"Signature header has {name} twice")
        found[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
        pos = match.end()
        if pos == len(value):
            break
        if value[pos] != ",":
            raise MalformedSignature(f"Signature header could not be parsed at position {pos}")
        pos += 1
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
    for name in ("created", "expires"):
        if name in found and not re.fullmatch(r"[0-9]{1,15}", found[name]):
            raise MalformedSignature(f"{name} must be a Unix time in seconds")
        if name in found:
            stamps[name] = int(found[name])
        elif f"({name})" in headers:
            raise MalformedSignature(f"({name}) is signed but the {name} parameter is missing")
    return SignatureParams(found["keyId"], found.get("algorithm"), headers, signature, **stamps)


def _signing_string(
    method: str,
    target: str,
    fields: Mapping[str, Sequence[str]],
    names: Iterable[str],
    created: int | None,
    expires: int | None,
) -> str:
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
            joined = _joined(fields, name)
            if joined is None:
                raise MalformedSignature(f"{name} header is signed but missing from the request")
            value = joined
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def cavage_signing_string(
    method: str, target: str, headers: HeaderInput, params: SignatureParams
) -> str:
    """The draft-cavage signing string of a request for the headers `params` lists."""
    return _signing_string(
        method, target, _fields(headers), params.headers, params.created, params.expires
    )


def _http_date(fields: Mapping[str, Sequence[str]]) -> float:
    value = _joined(fields, "date")
    if value is None:
        raise MalformedSignature("date header is signed but missing from the request")
    try:
        when = parsedate_to_datetime(value)
    except ValueError:
        raise MalformedSignature(f"Date header is not an HTTP date: {value!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(created: float, expires: float | None, now: float) -> None:
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


def _check_digests(label: str, offered: Mapping[str, bytes], body: bytes) -> None:
    for name, given in offered.items():
        computed = _DIGESTS[name](body).digest()
        if not hmac.compare_digest(computed, given):
            raise DigestMismatch(
                f"{label} does not match the body: computed {name}={_b64(computed)},"
                f" given {_b64(given)}"
            )


def _check_digest_header(value: str | None, body: bytes) -> None:
    if value is None:
        raise DigestMismatch("Digest header is signed but missing")
    offered: dict[str, bytes] = {}
    names = []
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep:
            raise MalformedSignature(f"Digest header could not be parsed: {value!r}")
        name = name.strip().lower()
        names.append(name)
        if name in _DIGESTS:
            try:
                offered[name] = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise MalformedSignature(f"Digest {name} value is not base64") from None
    if "sha-256" not in offered:
        raise DigestMismatch(f"Digest must include SHA-256 (offered: {', '.join(names)})")
    _check_digests("Digest", offered, body)


def _has_body(method: str, body: bytes) -> bool:
    return method.upper() == "POST" or bool(body)


def _prepare_cavage(
    method: str, target: str, fields: dict[str, list[str]], body: bytes, now: float
) -> PreparedSignature:
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
    _check_time(created, expires, now)
    for required in ("(request-target)", "host"):
        if required not in signed:
            raise SignaturePolicyError(f"{required} header not signed")
    if _has_body(method, body) and "digest" not in signed:
        raise SignaturePolicyError("Digest header not signed (required on a POST)")
    if "digest" in signed:
        _check_digest_header(_joined(fields, "digest"), body)
    targets = [target]
    if "?" in target and "(request-target)" in signed:
        targets.append(target.partition("?")[0])
    texts = [
        _encode(_signing_string(method, t, fields, params.headers, params.created, params.expires))
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


# --- Incoming: RFC 9421 -------------------------------------------------------------------------


def _check_content_digest(value: str | None, body: bytes) -> None:
    if value is None:
        raise DigestMismatch("Content-Digest header is signed but missing")
    try:
        digests = rfc9421.parse_content_digest(value)
    except rfc9421.FormatError as error:
        raise MalformedSignature(f"Content-Digest could not be parsed: {error}") from None
    offered = {name: digest for name, digest in digests.items() if name in _DIGESTS}
    if not offered:
        raise DigestMismatch(
            f"Content-Digest must include sha-256 or sha-512 (offered: {', '.join(digests)})"
        )
    _check_digests("Content-Digest", offered, body)


def _prepare_rfc9421(
    method: str, target: str, fields: dict[str, list[str]], body: bytes, now: float, scheme: str
) -> PreparedSignature:
    try:
        inputs = rfc9421.parse_dictionary(_joined(fields, "signature-input") or "")
        values = rfc9421.parse_dictionary(_joined(fields, "signature") or "")
    except rfc9421.FormatError as error:
        raise MalformedSignature(
            f"Signature-Input or Signature could not be parsed: {error}"
        ) from None
    if not inputs:
        raise MalformedSignature("Signature-Input is empty")
    # Like Mastodon, only the first signature is used; others may be a proxy's, not the sender's.
    label, covered = next(iter(inputs.items()))
    signature = values.get(label)
    if not isinstance(covered, rfc9421.InnerList):
        raise MalformedSignature(f"Signature-Input {label} is not a list of components")
    if not isinstance(signature, rfc9421.Item) or not isinstance(signature.value, bytes):
        raise MalformedSignature(f"Signature has no byte sequence for {label}")
    try:
        key_id = rfc9421.string_param(covered.params, "keyid")
        algorithm = rfc9421.string_param(covered.params, "alg")
        created = rfc9421.integer_param(covered.params, "created")
        expires = rfc9421.integer_param(covered.params, "expires")
    except rfc9421.FormatError as error:
        raise MalformedSignature(f"Signature-Input {label}: {error}") from None
    if not key_id:
        raise MalformedSignature(f"Signature-Input {label} has no keyid")
    if algorithm is not None and algorithm.startswith("hmac"):
        raise UnsupportedAlgorithm("HMAC signatures are not accepted from remote servers")
    if algorithm is not None and algorithm not in rfc9421.ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {algorithm!r} is not supported")
    if created is None:
        raise SignaturePolicyError("created parameter is required (a Unix time in seconds)")
    _check_time(created, expires, now)
    # Components with parameters (";req", ";key") are other values, so they do not count here.
    names = {
        item.value.lower()
        for item in covered.items
        if isinstance(item.value, str) and not item.params
    }
    if "@method" not in names or not ("@target-uri" in names or {"@authority", "@path"} <= names):
        raise SignaturePolicyError("@method and @target-uri must be signed")
    if _has_body(method, body) and "content-digest" not in names:
        raise SignaturePolicyError("Content-Digest header not signed (required on a POST)")
    if "content-digest" in names:
        _check_content_digest(_joined(fields, "content-digest"), body)
    host = _joined(fields, "host")
    if host is None:
        raise MalformedSignature("the request has no Host header")
    message = rfc9421.Message(fields, method=method, target_uri=f"{scheme}://{host}{target}")
    try:
        base = rfc9421.signature_base(covered, message)
    except rfc9421.FormatError as error:
        raise MalformedSignature(str(error)) from None
    return PreparedSignature("rfc9421", key_id, algorithm, _encode(base), signature.value)


# --- Incoming: both -----------------------------------------------------------------------------


def prepare(
    method: str,
    target: str,
    headers: HeaderInput,
    body: bytes,
    *,
    now: float,
    scheme: str = "https",
    expected_host: str | None = None,
) -> PreparedSignature:
    """Parse a request's signature and apply every check that needs no key.

    `target` is the path with its query string, as received; `scheme` and the Host header make
    the RFC 9421 target URI. With `expected_host`, the Host header must name this server.
    Raises `SignatureMissing` for an unsigned request, another `SignatureError` for a refusal.
    """
    fields = _fields(headers)
    if "signature-input" in fields:
        prepared = _prepare_rfc9421(method, target, fields, body, now, scheme)
    elif "signature" in fields:
        prepared = _prepare_cavage(method, target, fields, body, now)
    else:
        raise SignatureMissing("Request not signed")
    host = _joined(fields, "host")
    if expected_host is not None and (host or "").lower() != expected_host.lower():
        raise SignaturePolicyError(f"signed Host {host!r} is not this server ({expected_host})")
    return prepared


def _load_public_key(public_key: PublicKeyInput, key_id: str) -> PublicKeyTypes:
    if not isinstance(public_key, str | bytes):
        return public_key
    pem = public_key.encode() if isinstance(public_key, str) else public_key
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, cryptography.exceptions.UnsupportedAlgorithm):
        raise BadSignature(f"the public key of {key_id} cannot be read") from None


def verify(prepared: PreparedSignature, public_key: PublicKeyInput) -> VerifiedSignature:
    """Check the signature with the key of `prepared.key_id` (a key object or its PEM)."""
    key = _load_public_key(public_key, prepared.key_id)
    try:
        algorithm = prepared.algorithm or rfc9421.algorithm_for_key(key)
        for message in (prepared.message, *prepared.fallback_messages):
            try:
                rfc9421.verify_signature(algorithm, key, message, prepared.signature)
            except cryptography.exceptions.InvalidSignature:
                continue
            return VerifiedSignature(prepared.scheme, prepared.key_id, algorithm)
    except rfc9421.KeyMismatch as error:
        raise UnsupportedAlgorithm(f"{error} (key {prepared.key_id})") from None
    raise BadSignature(f"signature does not match the request (checked with {prepared.key_id})")
