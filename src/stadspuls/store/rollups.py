"""The SQL of the rollups: the linked posts they are computed from, and the writes to
`monitor_buckets` (per monitor and UTC hour) and `monitor_facets` (per monitor, UTC day and
value). The counting itself is `stadspuls.rollups`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from stadspuls.store.schema import (
    consumers,
    monitor_buckets,
    monitor_facets,
    monitor_posts,
    monitors,
    posts,
)

_PAGE = 5000


class Linked(NamedTuple):
    """A post as the rollups see it: the monitor it is linked to and what is counted of it."""

    monitor_id: int
    pk: int
    created_us: int
    author_key: str | None
    sentiment: str | None
    source: str
    lang: str | None
    incident_type: str | None
    hashtags: str | None  # JSON array
    places: str | None  # JSON array of Place objects


_LINKED_COLUMNS = (
    monitor_posts.c.monitor_id,
    monitor_posts.c.post_pk,
    monitor_posts.c.created_us,
    posts.c.author_key,
    posts.c.sentiment,
    posts.c.source,
    posts.c.lang,
    posts.c.incident_type,
    posts.c.hashtags,
    posts.c.places,
)


def linked(
    conn: sa.Connection,
    *,
    monitor_ids: Sequence[int] | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
    upto_pk: int | None = None,
    below_pk: int | None = None,
    authors: Sequence[str] | None = None,
) -> Iterator[Linked]:
    """The stored posts linked to the given monitors (all: None), in a time range and a pk
    range; `authors` keeps only those authors' posts. Read in pages of the monitor's time index
    when no authors are given, so that a large monitor is never held in one result."""
    clauses: list[sa.ColumnElement[bool]] = []
    if monitor_ids is not None:
        clauses.append(monitor_posts.c.monitor_id.in_(list(monitor_ids)))
    if since_us is not None:
        clauses.append(monitor_posts.c.created_us >= since_us)
    if until_us is not None:
        clauses.append(monitor_posts.c.created_us < until_us)
    if upto_pk is not None:
        clauses.append(monitor_posts.c.post_pk <= upto_pk)
    if below_pk is not None:
        clauses.append(monitor_posts.c.post_pk < below_pk)
    base = sa.select(*_LINKED_COLUMNS).select_from(
        monitor_posts.join(posts, posts.c.pk == monitor_posts.c.post_pk)
    )
    if authors is not None:
        for start in range(0, len(authors), 500):
            chunk = list(authors[start : start + 500])
            query = base.where(*clauses, posts.c.author_key.in_(chunk))
            for row in conn.execute(query):
                yield Linked._make(row)
        return
    # Keyset pages over (monitor_id, post_pk), the primary key.
    after: tuple[int, int] | None = None
    while True:
        query = base.where(*clauses)
        if after is not None:
            query = query.where(
                sa.tuple_(monitor_posts.c.monitor_id, monitor_posts.c.post_pk) > sa.tuple_(*after)
            )
        query = query.order_by(monitor_posts.c.monitor_id, monitor_posts.c.post_pk).limit(_PAGE)
        rows = [Linked._make(row) for row in conn.execute(query)]
        yield from rows
        if len(rows) < _PAGE:
            return
        after = (rows[-1].monitor_id, rows[-1].pk)


def prior(
    conn: sa.Connection,
    *,
    authors: Sequence[str],
    monitor_ids: Sequence[int],
    since_us: int,
    until_us: int,
    below_pk: int,
) -> Iterator[Linked]:
    """The posts of these authors in [since, until) stored before `below_pk`, as linked to the
    given monitors: by the posts' author index first, then their links (read the other way
    round, a busy monitor's whole day would be scanned for a few authors)."""
    wanted = set(monitor_ids)
    names = ("pk", "created_us", "author_key", "sentiment", "source", "lang", "incident_type",
             "hashtags", "places")  # fmt: skip
    columns = [posts.c[name] for name in names]
    for start in range(0, len(authors), 500):
        query = sa.select(*columns).where(
            posts.c.author_key.in_(list(authors[start : start + 500])),
            posts.c.created_us >= since_us,
            posts.c.created_us < until_us,
            posts.c.pk < below_pk,
        )
        found = conn.execute(query).all()
        if not found:
            continue
        links: dict[int, list[int]] = {}
        pks = [row[0] for row in found]
        for page in range(0, len(pks), 500):
            query = sa.select(monitor_posts.c.post_pk, monitor_posts.c.monitor_id).where(
                monitor_posts.c.post_pk.in_(pks[page : page + 500])
            )
            for pk, monitor_id in conn.execute(query):
                if monitor_id in wanted:
                    links.setdefault(int(pk), []).append(int(monitor_id))
        for row in found:
            for monitor_id in links.get(row[0], ()):
                yield Linked(monitor_id, *row)


