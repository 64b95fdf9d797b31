"""Signed links for volunteers: a purpose, a subject and an expiry, HMAC-SHA-256 under a key
derived from the volunteers' index key. No login: the link is the credential, so it names its
purpose ("manage", "answer:<callout>") and cannot be used for another, and it expires.

A token is `<subject>.<expires, unix seconds>.<signature, base64url>`; the subject is the
volunteer id (or whatever the purpose signs), never personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from stadspuls.volunteers.errors import BadLink

_SIGNATURE_BYTES = 18  # 144 bits: short links, far beyond guessing


class Signer:
    def __init__(self, index_key: bytes) -> None:
        self._key = hmac.new(index_key, b"stadspuls volunteer links", hashlib.sha256).digest()

    def _signature(self, purpose: str, subject: str, expires: int) -> str:
        message = f"{purpose}\n{subject}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, purpose: str, subject: str, expires_at: datetime) -> str:
        if "." in subject or "/" in subject:
            raise ValueError("a token's subject has no dots or slashes")
        expires = int(expires_at.timestamp())
        return f"{subject}.{expires}.{self._signature(purpose, subject, expires)}"

    def open(self, purpose: str, token: str, *, now: datetime) -> str:
        """The subject of a token signed for `purpose`; BadLink when forged or expired."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            raise BadLink("Deze link is ongeldig.")
        subject, expires_text, signature = parts
        expected = self._signature(purpose, subject, int(expires_text))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise BadLink("Deze link is ongeldig.")
        if int(expires_text) < now.timestamp():
            raise BadLink("Deze link is verlopen.", expired=True)
        return subject
