"""HTTP signatures: signing what Solo sends, checking what it receives.

Outgoing requests carry a draft-cavage `rsa-sha256` signature (FEDERATION.md A.1-A.3), added by
`HTTPSignatureAuth` on an httpx client, or computed directly with `sign_headers`.

Incoming requests are checked in two steps, so that the caller can fetch the key in between:

    prepared = prepare(method, target, headers, body, now=time.time())  # parsing and policy
    key = ...  # from the cache, or fetched from prepared.key_id
    verified = verify(prepared, key)  # the cryptography

Both draft-cavage (`Signature`) and RFC 9421 (`Signature-Input` with `Signature`) are accepted.
Each scheme's format and policy live in its own module, `solo.federation.cavage` and
`solo.federation.rfc9421`; what they share (the time window, digests) in
`solo.federation.signature_checks`. In short:

- `(request-target)` and `host` are signed (Misskey CVE-2023-49079); for RFC 9421, `@method` and
  `@target-uri`, or `@method`, `@authority` and `@path`.
- `date` or `(created)` is signed (RFC 9421: `created` is required). The signed time may be at
  most 1 h ahead of `now` and at most 1 h 5 min behind it (Mastodon's window); a signed
  `expires` in the past rejects, and one in the future stretches the age limit to 12 h + 1 h.
- A POST, or any request with a body, signs `digest` (RFC 9421: `content-digest`), and its
  SHA-256 (RFC 9421: sha-256 or sha-512) must match the body; a SHA-512 offered too is checked.

Every refusal is a `SignatureError` (from `solo.federation.signature_errors`, re-exported here),
which is an `Unauthorized`: the web edge answers 401 with its message, written for the admin of
the sending server.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncGenerator, Generator
from email.utils import formatdate

import cryptography.exceptions
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from solo.federation import cavage, rfc9421, signing
from solo.federation.cavage import SignatureParams, cavage_signing_string, parse_signature_header
from solo.federation.signature_checks import (
    CLOCK_SKEW,
    DEFAULT_VALIDITY,
    MAX_VALIDITY,
    HeaderInput,
    PreparedSignature,
    Scheme,
    VerifiedSignature,
    b64,
    encode,
    header_fields,
    joined,
)
from solo.federation.signature_errors import (
    BadSignature,
    DigestMismatch,
    MalformedSignature,
    SignatureError,
    SignatureMissing,
    SignaturePolicyError,
    SignatureTimeError,
    UnsupportedAlgorithm,
)

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "BadSignature",
    "DigestMismatch",
    "HTTPSignatureAuth",
    "HeaderInput",
    "MalformedSignature",
    "PreparedSignature",
    "PublicKeyInput",
    "Scheme",
    "SignatureError",
    "SignatureMissing",
    "SignatureParams",
    "SignaturePolicyError",
    "SignatureTimeError",
    "UnsupportedAlgorithm",
    "VerifiedSignature",
    "cavage_signing_string",
    "parse_signature_header",
    "prepare",
    "sign_headers",
    "sign_headers_off_loop",
    "verify",
]

PublicKeyInput = PublicKeyTypes | str | bytes


# --- Outgoing -----------------------------------------------------------------------------------


def _check_key_id(key_id: str) -> None:
    if not key_id or '"' in key_id or "\\" in key_id:
        raise ValueError(f"cannot put key id {key_id!r} in a Signature header")


def _to_sign(
    method: str, url: str | httpx.URL, headers: HeaderInput, body: bytes, now: float | None
) -> tuple[dict[str, str], list[str], bytes]:
    """The headers to add but `Signature`, the names it covers and the signing string."""
    target = httpx.URL(url)
    fields = header_fields(headers)
    added: dict[str, str] = {}
    if "host" not in fields:
        added["Host"] = target.netloc.decode("ascii")  # keeps a non-default port
    if "date" not in fields:
        added["Date"] = formatdate(time.time() if now is None else now, usegmt=True)
    signed = ["(request-target)", "host", "date"]
    if body or method.upper() == "POST":
        added["Digest"] = "SHA-256=" + b64(hashlib.sha256(body).digest())
        signed.append("digest")
        if "content-type" in fields:
            signed.append("content-type")
    fields.update((name.lower(), [value]) for name, value in added.items())
    text = cavage.signing_string(
        method, target.raw_path.decode("ascii"), fields, signed, None, None
    )
    return added, signed, encode(text)


def _signature_field(key_id: str, signed: list[str], signature: bytes) -> str:
    return (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(signed)}",'
        f'signature="{b64(signature)}"'
    )


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
    added, signed, text = _to_sign(method, url, headers, body, now)
    added["Signature"] = _signature_field(key_id, signed, signing.rsa_sha256(private_key, text))
    return added


async def sign_headers_off_loop(
    method: str,
    url: str | httpx.URL,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
) -> dict[str, str]:
    """`sign_headers`, with the RSA signature computed on the signing thread (`signing`)."""
    _check_key_id(key_id)
    added, signed, text = _to_sign(method, url, headers, body, None)
    added["Signature"] = _signature_field(key_id, signed, await signing.sign(private_key, text))
    return added


class HTTPSignatureAuth(httpx.Auth):
    """Signs every request of an httpx client as `key_id` (draft-cavage rsa-sha256).

    `off_loop`: an async client signs on the signing thread (`solo.federation.signing`), which
    spares the event loop the RSA work when many requests are signed at once (key fetches)."""

    requires_request_body = True  # the Digest needs the body before the request is sent

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey, *, off_loop: bool = False):
        _check_key_id(key_id)
        self.key_id = key_id
        self.private_key = private_key
        self.off_loop = off_loop

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

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        body = await request.aread()
        # The raw pairs: reading an httpx.Headers as a mapping decodes it anew for each item.
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]
        arguments = (request.method, request.url, headers, body)
        if self.off_loop:
            added = await sign_headers_off_loop(
                *arguments, key_id=self.key_id, private_key=self.private_key
            )
        else:
            added = sign_headers(*arguments, key_id=self.key_id, private_key=self.private_key)
        request.headers.update(added)
        yield request


# --- Incoming -----------------------------------------------------------------------------------


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
    fields = header_fields(headers)
    if "signature-input" in fields:
        prepared = rfc9421.prepare_signature(method, target, fields, body, now, scheme)
    elif "signature" in fields:
        prepared = cavage.prepare_signature(method, target, fields, body, now)
    else:
        raise SignatureMissing("Request not signed")
    host = joined(fields, "host")
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
