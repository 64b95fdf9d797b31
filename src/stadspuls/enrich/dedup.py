"""Exact and near-duplicate detection. Duplicates are marked (`duplicate_of`), never dropped.

- exact: the same canonical text (case, accents, links, mentions, "RT" and punctuation ignored);
- near: 64-bit SimHash of word uni- and bigrams within Hamming distance 4 (Manku et al., WWW
  2007, use 3 for web pages; one changed word in a 15-word post flips about 4 bits). Five bands
  of 12-13 bits index the fingerprints: two fingerprints within distance 4 agree exactly on at
  least one band (pigeonhole), so a lookup only compares the few sharing a band;
- repost: a post that declares what it reposts.

The memory is bounded to the most recent `window` posts; state can be seeded from the store.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from itertools import pairwise

import msgspec
import numpy as np

from stadspuls.records import Post

# A trailing run of hashtags is what copy-paste floods vary most: it is left out.
_TRAILING_TAGS = re.compile(r"(?:\s+#\w+)+\s*$")
_NOISE = re.compile(r"https?://\S+|@\w[\w.@-]*|^rt\b|[^\w\s]", re.UNICODE)
_WS = re.compile(r"\s+")
MIN_TOKENS_FOR_NEAR = 6  # a fingerprint of a few words says little: short texts are exact-only
MAX_DISTANCE = 4
BANDS = MAX_DISTANCE + 1
_BAND_SHIFTS = tuple(64 * band // BANDS for band in range(BANDS))
_BAND_MASKS = tuple(
    (1 << (64 * (band + 1) // BANDS - 64 * band // BANDS)) - 1 for band in range(BANDS)
)
_MASK64 = (1 << 64) - 1


def canonical(text: str) -> str:
    folded = unicodedata.normalize("NFKD", _TRAILING_TAGS.sub("", text).casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WS.sub(" ", _NOISE.sub(" ", folded)).strip()


def content_hash(canonical_text: str) -> str:
    return hashlib.blake2b(canonical_text.encode(), digest_size=8).hexdigest()


def _band_keys(fingerprint: int) -> list[int]:
    return [(fingerprint >> s) & m for s, m in zip(_BAND_SHIFTS, _BAND_MASKS, strict=True)]


def _to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _to_unsigned(value: int) -> int:
    return value & _MASK64


class SimHasher:
    """SimHash over word uni- and bigrams, vectorised: each feature's ±1 bit vector is cached."""

    def __init__(self, cache_size: int = 300_000) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        self._weights = (1 << np.arange(64, dtype=np.uint64)).astype(np.uint64)

    def _vector(self, feature: str) -> np.ndarray:
        vector = self._vectors.get(feature)
        if vector is None:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bits = np.unpackbits(np.frombuffer(digest, dtype=np.uint8), bitorder="little")
            vector = bits.astype(np.int16) * 2 - 1
            if len(self._vectors) >= self._cache_size:
                self._vectors.clear()
            self._vectors[feature] = vector
        return vector

    def fingerprint(self, tokens: Sequence[str]) -> int:
        features = [*tokens, *(f"{a} {b}" for a, b in pairwise(tokens))]
        total = np.sum([self._vector(f) for f in features], axis=0)
        bits = (total > 0).astype(np.uint64)
        return int((bits * self._weights).sum())


class DuplicateIndex:
    """Bounded memory of recent posts' fingerprints, for exact and near-duplicate lookups."""

    def __init__(self, window: int = 200_000) -> None:
        self.window = window
        self._exact: OrderedDict[str, str] = OrderedDict()  # content hash -> first post id
        self._near: OrderedDict[str, int] = OrderedDict()  # post id -> unsigned simhash
        self._bands: list[dict[int, list[str]]] = [{} for _ in range(BANDS)]

    def __len__(self) -> int:
        return len(self._near)

    def find_exact(self, digest: str) -> str | None:
        return self._exact.get(digest)

    def find_near(self, fingerprint: int) -> str | None:
        for band, key in enumerate(_band_keys(fingerprint)):
            for post_id in self._bands[band].get(key, ()):
                other = self._near.get(post_id)
                if other is not None and (other ^ fingerprint).bit_count() <= MAX_DISTANCE:
                    return post_id
        return None

    def add(self, post_id: str, digest: str | None, fingerprint: int | None) -> None:
        if digest is not None and digest not in self._exact:
            self._exact[digest] = post_id
            if len(self._exact) > self.window:
                self._exact.popitem(last=False)
        if fingerprint is not None and post_id not in self._near:
            self._near[post_id] = fingerprint
            for band, key in enumerate(_band_keys(fingerprint)):
                self._bands[band].setdefault(key, []).append(post_id)
            if len(self._near) > self.window:
                self._evict()

    def _evict(self) -> None:
        post_id, fingerprint = self._near.popitem(last=False)
        for band, key in enumerate(_band_keys(fingerprint)):
            bucket = self._bands[band].get(key)
            if bucket:
                try:
                    bucket.remove(post_id)
                except ValueError:
                    continue
                if not bucket:
                    del self._bands[band][key]


class Deduplicator:
    name = "dedup"

    def __init__(self, window: int = 200_000) -> None:
        self.index = DuplicateIndex(window)
        self._hasher = SimHasher()

    def seed(self, recent: Iterable[tuple[str, str | None, int | None]]) -> None:
        """Load (id, content_hash, signed simhash) of stored posts, oldest first."""
        for post_id, digest, simhash in recent:
            self.index.add(post_id, digest, None if simhash is None else _to_unsigned(simhash))

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        out = []
        for post in posts:
            text = canonical(post.text)
            digest = content_hash(text)
            tokens = text.split()
            fingerprint = (
                self._hasher.fingerprint(tokens) if len(tokens) >= MIN_TOKENS_FOR_NEAR else None
            )
            duplicate_of: str | None = None
            kind: str | None = None
            if post.repost_of:
                duplicate_of, kind = post.repost_of, "repost"
            elif text and (first := self.index.find_exact(digest)) and first != post.id:
                duplicate_of, kind = first, "exact"
            elif (
                fingerprint is not None
                and (near := self.index.find_near(fingerprint))
                and near != post.id
            ):
                duplicate_of, kind = near, "near"
            if text:
                self.index.add(post.id, digest, fingerprint)
            out.append(
                msgspec.structs.replace(
                    post,
                    content_hash=digest if text else None,
                    simhash=None if fingerprint is None else _to_signed(fingerprint),
                    duplicate_of=duplicate_of,
                    duplicate_kind=kind,
                )
            )
        return out
