"""Pseudonymisation at the door: authors (and, by default, mentioned people) become keyed hashes.

HMAC-SHA256 with a secret key kept outside the database: without the key a pseudonym cannot be
reversed by hashing candidate handles (a plain hash could be). The same handle always gives the
same pseudonym under one key, so analysis of actors and `@mention` queries still work.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

import msgspec

from stadspuls.enrich.normalize import MENTION
from stadspuls.records import Post

log = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "u"
# 64 bits: collisions become likely only around four billion distinct handles.
PSEUDONYM_HEX = 16


def load_or_create_key(path: Path) -> bytes:
    """Read the key from `path`, creating a random 256-bit key there (mode 0600) if absent."""
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"pseudonymisation key in {path} is shorter than 128 bits")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    log.info("generated a new pseudonymisation key in %s (keep it secret, keep it safe)", path)
    return key


def canonical_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


class Pseudonymiser:
    name = "pseudonymise"

    def __init__(self, key: bytes, *, mentions: bool = True, cache_size: int = 500_000) -> None:
        self._key = key
        self.mentions = mentions
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def pseudonym(self, handle: str) -> str:
        canonical = canonical_handle(handle)
        cached = self._cache.get(canonical)
        if cached is not None:
            return cached
        digest = hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()
        value = PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[canonical] = value
        return value

    def _replace_mention(self, match: re.Match[str]) -> str:
        return "@" + self.pseudonym(match.group(1))

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        out = []
        for post in posts:
            author_key = self.pseudonym(post.author) if post.author else post.author_key
            if self.mentions and (post.mentions or "@" in post.text):
                text = MENTION.sub(self._replace_mention, post.text)
                mentions = tuple(dict.fromkeys(self.pseudonym(m) for m in post.mentions))
                out.append(
                    msgspec.structs.replace(
                        post, author=None, author_key=author_key, text=text, mentions=mentions
                    )
                )
            else:
                out.append(msgspec.structs.replace(post, author=None, author_key=author_key))
        return out
