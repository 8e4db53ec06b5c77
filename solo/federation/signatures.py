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
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, TypeAlias

import httpx

from solo.federation import cavage, rfc9421
from solo.federation.cavage import SignatureParams, cavage_signing_string, parse_signature_header
from solo.federation.sign_worker import rsa_sign
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
from solo.keys import KeyPair
from solo.lazy import lazy
from solo.net.key_client import HeaderAuth

if TYPE_CHECKING:
    from cryptography import exceptions
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
else:  # at the first signature, not at start (see solo.lazy)
    exceptions = lazy("cryptography.exceptions")
    hashes = lazy("cryptography.hazmat.primitives.hashes")
    serialization = lazy("cryptography.hazmat.primitives.serialization")
    padding = lazy("cryptography.hazmat.primitives.asymmetric.padding")

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
    "SignatureDraft",
    "SignatureError",
    "SignatureMissing",
    "SignatureParams",
    "SignaturePolicyError",
    "SignatureTimeError",
    "UnsupportedAlgorithm",
    "VerifiedSignature",
    "body_digest",
    "cavage_signing_string",
    "draft_signature",
    "parse_signature_header",
    "prepare",
    "prepare_fields",
    "rsa_sign",
    "sign_headers",
    "sign_headers_off_loop",
    "verify",
]

PublicKeyInput: TypeAlias = "PublicKeyTypes | str | bytes"


# --- Outgoing -----------------------------------------------------------------------------------


# What does a signature's RSA step off the event loop: `BatchSigner.sign`.
Signer: TypeAlias = "Callable[[rsa.RSAPrivateKey, bytes], Awaitable[bytes]]"


def _check_key_id(key_id: str) -> None:
    if not key_id or '"' in key_id or "\\" in key_id:
        raise ValueError(f"cannot put key id {key_id!r} in a Signature header")


@dataclass(frozen=True)
class SignatureDraft:
    """A request's draft-cavage signature before the RSA step: the headers to add, and the
    signing string that step signs. `finish` turns the signature into the headers."""

    headers: dict[str, str]
    key_id: str
    signed: tuple[str, ...]
    text: bytes

    def finish(self, signature: bytes) -> dict[str, str]:
        return {
            **self.headers,
            "Signature": f'keyId="{self.key_id}",algorithm="rsa-sha256",'
            f'headers="{" ".join(self.signed)}",signature="{b64(signature)}"',
        }


def draft_signature(
    method: str,
    netloc: str,
    path: str,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    now: float | None = None,
) -> SignatureDraft:
    """Everything of `sign_headers` but the RSA signature itself (which a caller may run on
    another thread, or in a batch with others), for a request to `netloc` (host[:port]) of
    `path` (the request target)."""
    _check_key_id(key_id)
    fields = header_fields(headers)
    added: dict[str, str] = {}
    if "host" not in fields:
        added["Host"] = netloc  # keeps a non-default port
    if "date" not in fields:
        added["Date"] = http_date(time.time() if now is None else now)
    signed = ["(request-target)", "host", "date"]
    if body or method.upper() == "POST":
        if "digest" not in fields:  # given by a caller that sends one body many times
            added["Digest"] = body_digest(body)
        signed.append("digest")
        if "content-type" in fields:
            signed.append("content-type")
    fields.update((name.lower(), [value]) for name, value in added.items())
    text = cavage.signing_string(method, path, fields, signed, None, None)
    return SignatureDraft(added, key_id, tuple(signed), encode(text))


POST_SIGNED = ("(request-target)", "host", "date", "digest", "content-type")


def post_draft(
    netloc: str, path: str, date: str, digest: str, content_type: str, *, key_id: str
) -> SignatureDraft:
    """`draft_signature` of a POST that carries exactly these Host, Date, Digest and
    Content-Type fields (a delivery, signed thousands of times in a fan-out): the same draft,
    without collecting the request's fields first."""
    _check_key_id(key_id)
    text = (
        f"(request-target): post {path}\nhost: {netloc}\ndate: {date}\ndigest: {digest}"
        f"\ncontent-type: {content_type}"
    )
    return SignatureDraft({}, key_id, POST_SIGNED, encode(text))


_dates: dict[int, str] = {}  # the last second's Date, by second


