"""Web Push messages: the VAPID key (RFC 8292) and the encrypted body (RFC 8291).

The work is done by `py_vapid` (the ES256 JWT) and `http_ece` (RFC 8188 content encoding); this
module only chooses their parameters as Mastodon does. A subscription is either `standard`
(RFC 8291's `aes128gcm`, `Authorization: vapid t=…,k=…`), which browsers and newer apps use, or
the draft Mastodon used before 4.4 (`aesgcm` with `Encryption` and `Crypto-Key` headers,
`Authorization: WebPush …`), which older apps and Mastodon.py decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from solo.catalogues import Message
from solo.lazy import lazy

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
else:  # at the first push message, not at start (see solo.lazy)
    serialization = lazy("cryptography.hazmat.primitives.serialization")
    ec = lazy("cryptography.hazmat.primitives.asymmetric.ec")
http_ece = lazy("http_ece")  # untyped, as is py_vapid
py_vapid = lazy("py_vapid")

P256_POINT_BYTES: Final = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES: Final = 16
JWT_LIFETIME: Final = 12 * 3600  # RFC 8292 allows up to 24 hours
TTL: Final = 48 * 3600  # how long a push service keeps a message for an offline device
RECORD_SIZE: Final = 4096


class BadKey(ValueError):
    """A subscription's key material that is not what Web Push needs: the message, in English
    with `%(name)s` placeholders for `values` (a web page translates it), completes "p256dh …"."""

    def __init__(self, message: str, **values: object) -> None:
        self.message = Message(message, **values)
        super().__init__(self.message)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode_any(text: str) -> bytes:
    """Base64 in either alphabet, with or without padding (apps send both)."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey("is not base64") from None


def p256_point(text: str) -> bytes:
    """The subscription's `p256dh` key as bytes, once checked to be a point on P-256."""
    if len(text) > 200:
        raise BadKey("is too long for a P-256 public key")
    raw = b64decode_any(text)
    if len(raw) != P256_POINT_BYTES:
        raise BadKey("must be a %(size)s-byte uncompressed P-256 point", size=P256_POINT_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise BadKey("is not a point on the P-256 curve") from None
    return raw


def auth_secret(text: str) -> bytes:
    if len(text) > 100:
        raise BadKey("is too long for an authentication secret")
    raw = b64decode_any(text)
    if len(raw) != AUTH_BYTES:
        raise BadKey("must be %(size)s bytes", size=AUTH_BYTES)
    return raw


@dataclass(frozen=True)
class VapidKey:
    """The instance's VAPID key pair: made once, kept in the database (meta `vapid_key`)."""

    private_pem: str

    @classmethod
    def generate(cls) -> VapidKey:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(pem)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the stored VAPID key is not an elliptic curve key")
        return key

    @property
    def public_key(self) -> str:
        """The public key as apps and browsers take it: base64url of the uncompressed point."""
        point = (
            self.private_key()
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        return b64url(point)


@dataclass(frozen=True)
class Subscriber:
    endpoint: str
    p256dh: bytes
    auth: bytes
    standard: bool


def _claims(endpoint: str, contact: str) -> dict[str, object]:
    parts = urlsplit(endpoint)
    return {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + JWT_LIFETIME,
        "sub": contact,
    }


def message(
    vapid: VapidKey, subscriber: Subscriber, payload: bytes, *, contact: str
) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and the headers of one push to `subscriber`."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    # `no-strict`: the contact is the instance's URL, which may be http or carry a port.
    conf = {"no-strict": True}
    claims = _claims(subscriber.endpoint, contact)
    headers = {"TTL": str(TTL), "Urgency": "normal"}
    if subscriber.standard:
        body = http_ece.encrypt(
            payload,
            salt=salt,
            private_key=ephemeral,
            dh=subscriber.p256dh,
            auth_secret=subscriber.auth,
            rs=RECORD_SIZE,
            version="aes128gcm",
        )
        signer = py_vapid.Vapid02(private_key=vapid.private_key(), conf=conf)
        headers.update(signer.sign(claims))
        headers["Content-Encoding"] = "aes128gcm"
    else:
        body = http_ece.encrypt(
            payload,
            salt=salt,
            private_key=ephemeral,
            dh=subscriber.p256dh,
            auth_secret=subscriber.auth,
            keylabel="P-256",
            version="aesgcm",
        )
        dh = ephemeral.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        signer = py_vapid.Vapid01(private_key=vapid.private_key(), conf=conf)
        headers.update(signer.sign(claims, crypto_key=f"dh={b64url(dh)}"))
        headers["Encryption"] = f"salt={b64url(salt)}"
        headers["Content-Encoding"] = "aesgcm"
    headers["Content-Type"] = "application/octet-stream"
    return bytes(body), headers
