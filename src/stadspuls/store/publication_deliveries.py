"""The publishing outbox (one row per publication and target) and the responses to what we
published.

A delivery is claimed by moving its `next_us` forward by a lease in a conditional UPDATE (still
pending, still due): of two runners that read the same due row, only one changes it and sends;
a runner killed mid-send leaves the row to be sent again when the lease ends (the targets make
a send idempotent per delivery where the channel allows it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from stadspuls.publish.records import Delivery
from stadspuls.store.rows import from_us
from stadspuls.store.schema import (
    monitor_buckets,
    publication_deliveries,
    publication_responses,
    publications,
)

MAX_ERROR = 500
d = publication_deliveries


def _delivery(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        publication_id=int(row["publication_id"]),
        target=row["target"],
        state=row["state"],
        attempts=int(row["attempts"]),
        next_at=from_us(row["next_us"]) if row["state"] == "pending" else None,
        last_error=row["last_error"],
        external_id=row["external_id"],
        url=row["url"],
        sent_at=None if row["sent_us"] is None else from_us(row["sent_us"]),
    )


def create(conn: sa.Connection, publication_id: int, targets: Iterable[str], now_us: int) -> int:
    """One pending delivery per target, due now."""
    rows = [
        {"publication_id": publication_id, "target": target, "state": "pending", "next_us": now_us}
        for target in targets
    ]
    if rows:
        conn.execute(d.insert(), rows)
    return len(rows)


def of_publication(conn: sa.Connection, publication_id: int) -> list[Delivery]:
    rows = conn.execute(
        sa.select(d).where(d.c.publication_id == publication_id).order_by(d.c.id)
    ).mappings()
    return [_delivery(row) for row in rows]


def get(conn: sa.Connection, delivery_id: int) -> Delivery | None:
    row = conn.execute(sa.select(d).where(d.c.id == delivery_id)).mappings().first()
    return None if row is None else _delivery(row)


def claim_due(engine: sa.Engine, now_us: int, *, lease_us: int, limit: int = 50) -> list[Delivery]:
    """Claim up to `limit` due pending deliveries, oldest first, each leased for one send."""
    query = (
        sa.select(d)
        .where(d.c.state == "pending", d.c.next_us <= now_us)
        .order_by(d.c.next_us, d.c.id)
        .limit(limit)
    )
    claimed = []
    with engine.begin() as conn:
        for row in conn.execute(query).mappings().all():
            taken = conn.execute(
                d.update()
                .where(d.c.id == row["id"], d.c.state == "pending", d.c.next_us <= now_us)
                .values(next_us=now_us + lease_us)
            )
            if taken.rowcount:
                claimed.append(_delivery({**row, "next_us": now_us + lease_us}))
    return claimed


def mark_sent(
    conn: sa.Connection, delivery_id: int, *, external_id: str, url: str | None, now_us: int
) -> bool:
    result = conn.execute(
        d.update()
        .where(d.c.id == delivery_id, d.c.state == "pending")
        .values(
            state="sent",
            external_id=external_id[:500],
            url=None if url is None else url[:1000],
            sent_us=now_us,
            attempts=d.c.attempts + 1,
            last_error=None,
        )
    )
    return bool(result.rowcount)


def mark_retry(conn: sa.Connection, delivery_id: int, *, next_us: int, error: str) -> bool:
    result = conn.execute(
        d.update()
        .where(d.c.id == delivery_id, d.c.state == "pending")
        .values(attempts=d.c.attempts + 1, next_us=next_us, last_error=error[:MAX_ERROR])
    )
    return bool(result.rowcount)


def postpone(conn: sa.Connection, delivery_id: int, *, next_us: int, error: str) -> bool:
    """Not tried (its target is not configured): look again at `next_us`."""
    result = conn.execute(
        d.update()
        .where(d.c.id == delivery_id, d.c.state == "pending")
        .values(next_us=next_us, last_error=error[:MAX_ERROR])
    )
    return bool(result.rowcount)


def mark_failed(conn: sa.Connection, delivery_id: int, *, error: str, attempted: bool) -> bool:
    values: dict[str, object] = {"state": "failed", "last_error": error[:MAX_ERROR]}
    if attempted:
        values["attempts"] = d.c.attempts + 1
    result = conn.execute(
        d.update().where(d.c.id == delivery_id, d.c.state == "pending").values(**values)
    )
    return bool(result.rowcount)


def counts(conn: sa.Connection) -> dict[str, int]:
    """state -> number of deliveries."""
    query = sa.select(d.c.state, sa.func.count()).group_by(d.c.state)
    return {state: int(n) for state, n in conn.execute(query)}


def pending_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(d.c.state == "pending")).scalar_one())


def next_due_us(conn: sa.Connection) -> int | None:
    found = conn.execute(sa.select(sa.func.min(d.c.next_us)).where(d.c.state == "pending"))
    value = found.scalar()
    return None if value is None else int(value)


# -- responses -------------------------------------------------------------------------------


def sent_since(conn: sa.Connection, since_us: int) -> list[tuple[int, str, str | None, str | None]]:
    """(publication id, target, external id, url) of deliveries sent since `since_us`."""
    rows = conn.execute(
        sa.select(d.c.publication_id, d.c.target, d.c.external_id, d.c.url).where(
            d.c.state == "sent", d.c.sent_us >= since_us
        )
    )
    return [(int(row[0]), row[1], row[2], row[3]) for row in rows]


def news_since(conn: sa.Connection, since_us: int) -> list[tuple[int, str | None, int]]:
    """(id, slug, published time) of publications published since `since_us`."""
    rows = conn.execute(
        sa.select(publications.c.id, publications.c.slug, publications.c.published_us).where(
            publications.c.state == "published", publications.c.published_us >= since_us
        )
    )
    return [(int(row[0]), row[1], int(row[2])) for row in rows]


def add_responses(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert responses not recorded yet (publication_id, post_pk, kind, created_us, sentiment);
    returns how many were new."""
    if not rows:
        return 0
    r = publication_responses
    keys = {(row["publication_id"], row["post_pk"]) for row in rows}
    existing = {
        (int(row[0]), int(row[1]))
        for row in conn.execute(
            sa.select(r.c.publication_id, r.c.post_pk).where(
                r.c.post_pk.in_(sorted({pk for _, pk in keys}))
            )
        )
    }
    new = []
    for row in rows:
        key = (row["publication_id"], row["post_pk"])
        if key not in existing:
            existing.add(key)
            new.append(row)
    if new:
        conn.execute(r.insert(), new)
    return len(new)


def responses_between(
    conn: sa.Connection, publication_id: int, start_us: int, end_us: int
) -> list[tuple[int, str, str | None]]:
    """(created_us, kind, sentiment) of a publication's responses in [start, end)."""
    r = publication_responses
    rows = conn.execute(
        sa.select(r.c.created_us, r.c.kind, r.c.sentiment).where(
            r.c.publication_id == publication_id,
            r.c.created_us >= start_us,
            r.c.created_us < end_us,
        )
    )
    return [(int(row[0]), row[1], row[2]) for row in rows]


def monitor_hours(
    conn: sa.Connection, monitor_id: int, start_us: int, end_us: int
) -> dict[int, tuple[int, int]]:
    """hour start -> (posts, negative) of a monitor's pre-aggregated hours in [start, end)."""
    b = monitor_buckets
    rows = conn.execute(
        sa.select(b.c.start_us, b.c.posts, b.c.negative).where(
            b.c.monitor_id == monitor_id, b.c.start_us >= start_us, b.c.start_us < end_us
        )
    )
    return {int(row[0]): (int(row[1]), int(row[2])) for row in rows}
