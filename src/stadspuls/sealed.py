"""Sealed values: the link to the original post and its media URLs, encrypted at the door.

A post's own URL, its media URLs and the links in it name or point at the author (a profile
path, a DID in a CDN path), so the store keeps them only sealed: AES-256-GCM under a key kept
outside the database (beside the pseudonymisation key), a fresh 96-bit nonce per value, and
the post's (keyed) id as associated data so that a sealed value cannot be moved to another
post. Nothing opens them on the way out today; the role-gated, audited read path of the
dashboard will be the only caller of `Sealer.open`.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# A version in the prefix lets a later key rotation or algorithm change tell old from new.
SEALED_PREFIX = "sealed1:"
_NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed value is malformed, or was sealed under another key or for another post."""


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError(f"the sealing key must be 256 bits, not {len(key) * 8}")
        self._aead = AESGCM(key)

    def seal(self, value: str, context: str) -> str:
        """Encrypt `value` for the post whose stored id is `context`."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode(), context.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, context: str) -> str:
        """The plain value of a token sealed for the post whose stored id is `context`."""
        if not is_sealed(token):
            raise SealError("not a sealed value")
        body = token[len(SEALED_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (ValueError, InvalidTag) as error:
            raise SealError("cannot open a sealed value: wrong key, post or damaged") from error
        return plain.decode()
