"""RSA key pairs for actors (PEM in, PEM out); the cryptography library does the work."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from solo.lazy import lazy

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
else:  # at the first signature, not at start (see solo.lazy)
    serialization = lazy("cryptography.hazmat.primitives.serialization")
    rsa = lazy("cryptography.hazmat.primitives.asymmetric.rsa")


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    def private_key(self) -> rsa.RSAPrivateKey:
        """Parsed once, at the first call: parsing checks the key, which takes a noticeable
        fraction of a second on a Pi."""
        return self._private_key

    @cached_property
    def _private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("stored key is not RSA")
        return key


def generate_keypair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem, public_pem)
