"""Newest-first pages without reading every match: time windows that widen until a page is full.

A page of a common query ("#now OR (achtergrond AND mysterie)") needs only its newest few dozen
matches, but a full-text lookup reads every match of every term it names, however old. So a page
is searched window by window: created_us in [lowest, highest), newest window first, each window
older than the one before and wider, until the page is full or the archive's first post is
reached. The windows partition time, and each is read in the page's own order (created_us DESC,
pk DESC), so the concatenated windows give exactly the rows one unbounded search would, in the same
order: nothing is cached and the answer does not depend on the plan.

Sizing, by term rarity: a probe asks the full-text index for the `wanted * 2`-th newest post that
the query's estimate expression matches, which costs that many index entries however common the
terms are; the first window reaches back to it. Each next window is sized from the matches found
so far (at least double, at most eight times the time covered); the last one is open towards the
past. Windows are not used where one unbounded search is cheaper:

- SQLite: the probe goes by rowid, so it also says about how many posts the first window holds.
  Bounding a window costs an index-only scan of its posts (`_SCAN_PER_LOOKUP` of them cost about
  as much as reading one match); a query whose driving expression matches fewer posts than that
  is read in one go, and a widening window that would hold a quarter of the archive is left open.
- PostgreSQL: the probe walks ix_posts_created_us, so it runs only after a capped count from the
  GIN index says the query is common; and exact queries keep `search._plan`, whose walk of that
  index with LIMIT already stops at a full page. Windows serve the inexact ones (hashtags, NEAR,
  place:), whose candidates the matcher checks and which are read without LIMIT.

On SQLite each window also bounds the full-text lookups by rowid (`FTS_LOWEST`/`FTS_HIGHEST`):
the smallest and largest pk among the window's posts, read from ix_posts_created_us, so FTS5
reads only that stretch of each term's list. PostgreSQL needs no bounds: its planner sees the
created_us range and starts from the B-tree index for a narrow one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from stadspuls.query.translate import Translation

__all__ = ["TimeWindows", "Window", "plan_windows"]

# The probe asks for the (wanted * _PROBE_FACTOR)-th newest estimated match: the margin covers
# filters the estimate leaves out (lang:, source:, the matcher's final check).
_PROBE_FACTOR = 2
_PROBE_MIN = 100
# How much older the next window reaches, relative to the time covered so far.
_GROW_MIN = 1.0
_GROW_MAX = 8.0
_FIRST_SHARE = 4096
# Scanning one post's entry in ix_posts_created_us (for a window's pk bounds) against looking up
# one full-text match (materialising it, then reading and sorting its row): about 1 to 30-60 at
# 10M posts.
_SCAN_PER_LOOKUP = 32
_WIDEST_SHARE = 4
_WIDEST_GROWTH = 16
_HIGHEST_PK = 2**63 - 1
# Walking ix_posts_created_us one step against reading one matched row (`search._STEP_COST`).
_STEP_COST = 0.2
# Headroom on the extrapolated span, so that the next window is usually the last.
_MARGIN = 1.5


@dataclass(frozen=True)
class Window:
    """Posts with lowest <= created_us < highest (None: unbounded on that side); on SQLite the
    pks of those posts lie within [pk_lowest, pk_highest] (None: not known, unbounded)."""

    lowest: int | None
    highest: int | None
    pk_lowest: int | None = None
    pk_highest: int | None = None


class TimeWindows:
    """The windows of one search, newest first. The caller sets `found` (the matches found so
    far) after reading each window; the next window is sized from it."""

    def __init__(
        self,
        conn: sa.Connection,
        wanted: int,
        newest: int,
        oldest: int,
        first_lowest: int,
        rows: tuple[int, int] | None = None,
        text: str | None = None,
    ) -> None:
        self.conn = conn
        self.wanted = wanted
        self.newest = newest  # created_us of the newest post in range
        self.oldest = oldest  # created_us of the oldest post in range
        self.first_lowest = first_lowest
        self.found = 0
        self.sqlite = conn.dialect.name == "sqlite"
        # SQLite: (posts in the archive, posts in the first window, about): a window that would
        # hold more than _WIDEST_SHARE of the archive, or _WIDEST_GROWTH times the first, is
        # not bounded but left open towards the past (its bounds would cost more than they save).
        self.widest = (
            None if rows is None else min(rows[0] // _WIDEST_SHARE, rows[1] * _WIDEST_GROWTH)
        )
        self.text = text  # the driving full-text expression (SQLite)
        self.last_pk: int | None = None  # the lowest pk of the last bounded window
        self.per_us = 0.0 if rows is None else rows[0] / max(1, newest - oldest)

    def __iter__(self) -> Iterator[Window]:
        highest: int | None = None
        lowest = max(self.first_lowest, self.oldest)
        while True:
            if lowest <= self.oldest:
                yield self._bounded(None, highest)
                return
            yield self._bounded(lowest, highest)
            if self.found >= self.wanted:
                return
            covered = self.newest + 1 - lowest
            if self.found == 0:
                grow = _GROW_MAX / 2
            else:
                needed = (self.wanted - self.found) / self.found * _MARGIN
                grow = min(max(needed, _GROW_MIN), _GROW_MAX)
            highest, lowest = lowest, lowest - max(1, int(covered * grow))
            if lowest > self.oldest and not self._worth_bounding(highest - lowest):
                yield self._bounded(None, highest)
                return

    def _worth_bounding(self, span: int) -> bool:
        """Whether the next window (`span` microseconds) is better bounded (SQLite) than left
        open: not when it would hold more than `widest` posts, nor when fewer older posts
        match the driving expression than bounding it would scan entries for (counted up to
        that many)."""
        if self.widest is None:
            return True
        rows = span * self.per_us
        if rows > self.widest:
            return False
        if self.text is None or self.last_pk is None:
            return True
        cap = int(rows) // _SCAN_PER_LOOKUP + 1
        (older,) = self.conn.exec_driver_sql(
            "SELECT count(*) FROM (SELECT rowid FROM posts_fts"
            " WHERE posts_fts MATCH ? AND rowid < ? LIMIT ?)",
            (self.text, self.last_pk, cap),
        ).one()
        return bool(older >= cap)

    def _bounded(self, lowest: int | None, highest: int | None) -> Window:
        if not self.sqlite or lowest is None:
            # The last window reads each term's list from its start anyway: no scan for bounds.
            return Window(lowest, highest)
        if highest is None:  # the newest window takes every newer post: no upper pk bound
            sql = "SELECT min(pk), NULL FROM posts INDEXED BY ix_posts_created_us"
            sql += " WHERE created_us >= ?"
            params: tuple[int, ...] = (lowest,)
        else:
            sql = "SELECT min(pk), max(pk) FROM posts INDEXED BY ix_posts_created_us"
            sql += " WHERE created_us >= ? AND created_us < ?"
            params = (lowest, highest)
        pk_lowest, pk_highest = self.conn.exec_driver_sql(sql, params).one()
        if pk_lowest is None:  # no post in the window: an empty range
            return Window(lowest, highest, 1, 0)
        self.last_pk = int(pk_lowest)
        return Window(
            lowest, highest, int(pk_lowest), _HIGHEST_PK if pk_highest is None else int(pk_highest)
        )


def plan_windows(
    conn: sa.Connection,
    translation: Translation,
    wanted: int,
    *,
    since_us: int | None = None,
    until_us: int | None = None,
) -> TimeWindows | Literal["by_rowid"] | None:
    """Windows for a page of `wanted` posts, or None when one unbounded search is the better
    plan: no full-text part to estimate with, an empty range, or a rare query ("by_rowid"
    when the probe showed it rare enough that `search._plan` would read it by rowid)."""
    if translation.estimate is None:
        return None
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    in_range = []
    params: list[object] = []
    if since_us is not None:
        in_range.append(f"created_us >= {mark}")
        params.append(since_us)
    if until_us is not None:
        in_range.append(f"created_us < {mark}")
        params.append(until_us)
    where = f" WHERE {' AND '.join(in_range)}" if in_range else ""
    if sqlite and translation.text is None:
        return None  # nothing to bound: `search._plan` walks ix_posts_created_us
    if not sqlite and translation.exact:
        # A page of an exact query already stops early: `search._plan` walks
        # ix_posts_created_us with LIMIT when the query is common, which a window only repeats.
        # Windows are for the candidates the matcher checks, which are read without LIMIT.
        return None
    newest, oldest, total = conn.exec_driver_sql(
        f"SELECT (SELECT max(created_us) FROM posts{where}),"
        f" (SELECT min(created_us) FROM posts{where}),"
        " (SELECT coalesce(max(pk), 0) FROM posts)",
        (*params, *params),
    ).one()
    if newest is None:
        return None
    probe = max(wanted * _PROBE_FACTOR, _PROBE_MIN)
    if sqlite:
        row = conn.exec_driver_sql(
            "SELECT posts.created_us, posts.pk FROM posts WHERE posts.pk = ("
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC"
            " LIMIT 1 OFFSET ?)",
            (translation.estimate, probe - 1),
        ).first()
    else:
        # PostgreSQL walks ix_posts_created_us for the probe, testing each post: cheap when the
        # query is common, a walk through the whole archive when it is rare. A capped count
        # from the GIN index first (as `search._plan` does) keeps rare queries in one search.
        threshold = math.isqrt(int(wanted * total * _STEP_COST)) + probe
        (matched,) = conn.exec_driver_sql(
            "SELECT count(*) FROM"
            " (SELECT 1 FROM posts WHERE tsv @@ CAST(%s AS tsquery) LIMIT %s) AS matched",
            (translation.estimate, threshold),
        ).one()
        if matched < threshold:
            return None
        # Only the created_us range matters here, not since/until: a probe past `until` only
        # makes the first window narrower.
        row = conn.exec_driver_sql(
            "SELECT created_us FROM posts WHERE tsv @@ CAST(%s AS tsquery)"
            " ORDER BY created_us DESC LIMIT 1 OFFSET %s",
            (translation.estimate, probe - 1),
        ).first()
    if row is None:
        # Fewer than `probe` matches: where that is below `search._plan`'s threshold for
        # walking the time index, it need not count them again.
        threshold = math.isqrt(int(wanted * total * _STEP_COST)) + 1
        return "by_rowid" if sqlite and probe <= threshold else None
    rows = None
    if sqlite:
        # The rowid probe found the `probe`-th newest match at pk row[1]: about `window` posts
        # are newer (pk follows arrival, which mostly follows time). Windows pay when scanning
        # those posts' index entries for pk bounds costs less than reading every match of the
        # driving expression: a capped count says whether it has that many.
        window = int(total) - int(row[1]) + 1
        if window > total // 2:
            return None
        # The driving expression matches at least about probe * total / window posts (the
        # estimate's density); only past that is it worth counting.
        cap = window // _SCAN_PER_LOOKUP + 1
        if cap > probe * total // window:
            (matched,) = conn.exec_driver_sql(
                "SELECT count(*) FROM"
                " (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? LIMIT ?)",
                (translation.text, cap),
            ).one()
            if matched < cap:
                return None
        rows = (int(total), window)
    # At least 1/_FIRST_SHARE of the time range, so that a narrow first window (a probe past
    # `until`) still widens to the whole range in a few steps.
    first_lowest = min(int(row[0]), int(newest) - (int(newest) - int(oldest)) // _FIRST_SHARE)
    return TimeWindows(conn, wanted, int(newest), int(oldest), first_lowest, rows, translation.text)
