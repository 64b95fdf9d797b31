"""Monitors and the posts they matched: CRUD, links, per-monitor reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from stadspuls.records import Monitor, Post, utcnow
from stadspuls.store.database import connected
from stadspuls.store.posts import post_filters
from stadspuls.store.rows import COLUMNS, from_us, row_to_post, to_us
from stadspuls.store.schema import (
    alert_deliveries,
    alert_events,
    alert_rules,
    alerts,
    monitor_buckets,
    monitor_facets,
    monitor_posts,
    monitors,
    posts,
    stories,
    story_posts,
)


class MonitorExists(ValueError):
    pass


def _row_to_monitor(row: sa.RowMapping) -> Monitor:
    return Monitor(
        id=int(row["id"]),
        name=row["name"],
        query=row["query"],
        owner=row["owner"],
        purpose=row["purpose"],
        legal_basis=row["legal_basis"],
        retention_days=int(row["retention_days"]),
        places=tuple(json.loads(row["places"])) if row["places"] else (),
        active=bool(row["active"]),
        created_at=from_us(row["created_us"]),
        updated_at=from_us(row["updated_us"]),
    )


def _values(monitor: Monitor) -> dict[str, object]:
    return {
        "name": monitor.name,
        "query": monitor.query,
        "owner": monitor.owner,
        "purpose": monitor.purpose,
        "legal_basis": monitor.legal_basis,
        "retention_days": monitor.retention_days,
        "places": json.dumps(list(monitor.places)) if monitor.places else None,
        "active": monitor.active,
    }


def insert_monitor(engine: sa.Engine, monitor: Monitor) -> Monitor:
    now = to_us(utcnow())
    try:
        with engine.begin() as conn:
            result = conn.execute(
                monitors.insert().values(**_values(monitor), created_us=now, updated_us=now)
            )
            key = result.inserted_primary_key
    except sa.exc.IntegrityError as error:
        raise MonitorExists(f"a monitor named {monitor.name!r} exists already") from error
    if key is None or key[0] is None:
        raise RuntimeError("the database returned no id for the new monitor")
    found = get_monitor(engine, int(key[0]))
    assert found is not None
    return found


def update_monitor(engine: sa.Engine, monitor: Monitor) -> Monitor:
    if monitor.id is None:
        raise ValueError("an unsaved monitor cannot be updated")
    try:
        with engine.begin() as conn:
            conn.execute(
                monitors.update()
                .where(monitors.c.id == monitor.id)
                .values(**_values(monitor), updated_us=to_us(utcnow()))
            )
    except sa.exc.IntegrityError as error:
        raise MonitorExists(f"a monitor named {monitor.name!r} exists already") from error
    found = get_monitor(engine, monitor.id)
    assert found is not None
    return found


def delete_monitor(engine: sa.Engine, monitor_id: int) -> bool:
    """Remove a monitor with its links, rollups, alert rules, alerts (events, deliveries) and
    stories.
    Explicitly, child tables first: SQLite enforces the cascades only where a connection has
    switched foreign keys on, and a file may be opened by other tools too."""
    of_alerts = sa.select(alerts.c.id).where(alerts.c.monitor_id == monitor_id)
    of_events = sa.select(alert_events.c.id).where(alert_events.c.alert_id.in_(of_alerts))
    of_stories = sa.select(stories.c.id).where(stories.c.monitor_id == monitor_id)
    with engine.begin() as conn:
        conn.execute(alert_deliveries.delete().where(alert_deliveries.c.event_id.in_(of_events)))
        conn.execute(alert_events.delete().where(alert_events.c.alert_id.in_(of_alerts)))
        conn.execute(alerts.delete().where(alerts.c.monitor_id == monitor_id))
        conn.execute(alert_rules.delete().where(alert_rules.c.monitor_id == monitor_id))
        conn.execute(story_posts.delete().where(story_posts.c.story_id.in_(of_stories)))
        conn.execute(stories.delete().where(stories.c.monitor_id == monitor_id))
        conn.execute(monitor_posts.delete().where(monitor_posts.c.monitor_id == monitor_id))
        conn.execute(monitor_buckets.delete().where(monitor_buckets.c.monitor_id == monitor_id))
        conn.execute(monitor_facets.delete().where(monitor_facets.c.monitor_id == monitor_id))
        return bool(conn.execute(monitors.delete().where(monitors.c.id == monitor_id)).rowcount)


def get_monitor(bind: sa.Engine | sa.Connection, monitor_id: int) -> Monitor | None:
    with connected(bind) as conn:
        row = conn.execute(sa.select(monitors).where(monitors.c.id == monitor_id)).first()
    return None if row is None else _row_to_monitor(row._mapping)


def find_monitor(engine: sa.Engine, name: str) -> Monitor | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(monitors).where(monitors.c.name == name)).first()
    return None if row is None else _row_to_monitor(row._mapping)


def list_monitors(engine: sa.Engine, *, active_only: bool = False) -> list[Monitor]:
    query = sa.select(monitors).order_by(monitors.c.name)
    if active_only:
        query = query.where(monitors.c.active.is_(True))
    with engine.connect() as conn:
        return [_row_to_monitor(row._mapping) for row in conn.execute(query)]


def monitors_version(bind: sa.Engine | sa.Connection) -> tuple[int, int]:
    """Changes when a monitor (or one of its alert rules) is added, edited or removed:
    (count, newest update)."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(monitors.c.updated_us), 0))
    if isinstance(bind, sa.Connection):
        count, newest = bind.execute(query).one()
    else:
        with bind.connect() as conn:
            count, newest = conn.execute(query).one()
    return int(count), int(newest)