def lock_cursor(conn: sa.Connection, name: str) -> int | None:
    """Take the consumer's cursor row as this transaction's first statement and return its
    position (None: it never ran). A rebuild and the consumer's chunk then take turns, and each
    reads the links as the other left them: PostgreSQL locks the row; on SQLite a write that
    changes nothing takes the one write lock (a read first would see an older snapshot)."""
    if conn.dialect.name == "sqlite":
        conn.execute(
            consumers.update()
            .where(consumers.c.name == name)
            .values(updated_us=consumers.c.updated_us)
        )
        query = sa.select(consumers.c.last_pk).where(consumers.c.name == name)
    else:
        query = sa.select(consumers.c.last_pk).where(consumers.c.name == name).with_for_update()
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    return insert(table)


def add(
    conn: sa.Connection,
    buckets: Sequence[Mapping[str, int]],
    facets: Sequence[Mapping[str, int | str]],
) -> None:
    """Add counts to the cells (created when new). Each row's `authors` must be the authors
    new to that cell: the caller has checked them against what the cell already counts."""
    if buckets:
        insert = _dialect_insert(conn, monitor_buckets)
        new = insert.excluded
        table = monitor_buckets.c
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[table.monitor_id, table.start_us],
                set_={
                    "posts": table.posts + new.posts,
                    "authors": table.authors + new.authors,
                    "negative": table.negative + new.negative,
                    "neutral": table.neutral + new.neutral,
                    "positive": table.positive + new.positive,
                    "last_us": sa.case(
                        (new.last_us > table.last_us, new.last_us), else_=table.last_us
                    ),
                },
            ),
            list(buckets),
        )
    if facets:
        insert = _dialect_insert(conn, monitor_facets)
        new = insert.excluded
        cols = monitor_facets.c
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[cols.monitor_id, cols.day_us, cols.kind, cols.value],
                set_={
                    "posts": cols.posts + new.posts,
                    "authors": cols.authors + new.authors,
                    "negative": cols.negative + new.negative,
                },
            ),
            list(facets),
        )


def clear(conn: sa.Connection, monitor_id: int | None) -> None:
    """Remove a monitor's cells (every monitor's: None)."""
    for table in (monitor_buckets, monitor_facets):
        delete = table.delete()
        if monitor_id is not None:
            delete = delete.where(table.c.monitor_id == monitor_id)
        conn.execute(delete)


def insert(
    conn: sa.Connection,
    buckets: Sequence[Mapping[str, int]],
    facets: Sequence[Mapping[str, int | str]],
) -> None:
    """Insert cells that do not exist yet (after `clear`)."""
    for start in range(0, len(buckets), _PAGE):
        conn.execute(monitor_buckets.insert(), list(buckets[start : start + _PAGE]))
    for start in range(0, len(facets), _PAGE):
        conn.execute(monitor_facets.insert(), list(facets[start : start + _PAGE]))


def monitor_ids(conn: sa.Connection) -> list[int]:
    return [
        int(m) for m in conn.execute(sa.select(monitors.c.id).order_by(monitors.c.id)).scalars()
    ]