def http_date(when: float) -> str:
    """`formatdate(when, usegmt=True)`, made once a second: a fan-out dates a thousand
    requests in the same second, and formatting took a delivery 10–30 µs of the loop."""
    second = int(when)
    date = _dates.get(second)
    if date is None:
        date = formatdate(second, usegmt=True)
        _dates.clear()
        _dates[second] = date
    return date


def body_digest(body: bytes) -> str:
    """The `Digest` header of `body` (SHA-256)."""
    return "SHA-256=" + b64(hashlib.sha256(body).digest())


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
    draft = _draft_to(method, url, headers, body, key_id, now)
    return draft.finish(rsa_sign(private_key, draft.text))


async def sign_headers_off_loop(
    method: str,
    url: str | httpx.URL,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    sign: Signer,
) -> dict[str, str]:
    """`sign_headers`, with the RSA step done by `sign` (a `BatchSigner`'s, off the loop)."""
    draft = _draft_to(method, url, headers, body, key_id, None)
    return draft.finish(await sign(private_key, draft.text))


def _draft_to(
    method: str,
    url: str | httpx.URL,
    headers: HeaderInput,
    body: bytes,
    key_id: str,
    now: float | None,
) -> SignatureDraft:
    target = httpx.URL(url)
    netloc, path = target.netloc.decode("ascii"), target.raw_path.decode("ascii")
    return draft_signature(method, netloc, path, headers, body, key_id=key_id, now=now)


class HTTPSignatureAuth(HeaderAuth):
    """Signs every request of an httpx client as `key_id` (draft-cavage rsa-sha256).

    `sign`: an async client has the RSA step done by it (`BatchSigner.sign`, on the signing
    threads), which spares the event loop when many requests are signed at once (key fetches)."""

    requires_request_body = True  # the Digest needs the body before the request is sent

    def __init__(
        self, key_id: str, private_key: rsa.RSAPrivateKey | KeyPair, *, sign: Signer | None = None
    ) -> None:
        _check_key_id(key_id)
        self.key_id = key_id
        self._key = private_key
        self.sign = sign

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """A `KeyPair` is parsed at the first signature rather than at start."""
        key = self._key
        if isinstance(key, KeyPair):
            key = self._key = key.private_key()
        return key

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
        request.headers.update(await self.headers_for(request.method, request.url, headers, body))
        yield request

    async def headers_for(
        self, method: str, url: httpx.URL, headers: list[tuple[str, str]], body: bytes
    ) -> Mapping[str, str]:
        """The headers that sign this request (`sign_headers`), the RSA step done by `sign`
        when there is one (the key client asks this directly, with no httpx Request)."""
        if self.sign is not None:
            return await sign_headers_off_loop(
                method, url, headers, body, key_id=self.key_id, private_key=self.private_key,
                sign=self.sign,
            )  # fmt: skip
        return sign_headers(
            method, url, headers, body, key_id=self.key_id, private_key=self.private_key
        )


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
    return prepare_fields(
        method,
        target,
        header_fields(headers),
        body,
        now=now,
        scheme=scheme,
        expected_host=expected_host,
    )


def prepare_fields(
    method: str,
    target: str,
    fields: dict[str, list[str]],
    body: bytes,
    *,
    now: float,
    scheme: str = "https",
    expected_host: str | None = None,
) -> PreparedSignature:
    """`prepare` for headers already collected by `header_fields` (lowercased names)."""
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
    except (ValueError, exceptions.UnsupportedAlgorithm):
        raise BadSignature(f"the public key of {key_id} cannot be read") from None


def verify(prepared: PreparedSignature, public_key: PublicKeyInput) -> VerifiedSignature:
    """Check the signature with the key of `prepared.key_id` (a key object or its PEM)."""
    key = _load_public_key(public_key, prepared.key_id)
    try:
        algorithm = prepared.algorithm or rfc9421.algorithm_for_key(key)
        for message in (prepared.message, *prepared.fallback_messages):
            try:
                rfc9421.verify_signature(algorithm, key, message, prepared.signature)
            except exceptions.InvalidSignature:
                continue
            return VerifiedSignature(prepared.scheme, prepared.key_id, algorithm)
    except rfc9421.KeyMismatch as error:
        raise UnsupportedAlgorithm(f"{error} (key {prepared.key_id})") from None
    raise BadSignature(f"signature does not match the request (checked with {prepared.key_id})")