def pks_for_ids(conn: sa.Connection, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """post id -> (pk, created_us) for the ids that are stored."""
    out: dict[str, tuple[int, int]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        query = sa.select(posts.c.id, posts.c.pk, posts.c.created_us).where(posts.c.id.in_(chunk))
        for row in conn.execute(query):
            out[row.id] = (int(row.pk), int(row.created_us))
    return out


def insert_links(conn: sa.Connection, links: Iterable[tuple[int, int, int]]) -> int:
    """Store (monitor id, post pk, post created_us) links; the number really inserted."""
    rows = [{"monitor_id": m, "post_pk": p, "created_us": c} for m, p, c in links]
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    statement = (
        dialect_insert(monitor_posts).on_conflict_do_nothing().returning(monitor_posts.c.post_pk)
    )
    # rowcount is not reliable for executemany; RETURNING lists the rows really inserted.
    return len(conn.execute(statement, rows).all())


def link_posts(engine: sa.Engine, matches: Sequence[tuple[int, str]]) -> int:
    """Store (monitor id, post id) matches of a backfill; the number of links inserted."""
    with engine.begin() as conn:
        found = pks_for_ids(conn, sorted({post_id for _, post_id in matches}))
        return insert_links(conn, [(m, *found[p]) for m, p in matches if p in found])


def unlink_all(engine: sa.Engine, monitor_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(monitor_posts.delete().where(monitor_posts.c.monitor_id == monitor_id))


def links_for(conn: sa.Connection, pks: Sequence[int]) -> dict[int, list[int]]:
    """post pk -> the ids of the monitors it is linked to (pks without links are left out)."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(pks), 500):
        chunk = list(pks[start : start + 500])
        query = (
            sa.select(monitor_posts.c.post_pk, monitor_posts.c.monitor_id)
            .where(monitor_posts.c.post_pk.in_(chunk))
            .order_by(monitor_posts.c.post_pk, monitor_posts.c.monitor_id)
        )
        for pk, monitor_id in conn.execute(query):
            out.setdefault(int(pk), []).append(int(monitor_id))
    return out


def monitor_post_page(
    bind: sa.Engine | sa.Connection,
    monitor_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sequence[str] | None = None,
    lang: str | None = None,
    place: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Post]]:
    """(total, page of posts newest first) matched by a monitor."""
    clauses = [monitor_posts.c.monitor_id == monitor_id]
    narrowed = post_filters(sources=sources, lang=lang, place=place)
    if since is not None:
        clauses.append(monitor_posts.c.created_us >= to_us(since))
    if until is not None:
        clauses.append(monitor_posts.c.created_us < to_us(until))
    page = (
        sa.select(*[posts.c[name] for name in COLUMNS])
        .select_from(monitor_posts.join(posts, posts.c.pk == monitor_posts.c.post_pk))
        .where(*clauses, *narrowed)
        .order_by(monitor_posts.c.created_us.desc(), monitor_posts.c.post_pk.desc())
        .limit(limit)
        .offset(offset)
    )
    total = sa.select(sa.func.count()).select_from(monitor_posts).where(*clauses)
    if narrowed:
        total = (
            sa.select(sa.func.count())
            .select_from(monitor_posts.join(posts, posts.c.pk == monitor_posts.c.post_pk))
            .where(*clauses, *narrowed)
        )
    with connected(bind) as conn:
        found = [row_to_post(row._mapping) for row in conn.execute(page)]
        return int(conn.execute(total).scalar_one()), found


def monitor_volume(
    engine: sa.Engine,
    monitor_id: int,
    *,
    bucket_seconds: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[datetime, int]]:
    width = bucket_seconds * 1_000_000
    bucket = (monitor_posts.c.created_us // width).label("bucket")
    clauses = [monitor_posts.c.monitor_id == monitor_id]
    if since is not None:
        clauses.append(monitor_posts.c.created_us >= to_us(since))
    if until is not None:
        clauses.append(monitor_posts.c.created_us < to_us(until))
    query = sa.select(bucket, sa.func.count()).where(*clauses).group_by(bucket).order_by(bucket)
    with engine.connect() as conn:
        return [(from_us(int(b) * width), int(n)) for b, n in conn.execute(query)]


def link_counts(engine: sa.Engine) -> dict[int, int]:
    query = sa.select(monitor_posts.c.monitor_id, sa.func.count()).group_by(
        monitor_posts.c.monitor_id
    )
    with engine.connect() as conn:
        return {int(m): int(n) for m, n in conn.execute(query)}


def link_count(engine: sa.Engine, monitor_id: int) -> int:
    """The posts one monitor holds now: a range over its own links, not a count of all."""
    query = sa.select(sa.func.count()).where(monitor_posts.c.monitor_id == monitor_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def holdings(bind: sa.Engine | sa.Connection) -> dict[int, tuple[int, datetime]]:
    """Per monitor: how many posts it holds now and the oldest one's time (the register)."""
    query = sa.select(
        monitor_posts.c.monitor_id, sa.func.count(), sa.func.min(monitor_posts.c.created_us)
    ).group_by(monitor_posts.c.monitor_id)
    with connected(bind) as conn:
        return {int(m): (int(n), from_us(int(oldest))) for m, n, oldest in conn.execute(query)}
