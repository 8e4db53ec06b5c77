"""The refusals of an incoming request signature, whichever scheme it uses.

Every refusal is a `SignatureError`, which is an `Unauthorized`: the web edge answers 401 with
its message, written for the admin of the sending server. Kept apart from the code that raises
them so that `signatures`, `cavage` and `rfc9421` can all import them without a cycle.
"""

from __future__ import annotations

from solo.errors import Unauthorized


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
