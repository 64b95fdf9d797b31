"""Reads for the dashboard's aggregates: the rollup cells (`monitor_buckets`, `monitor_facets`),
open alerts per monitor, and the two small reads over posts the viewer's privacy floor and the
top terms need (an exact count of distinct authors; the newest texts of a range)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa

from stadspuls.store.schema import (
    alerts,
    monitor_buckets,
    monitor_facets,
    monitor_posts,
    monitors,
    posts,
)

# An alert still being handled: not resolved, not a false alarm.
OPEN_STATES = ("open", "acknowledged")


class BucketRow(NamedTuple):
    monitor_id: int
    start_us: int
    posts: int
    authors: int
    negative: int
    neutral: int
    positive: int
    last_us: int


class FacetRow(NamedTuple):
    monitor_id: int
    day_us: int
    kind: str
    value: str
    posts: int
    authors: int
    negative: int


def buckets(
    conn: sa.Connection, monitor_ids: Sequence[int], since_us: int, until_us: int
) -> list[BucketRow]:
    """The hourly cells of the monitors with a start in [since, until)."""
    if not monitor_ids:
        return []
    b = monitor_buckets.c
    query = sa.select(
        b.monitor_id, b.start_us, b.posts, b.authors, b.negative, b.neutral, b.positive, b.last_us
    ).where(b.monitor_id.in_(list(monitor_ids)), b.start_us >= since_us, b.start_us < until_us)
    return list(map(BucketRow._make, conn.execute(query).all()))


def buckets_at(
    conn: sa.Connection, monitor_ids: Sequence[int], starts: Sequence[int]
) -> list[BucketRow]:
    """The hourly cells of the monitors that start at the given hours (index seeks: the
    overview needs its 24 hours and the same hours of the 4 weeks before, not all between)."""
    if not monitor_ids or not starts:
        return []
    b = monitor_buckets.c
    query = sa.select(
        b.monitor_id, b.start_us, b.posts, b.authors, b.negative, b.neutral, b.positive, b.last_us
    ).where(b.monitor_id.in_(list(monitor_ids)), b.start_us.in_(list(starts)))
    return list(map(BucketRow._make, conn.execute(query).all()))


def facets(
    conn: sa.Connection,
    monitor_ids: Sequence[int] | None,
    since_us: int,
    until_us: int,
    kinds: Sequence[str] | None = None,
) -> list[FacetRow]:
    """The daily facet cells (of every monitor: None) with a day in [since, until)."""
    f = monitor_facets.c
    clauses = [f.day_us >= since_us, f.day_us < until_us]
    if monitor_ids is not None:
        clauses.append(f.monitor_id.in_(list(monitor_ids)))
    if kinds is not None:
        clauses.append(f.kind.in_(list(kinds)))
    query = sa.select(
        f.monitor_id, f.day_us, f.kind, f.value, f.posts, f.authors, f.negative
    ).where(*clauses)
    return list(map(FacetRow._make, conn.execute(query).all()))


def first_buckets(conn: sa.Connection, monitor_ids: Sequence[int]) -> dict[int, int]:
    """monitor id -> the start of its oldest hourly cell (monitors without cells left out).
    One index seek per monitor."""
    if not monitor_ids:
        return {}
    oldest = (
        sa.select(sa.func.min(monitor_buckets.c.start_us))
        .where(monitor_buckets.c.monitor_id == monitors.c.id)
        .scalar_subquery()
    )
    query = sa.select(monitors.c.id, oldest).where(monitors.c.id.in_(list(monitor_ids)))
    return {int(m): int(first) for m, first in conn.execute(query) if first is not None}


def newest_buckets(conn: sa.Connection, monitor_ids: Sequence[int]) -> dict[int, BucketRow]:
    """monitor id -> its newest hourly cell (for the time of its last post): per monitor one
    seek for the newest start and one for its cell."""
    if not monitor_ids:
        return {}
    b = monitor_buckets.c
    inner = monitor_buckets.alias("inner")
    newest = (
        sa.select(sa.func.max(inner.c.start_us))
        .where(inner.c.monitor_id == monitors.c.id)
        .correlate(monitors)
        .scalar_subquery()
    )
    query = (
        sa.select(
            b.monitor_id, b.start_us, b.posts, b.authors, b.negative, b.neutral, b.positive,
            b.last_us,
        )
        .select_from(monitors.join(monitor_buckets, b.monitor_id == monitors.c.id))
        .where(monitors.c.id.in_(list(monitor_ids)), b.start_us == newest)
    )  # fmt: skip
    return {int(row[0]): BucketRow._make(row) for row in conn.execute(query)}


def open_alerts(
    conn: sa.Connection, monitor_ids: Sequence[int] | None = None
) -> dict[int, dict[str, int]]:
    """monitor id -> {severity: number of its alerts still being handled}."""
    query = (
        sa.select(alerts.c.monitor_id, alerts.c.severity, sa.func.count())
        .where(alerts.c.state.in_(OPEN_STATES))
        .group_by(alerts.c.monitor_id, alerts.c.severity)
    )
    if monitor_ids is not None:
        query = query.where(alerts.c.monitor_id.in_(list(monitor_ids)))
    out: dict[int, dict[str, int]] = {}
    for monitor_id, severity, count in conn.execute(query):
        out.setdefault(int(monitor_id), {})[severity] = int(count)
    return out


def distinct_authors(
    conn: sa.Connection, monitor_ids: Sequence[int], since_us: int, until_us: int
) -> int:
    """The exact number of distinct authors of the monitors' posts in [since, until): a range
    scan of the monitor's time index, for the privacy floor's rare undecided case."""
    mp = monitor_posts.c
    query = (
        sa.select(sa.func.count(sa.distinct(posts.c.author_key)))
        .select_from(monitor_posts.join(posts, posts.c.pk == mp.post_pk))
        .where(mp.monitor_id.in_(list(monitor_ids)), mp.created_us >= since_us,
               mp.created_us < until_us)
    )  # fmt: skip
    return int(conn.execute(query).scalar_one())


def newest_texts(
    conn: sa.Connection, monitor_id: int, since_us: int, until_us: int, limit: int
) -> list[tuple[str | None, str]]:
    """(author pseudonym, text) of the monitor's newest `limit` posts in [since, until)."""
    mp = monitor_posts.c
    query = (
        sa.select(posts.c.author_key, posts.c.text)
        .select_from(monitor_posts.join(posts, posts.c.pk == mp.post_pk))
        .where(mp.monitor_id == monitor_id, mp.created_us >= since_us, mp.created_us < until_us)
        .order_by(mp.created_us.desc())
        .limit(limit)
    )
    return [(author, text) for author, text in conn.execute(query)]
