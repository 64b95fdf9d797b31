"""Exact and near-duplicate detection. Duplicates are marked (`duplicate_of`), never dropped.

- exact: the same canonical text (case, accents, links, mentions, "RT" and punctuation ignored);
- near: 64-bit SimHash of word uni- and bigrams within Hamming distance 4 (Manku et al., WWW
  2007, use 3 for web pages; one changed word in a 15-word post flips about 4 bits). Five bands
  of 12-13 bits index the fingerprints: two fingerprints within distance 4 agree exactly on at
  least one band (pigeonhole), so a lookup only compares the few sharing a band;
- repost: a post that declares what it reposts.

A platform can say that two messages of the same text are different: P2000 sends one dispatch
text to the fire brigade and the ambulance, or to other units (capcodes), in the same second.
The `meta` fields in DISTINGUISHING then belong to the exact-duplicate key, and such posts are
never near duplicates: their texts are templates ("P 1 Buitenbrand Proefstraat Zoetermeer"),
where one changed word is another incident, not a copy.

The memory is bounded to the most recent `window` posts; state can be seeded from the store.
"""

from __future__ import annotations

import array
import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import msgspec
import numpy as np

from stadspuls.enrich.forms import TextForms
from stadspuls.query.text import fold
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
BATCH_LOOKUP_MIN = 32  # fewer near lookups than this in a batch: one `find_near` each
# Nor while the memory holds fewer fingerprints than this: its buckets are short, and one
# `find_near` per post was cheaper in bench/dedup.py-like runs below about 60,000.
BATCH_LOOKUP_FROM = 50_000
# The `Post.meta` fields by which a platform tells apart messages of the same text.
DISTINGUISHING = ("service", "capcodes")


def canonical(text: str, folded: str | None = None) -> str:
    """The exact-duplicate key of a text; `folded` is `fold(text)` when the caller has it."""
    if "#" in text:
        stripped = _TRAILING_TAGS.sub("", text)
        if len(stripped) != len(text):
            text, folded = stripped, None
    if folded is None:
        folded = fold(text)
    return " ".join(_NOISE.sub(" ", folded).split())


def content_hash(canonical_text: str) -> str:
    return hashlib.blake2b(canonical_text.encode(), digest_size=8).hexdigest()


def distinguishing(post: Post) -> str:
    """The platform's own distinction between posts of one text ("" when it makes none)."""
    if not post.meta:
        return ""
    fields = [(name, post.meta[name]) for name in DISTINGUISHING if name in post.meta]
    return msgspec.json.encode(fields).decode() if fields else ""


def _band_keys(fingerprint: int) -> list[int]:
    """One key per band: the band's number in the top bits, its bits of the fingerprint below."""
    return [
        (band << 16) | ((fingerprint >> shift) & mask)
        for band, (shift, mask) in enumerate(zip(_BAND_SHIFTS, _BAND_MASKS, strict=True))
    ]


def band_keys(fingerprints: Sequence[int]) -> list[list[int]]:
    """`_band_keys` of many fingerprints at once (numpy), for a batch."""
    if not fingerprints:
        return []
    values = np.array(fingerprints, dtype=np.uint64)
    columns = [
        (np.uint64(band << 16) | ((values >> np.uint64(shift)) & np.uint64(mask)))
        for band, (shift, mask) in enumerate(zip(_BAND_SHIFTS, _BAND_MASKS, strict=True))
    ]
    keys: list[list[int]] = np.stack(columns, axis=1).tolist()
    return keys


def _to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _to_unsigned(value: int) -> int:
    return value & _MASK64


class SimHasher:
    """SimHash over word uni- and bigrams, computed for a whole batch at once with numpy.

    Unigram hashes are cached per word; a bigram's hash is mixed from its two unigram hashes
    (no string is built for it), and the 64 bit-votes of all features of a batch are summed per
    post with one `np.add.reduceat`.
    """

    def __init__(self, cache_size: int = 500_000) -> None:
        self._words: dict[str, int] = {}
        self._cache_size = cache_size
        self._shifts = np.arange(64, dtype=np.uint64)

    def _word(self, word: str) -> int:
        value = self._words.get(word)
        if value is None:
            value = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            if len(self._words) >= self._cache_size:
                self._words.clear()
            self._words[word] = value
        return value

    def fingerprints(self, token_lists: Sequence[Sequence[str]]) -> list[int]:
        """One 64-bit fingerprint (unsigned) per token list of at least two tokens."""
        if not token_lists:
            return []
        if min(len(tokens) for tokens in token_lists) < 2:
            raise ValueError("a fingerprint needs at least two tokens")
        known, word = self._words.get, self._word
        unigrams = np.array(
            [known(t) or word(t) for tokens in token_lists for t in tokens], dtype=np.uint64
        )
        lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.int64)
        ends = np.cumsum(lengths)
        # Bigrams: pairs of neighbours that do not cross from one post into the next.
        pair_ok = np.ones(len(unigrams) - 1, dtype=bool)
        pair_ok[ends[:-1] - 1] = False
        left, right = unigrams[:-1][pair_ok], unigrams[1:][pair_ok]
        with np.errstate(over="ignore"):
            rotated = (right << np.uint64(17)) | (right >> np.uint64(47))
            bigrams = (left * np.uint64(0x9E3779B97F4A7C15)) ^ rotated
        totals = self._bit_votes(unigrams, ends - lengths) + self._bit_votes(
            bigrams, ends - lengths - np.arange(len(lengths))
        )
        majority = totals * 2 > (2 * lengths - 1)[:, None]
        packed = np.packbits(majority, axis=1, bitorder="little").view("<u8").ravel()
        return [int(v) for v in packed]

    @staticmethod
    def _bit_votes(features: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per segment, how many features have each of the 64 bits set."""
        bits = np.unpackbits(
            features.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little"
        )
        return np.add.reduceat(bits, starts, axis=0, dtype=np.int32)

    def fingerprint(self, tokens: Sequence[str]) -> int:
        return self.fingerprints([tokens])[0]


class DuplicateIndex:
    """Bounded memory of recent posts' fingerprints, for exact and near-duplicate lookups.

    Ordered dicts keep insertion order, so the oldest entry is always first: eviction is FIFO
    (`popitem(last=False)`: a plain dict's `next(iter(d))` walks over every entry deleted before
    it, which made each eviction cost tens of microseconds once the window was full).
    A band bucket maps (band, band bits) to the fingerprints (an `array` of uint64) and post ids
    sharing them, oldest first. Every fingerprint added gets the next sequence number; the live
    ones are those from `floor()` on.
    """

    def __init__(self, window: int = 200_000) -> None:
        self.window = window
        self._exact: OrderedDict[str, str] = OrderedDict()  # content hash -> first post id
        # post id -> (unsigned simhash, sequence number)
        self._near: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._evicted = 0
        self._buckets: dict[int, tuple[array.array[int], list[str]]] = {}
        self.next_seq = 0

    def __len__(self) -> int:
        return len(self._near)

    def floor(self) -> int:
        """The sequence number of the oldest fingerprint still held: fingerprints leave in the
        order they came, so the live ones are numbered from the count of those evicted."""
        return self._evicted

    def find_exact(self, digest: str) -> str | None:
        return self._exact.get(digest)

    def find_near(self, fingerprint: int, keys: Sequence[int] | None = None) -> str | None:
        """A stored post within `MAX_DISTANCE` bits: the oldest in the first band (in band
        order) that has one. `keys` are the fingerprint's band keys when the caller has them."""
        buckets = self._buckets
        for key in keys if keys is not None else _band_keys(fingerprint):
            bucket = buckets.get(key)
            if bucket is None:
                continue
            for other, post_id in zip(bucket[0], bucket[1], strict=True):
                if (other ^ fingerprint).bit_count() <= MAX_DISTANCE:
                    return post_id
        return None

    def near_hits(
        self, fingerprints: Sequence[int], keys: Sequence[Sequence[int]]
    ) -> list[list[tuple[int, int, str]]]:
        """For each fingerprint, every held one within `MAX_DISTANCE` bits that shares a band
        with it, as (band, sequence, post id) in `find_near`'s order: one numpy pass over all
        the buckets a batch touches instead of a Python loop per stored fingerprint."""
        hits: list[list[tuple[int, int, str]]] = [[] for _ in fingerprints]
        parts: list[array.array[int]] = []
        owners: list[tuple[int, int, list[str]]] = []
        buckets = self._buckets
        for i, post_keys in enumerate(keys):
            for band, key in enumerate(post_keys):
                bucket = buckets.get(key)
                if bucket is not None:
                    parts.append(bucket[0])
                    owners.append((i, band, bucket[1]))
        if not parts:
            return hits
        stored = np.frombuffer(b"".join(parts), dtype=np.uint64)
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        queries = np.array([fingerprints[i] for i, _, _ in owners], dtype=np.uint64)
        distances = np.bitwise_count(stored ^ np.repeat(queries, lengths))
        found = np.flatnonzero(distances <= MAX_DISTANCE)
        if not len(found):
            return hits
        ends = np.cumsum(lengths)
        part_of = np.searchsorted(ends, found, side="right")
        offsets = found - (ends[part_of] - lengths[part_of])
        near = self._near
        for part, offset in zip(part_of.tolist(), offsets.tolist(), strict=True):
            i, band, ids = owners[part]
            post_id = ids[offset]
            hits[i].append((band, near[post_id][1], post_id))
        return hits

    def add(
        self,
        post_id: str,
        digest: str | None,
        fingerprint: int | None,
        keys: Sequence[int] | None = None,
    ) -> int | None:
        """Remember a post; returns the sequence number its fingerprint got (None: not added)."""
        if digest is not None and digest not in self._exact:
            self._exact[digest] = post_id
            if len(self._exact) > self.window:
                self._exact.popitem(last=False)
        if fingerprint is None or post_id in self._near:
            return None
        seq = self.next_seq
        self.next_seq += 1
        self._near[post_id] = (fingerprint, seq)
        for key in keys if keys is not None else _band_keys(fingerprint):
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = (array.array("Q", (fingerprint,)), [post_id])
            else:
                bucket[0].append(fingerprint)
                bucket[1].append(post_id)
        if len(self._near) > self.window:
            self._evict()
        return seq

    def _evict(self) -> None:
        post_id, (fingerprint, _) = self._near.popitem(last=False)
        self._evicted += 1
        for key in _band_keys(fingerprint):
            bucket = self._buckets.get(key)
            if bucket and bucket[1][0] == post_id:  # the oldest entry is first in its bucket
                del bucket[0][0]
                del bucket[1][0]
                if not bucket[1]:
                    del self._buckets[key]


class _NearLookup:
    """`DuplicateIndex.find_near` for the posts of one batch, in order, with the index's hits
    as of the batch's start computed at once (`near_hits`) and the fingerprints the batch adds
    itself checked as they come. The answer is `find_near`'s: in band order, the oldest live
    fingerprint within reach (older ones are those held before the batch)."""

    def __init__(
        self, index: DuplicateIndex, fingerprints: Sequence[int], keys: Sequence[Sequence[int]]
    ) -> None:
        self.index = index
        self.hits = index.near_hits(fingerprints, keys)
        self.added: dict[int, list[tuple[int, str, int]]] = {}  # band key -> (fp, id, seq)

    def find(self, n: int, fingerprint: int, keys: Sequence[int]) -> str | None:
        """The near duplicate of the batch's n-th fingerprint."""
        hits = self.hits[n]
        if not hits and not self.added:
            return None
        floor = self.index.floor()
        for band, key in enumerate(keys):
            for hit_band, seq, post_id in hits:
                if hit_band == band and seq >= floor:
                    return post_id
            for other, post_id, seq in self.added.get(key, ()):
                if seq >= floor and (other ^ fingerprint).bit_count() <= MAX_DISTANCE:
                    return post_id
        return None

    def add(self, post_id: str, fingerprint: int, keys: Sequence[int], seq: int) -> None:
        for key in keys:
            self.added.setdefault(key, []).append((fingerprint, post_id, seq))


class Deduplicator:
    """Fingerprint each post (`fingerprint`: content hash and SimHash, the costly part) and mark
    it against the recent ones (`mark`: dict lookups). In one process both run in the door.

    Scaled out (docs/cluster.md), door workers run with `marks=False` and only fingerprint, in
    parallel; the single writer marks every post, whichever worker handled it, with the same
    `mark` (docs/decisions/0005-broker.md measures the split).
    """

    name = "dedup"

    def __init__(
        self,
        window: int = 200_000,
        *,
        marks: bool = True,
        cache_size: int = 20_000,
        forms: TextForms | None = None,
        batch_lookup_from: int = BATCH_LOOKUP_FROM,
    ) -> None:
        self.index = DuplicateIndex(window)
        self.marks = marks
        self.batch_lookup_from = batch_lookup_from
        # The door hands its own `TextForms`, so that the text is folded once for every stage.
        self.forms = forms if forms is not None else TextForms()
        self._hasher = SimHasher()
        # content hash -> fingerprint of the last `cache_size` distinct long texts: an exact copy
        # has its first's fingerprint (a pure function of the canonical text), so a copy-paste
        # flood costs a dict lookup per copy instead of a SimHash.
        self.cache_size = cache_size
        self._prints: OrderedDict[str, int] = OrderedDict()

    def seed(self, recent: Iterable[tuple[str, str | None, int | None]]) -> None:
        """Load (id, content_hash, signed simhash) of stored posts, oldest first."""
        for post_id, digest, simhash in recent:
            self.index.add(post_id, digest, None if simhash is None else _to_unsigned(simhash))

    def _fingerprints(
        self, digests: Sequence[str], tokens: Sequence[list[str]], wanted: Sequence[int]
    ) -> dict[int, int]:
        """Fingerprints of the posts `wanted`: each distinct text is hashed once, and not at
        all when it was hashed recently."""
        known = self._prints
        found: dict[int, int] = {}
        todo: dict[str, int] = {}  # content hash -> the first post of the batch with it
        for i in wanted:
            value = known.get(digests[i])
            if value is not None:
                found[i] = value
            else:
                todo.setdefault(digests[i], i)
        if todo:
            computed = self._hasher.fingerprints([tokens[i] for i in todo.values()])
            for digest, value in zip(todo, computed, strict=True):
                known[digest] = value
            while len(known) > self.cache_size:
                known.popitem(last=False)
            fresh = dict(zip(todo, computed, strict=True))
            for i in wanted:
                if i not in found:
                    found[i] = fresh[digests[i]]
        return found

    def __call__(self, posts: Sequence[Post]) -> list[Post]:
        fingerprinted = self.fingerprint(posts)
        return self.mark(fingerprinted) if self.marks else fingerprinted

    def fingerprint(self, posts: Sequence[Post]) -> list[Post]:
        """Posts with `content_hash` (None for a text with nothing left after canonicalising)
        and `simhash` (None for short texts and texts a platform tells apart) set."""
        folded = self.forms.folded
        texts = [canonical(post.text, folded(post.text)) for post in posts]
        scopes = [distinguishing(post) for post in posts]
        digests = [
            content_hash(f"{text}\n{scope}" if scope else text)
            for text, scope in zip(texts, scopes, strict=True)
        ]
        tokens = [text.split() for text in texts]
        long_enough = [
            i for i, t in enumerate(tokens) if len(t) >= MIN_TOKENS_FOR_NEAR and not scopes[i]
        ]
        found = self._fingerprints(digests, tokens, long_enough)
        return [
            msgspec.structs.replace(
                post,
                content_hash=digest if text else None,
                simhash=None if i not in found else _to_signed(found[i]),
            )
            for i, (post, text, digest) in enumerate(zip(posts, texts, digests, strict=True))
        ]

    def mark(self, posts: Sequence[Post]) -> list[Post]:
        """Posts (fingerprinted) with `duplicate_of`/`duplicate_kind` set against the memory,
        which learns each post that is not an exact copy."""
        digests = [post.content_hash for post in posts]
        prints: list[int | None] = [
            None if post.simhash is None else _to_unsigned(post.simhash) for post in posts
        ]
        found = {i: value for i, value in enumerate(prints) if value is not None}
        keys: list[list[int] | None] = [None] * len(posts)
        for i, post_keys in zip(found, band_keys(list(found.values())), strict=True):
            keys[i] = post_keys
        # Near lookups at once for the posts that may need one: not reposts, not copies of a
        # text already held (those are exact duplicates); any other falls back to `find_near`.
        exact = self.index.find_exact
        ask = [i for i in found if not posts[i].repost_of and exact(digests[i] or "") is None]
        if len(ask) < BATCH_LOOKUP_MIN or len(self.index) < self.batch_lookup_from:
            ask = []  # numpy's fixed costs outweigh a Python loop over a few short buckets
        order = {i: n for n, i in enumerate(ask)}  # post position -> position in `ask`
        lookup = (
            _NearLookup(self.index, [found[i] for i in ask], [keys[i] or [] for i in ask])
            if ask
            else None
        )
        out = []
        for i, (post, digest, fingerprint, band) in enumerate(
            zip(posts, digests, prints, keys, strict=True)
        ):
            duplicate_of: str | None = None
            kind: str | None = None
            if post.repost_of:
                duplicate_of, kind = post.repost_of, "repost"
            elif digest and (first := self.index.find_exact(digest)) and first != post.id:
                duplicate_of, kind = first, "exact"
            elif (
                fingerprint is not None
                and band is not None
                and (
                    near := lookup.find(order[i], fingerprint, band)
                    if lookup is not None and i in order
                    else self.index.find_near(fingerprint, band)
                )
                and near != post.id
            ):
                duplicate_of, kind = near, "near"
            if digest and kind != "exact":
                # An exact copy adds nothing to find: in a copy-paste flood, indexing every copy
                # would pile identical fingerprints into the same buckets.
                seq = self.index.add(post.id, digest, fingerprint, band)
                if lookup is not None and seq is not None and fingerprint is not None and band:
                    lookup.add(post.id, fingerprint, band, seq)
            out.append(
                msgspec.structs.replace(post, duplicate_of=duplicate_of, duplicate_kind=kind)
            )
        return out
