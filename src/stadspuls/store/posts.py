"""Reading posts: listing with filters, single posts, volume per time bucket, stream state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.records import Post
from stadspuls.store.database import connected
from stadspuls.store.rows import COLUMNS, from_us, row_to_post, to_us
from stadspuls.store.schema import cursors, posts, source_counters

PLACE_CODE = re.compile(r"GM[0-9]{4}")


def post_filters(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for the common filters; `place` is a CBS municipality code ("GM0363")."""
    clauses: list[sa.ColumnElement[bool]] = []
    if since is not None:
        clauses.append(posts.c.created_us >= to_us(since))
    if until is not None:
        clauses.append(posts.c.created_us < to_us(until))
    if sources:
        clauses.append(posts.c.source.in_(list(sources)))
    if lang:
        clauses.append(posts.c.lang == lang)
    if place:
        if not PLACE_CODE.fullmatch(place):
            raise ValueError(f"not a CBS municipality code: {place!r} (e.g. GM0363)")
        # `places` holds the encoded Place records; their code is a fixed-format field.
        clauses.append(posts.c.places.contains(f'"code":"{place}"', autoescape=True))
    return clauses


def list_posts(
    bind: sa.Engine | sa.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Post]:
    """Stored posts, newest first, without a text query."""
    query = (
        sa.select(*[posts.c[name] for name in COLUMNS])
        .where(*post_filters(since=since, until=until, sources=sources, lang=lang, place=place))
        .order_by(posts.c.created_us.desc(), posts.c.pk.desc())
        .limit(limit)
        .offset(offset)
    )
    with connected(bind) as conn:
        return [row_to_post(row._mapping) for row in conn.execute(query)]


def get_post(bind: sa.Engine | sa.Connection, post_id: str) -> Post | None:
    query = sa.select(*[posts.c[name] for name in COLUMNS]).where(posts.c.id == post_id)
    with connected(bind) as conn:
        row = conn.execute(query).first()
    return None if row is None else row_to_post(row._mapping)


def posts_by_ids(bind: sa.Engine | sa.Connection, ids: Sequence[str]) -> list[Post]:
    """The stored posts among `ids`, in the order of `ids` (ids no longer stored are left out)."""
    if not ids:
        return []
    query = sa.select(*[posts.c[name] for name in COLUMNS]).where(posts.c.id.in_(list(ids)))
    with connected(bind) as conn:
        found = {row.id: row_to_post(row._mapping) for row in conn.execute(query)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def count_all(
    bind: sa.Engine | sa.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
) -> int:
    query = sa.select(sa.func.count()).select_from(posts)
    query = query.where(
        *post_filters(since=since, until=until, sources=sources, lang=lang, place=place)
    )
    with connected(bind) as conn:
        return int(conn.execute(query).scalar_one())


def volume(
    engine: sa.Engine,
    *,
    bucket_seconds: int,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
) -> list[tuple[datetime, int]]:
    """Post counts per time bucket (buckets aligned to the epoch, UTC), oldest first."""
    if bucket_seconds <= 0:
        raise ValueError("bucket_seconds must be positive")
    width = bucket_seconds * 1_000_000
    bucket = (posts.c.created_us // width).label("bucket")
    query = (
        sa.select(bucket, sa.func.count().label("n"))
        .where(*post_filters(since=since, until=until, sources=sources, lang=lang))
        .group_by(bucket)
        .order_by(bucket)
    )
    with engine.connect() as conn:
        return [(from_us(int(b) * width), int(n)) for b, n in conn.execute(query)]


def load_cursors(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {row.stream: row.cursor for row in conn.execute(sa.select(cursors))}


def load_counters(engine: sa.Engine) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(source_counters)):
            out.setdefault(row.source, {})[row.counter] = int(row.value)
    return out


def recent_fingerprints(engine: sa.Engine, n: int) -> Iterable[tuple[str, str | None, int | None]]:
    """(id, content_hash, simhash) of the `n` most recently collected posts, oldest first."""
    query = (
        sa.select(posts.c.id, posts.c.content_hash, posts.c.simhash)
        .order_by(posts.c.pk.desc())
        .limit(n)
    )
    with engine.connect() as conn:
        rows: list[tuple[str, str | None, int | None]] = [
            (r.id, r.content_hash, r.simhash) for r in conn.execute(query)
        ]
    return reversed(rows)
