"""Perceptual hashes: near-identical photos, found fast among everything received before.

`imagehash.phash` keeps the signs of the 64 lowest frequencies of a 32x32 DCT: resizing,
recompressing and mild colour edits flip a few bits, a different photo about half of them.
Near means a Hamming distance of at most `NEAR_BITS` = 8 of 64: a resized and recompressed
copy lands at 0–4 (tests/media/test_grouping.py), unrelated photos at 20–40 (the chance that
two random hashes are within 8 bits is about 1 in 200 million), and 8 still catches a copy that
was also cropped a little or had a caption bar added. Meedan Check uses about 10% of the bits
for the same purpose.

The index keeps every hash in a numpy array and compares one new hash to all of them with XOR
and a popcount: about 0.3 ms for 100,000 photos (bench/media.py), far below one decode, and
without any of the edge cases of bucketing (a near copy that falls in another bucket). The
database stays the truth: the index reads only rows it has not seen (plus a window of recent
ids, since concurrent transactions commit out of id order), and callers re-check what it finds.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

NEAR_BITS = 8
# Rows with ids this close to the newest read are read again: a transaction that took an id
# earlier may commit after one that took a later id.
RECHECK_WINDOW = 1000


def to_int(phash: str) -> int:
    return int(phash, 16)


def distance(a: str, b: str) -> int:
    return (to_int(a) ^ to_int(b)).bit_count()


def _as_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class Match:
    id: int
    distance: int


class PhashIndex:
    """The (id, hash) pairs of one table's rows, for near lookups. Thread-safe."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._hashes = np.zeros(0, dtype=np.int64)
        self._newest = 0

    def __len__(self) -> int:
        return len(self._ids)

    def refresh(self, conn: sa.Connection) -> None:
        """Read the rows added since the last refresh (and the recent window again)."""
        with self._lock:
            since = max(0, self._newest - RECHECK_WINDOW)
        rows = conn.execute(
            sa.select(self.table.c.id, self.table.c.phash)
            .where(self.table.c.id > since, self.table.c.phash.is_not(None))
            .order_by(self.table.c.id)
        ).all()
        ids = np.fromiter((int(row.id) for row in rows), dtype=np.int64, count=len(rows))
        hashes = np.fromiter(
            (_as_signed(to_int(row.phash)) for row in rows), dtype=np.int64, count=len(rows)
        )
        with self._lock:
            keep = self._ids <= since
            self._ids = np.concatenate((self._ids[keep], ids))
            self._hashes = np.concatenate((self._hashes[keep], hashes))
            if len(ids):
                self._newest = max(self._newest, int(ids[-1]))

    def add(self, row_id: int, phash: str) -> None:
        """A row this process just inserted (its transaction may still roll back: a later
        refresh of the window drops it then; callers re-check matches against the database)."""
        self.add_many([row_id], [phash])

    def add_many(self, row_ids: Sequence[int], phashes: Sequence[str]) -> None:
        ids = np.fromiter(row_ids, dtype=np.int64, count=len(row_ids))
        hashes = np.fromiter(
            (_as_signed(to_int(value)) for value in phashes), dtype=np.int64, count=len(phashes)
        )
        with self._lock:
            self._ids = np.concatenate((self._ids, ids))
            self._hashes = np.concatenate((self._hashes, hashes))

    def forget(self, row_ids: set[int]) -> None:
        with self._lock:
            keep = ~np.isin(self._ids, np.fromiter(row_ids, dtype=np.int64))
            self._ids = self._ids[keep]
            self._hashes = self._hashes[keep]

    def near(
        self, phash: str, *, bits: int = NEAR_BITS, below_id: int | None = None
    ) -> list[Match]:
        """Rows within `bits` of `phash`, nearest first (then oldest)."""
        with self._lock:
            ids, hashes = self._ids, self._hashes
        if not len(ids):
            return []
        differ = np.bitwise_count(np.bitwise_xor(hashes, np.int64(_as_signed(to_int(phash)))))
        hits = differ <= bits
        if below_id is not None:
            hits &= ids < below_id
        found = np.nonzero(hits)[0]
        matches = {int(ids[i]): int(differ[i]) for i in found}
        return [Match(i, d) for i, d in sorted(matches.items(), key=lambda kv: (kv[1], kv[0]))]


# One index per engine and table: a cache of what the database holds, never the truth (see
# above), so sharing it between the requests of one process is safe.
_INDEXES: weakref.WeakKeyDictionary[sa.Engine, dict[str, PhashIndex]] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def index_for(conn: sa.Connection, table: sa.Table) -> PhashIndex:
    with _INDEXES_LOCK:
        tables = _INDEXES.setdefault(conn.engine, {})
        found = tables.get(table.name)
        if found is None:
            found = tables[table.name] = PhashIndex(table)
    found.refresh(conn)
    return found
