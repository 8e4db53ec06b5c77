"""Signed addresses of remote files on our origin: `/proxy/<sig>/<base64url(url)>`.

Pages show remote avatars, headers, attachments and emoji through our own origin (the CSP allows
only our images, and readers' addresses stay with us). The signature is an HMAC of the remote
URL under a key derived from the instance's session secret, so only URLs our pages named are
fetched: without it `/proxy/` would fetch anything for anyone (an open proxy, and an SSRF probe
into whatever the address policy lets through).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

PREFIX: Final = "/proxy/"
MAX_URL: Final = 2048  # longer remote URLs are not shown through the proxy
_SIG_BYTES: Final = 16  # 128 bits of HMAC-SHA256: unguessable, and a short path


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class MediaProxy:
    """Signs remote URLs into our proxy paths and checks the paths it is given back."""

    key: bytes

    @classmethod
    def of(cls, session_secret: str) -> MediaProxy:
        # Its own key: a proxy signature can never pass for a session or CSRF token.
        derived = hmac.new(session_secret.encode(), b"solo media proxy", hashlib.sha256)
        return cls(derived.digest())

    def _sign(self, url: str) -> str:
        digest = hmac.new(self.key, url.encode(), hashlib.sha256).digest()
        return _b64encode(digest[:_SIG_BYTES])

    def url(self, remote: str | None) -> str | None:
        """Our path for an http(s) URL; None for anything else (callers show a fallback)."""
        if not remote or len(remote) > MAX_URL or not is_http_url(remote):
            return None
        return f"{PREFIX}{self._sign(remote)}/{_b64encode(remote.encode())}"

    def target(self, sig: str, encoded: str) -> str | None:
        """The remote URL a proxy path names, when its signature is ours; else None."""
        if len(encoded) > 2 * MAX_URL:
            return None
        try:
            remote = _b64decode(encoded).decode()
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(sig.encode(), self._sign(remote).encode()):
            return None
        return remote if is_http_url(remote) else None


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no credentials, without spaces or quotes."""
    if any(c.isspace() or c in "\"'<>\\`" for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    # Any "@" in the authority is userinfo, even an empty name ("https://:secret@host/"): httpx
    # would send it as Basic credentials.
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc
