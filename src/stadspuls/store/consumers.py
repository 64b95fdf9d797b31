"""The cursors of the consumers of stored posts (`consumers` table) and the reads they page with.

A consumer's row holds how far it has consumed (`last_pk`) and its state as of that point; both
change only in the transaction that writes the consumer's output (see stadspuls.consumers).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from stadspuls.records import Post, utcnow
from stadspuls.store.rows import COLUMNS, from_us, row_to_post, to_us
from stadspuls.store.schema import consumers, posts

# What a failure leaves in `last_error`: enough for a health page, never a whole traceback.
ERROR_CHARS = 500


@dataclass(frozen=True)
class ConsumerStatus:
    """How far one consumer is: for /health and `stadspuls db consumers`."""

    name: str
    last_pk: int
    lag: int  # stored posts after its cursor (max pk - last_pk)
    failures: int
    last_error: str | None
    last_error_at: datetime | None
    updated_at: datetime


class CursorMoved(RuntimeError):
    """Another process advanced this consumer's cursor first: its output was rolled back."""


def max_pk(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(posts.c.pk), 0))).scalar_one())


def posts_after(
    conn: sa.Connection, after_pk: int, limit: int, *, upto_pk: int | None = None
) -> list[tuple[int, Post]]:
    """(pk, post) of stored posts with after_pk < pk <= upto_pk (if given), in pk order."""
    query = sa.select(posts.c.pk, *[posts.c[name] for name in COLUMNS]).where(posts.c.pk > after_pk)
    if upto_pk is not None:
        query = query.where(posts.c.pk <= upto_pk)
    query = query.order_by(posts.c.pk).limit(limit)
    return [(int(row.pk), row_to_post(row._mapping)) for row in conn.execute(query)]


def read_cursor(conn: sa.Connection, name: str) -> tuple[int, bytes | None] | None:
    """(last_pk, state) of a consumer, or None when it has never run."""
    row = conn.execute(
        sa.select(consumers.c.last_pk, consumers.c.state).where(consumers.c.name == name)
    ).first()
    return None if row is None else (int(row.last_pk), row.state)


def last_pk(conn: sa.Connection, name: str) -> int | None:
    value = conn.execute(sa.select(consumers.c.last_pk).where(consumers.c.name == name)).scalar()
    return None if value is None else int(value)


def ensure_cursor(engine: sa.Engine, name: str, *, beginning: bool) -> tuple[int, bytes | None]:
    """The consumer's cursor; a consumer seen for the first time starts at the newest stored post
    (or at 0 with `beginning`). Two processes starting it at once agree on one row."""
    with engine.begin() as conn:
        found = read_cursor(conn, name)
        if found is not None:
            return found
        start = 0 if beginning else max_pk(conn)
    try:
        with engine.begin() as conn:
            conn.execute(
                consumers.insert().values(name=name, last_pk=start, updated_us=to_us(utcnow()))
            )
    except sa.exc.IntegrityError:
        pass  # the other process inserted it first: its row is the cursor
    with engine.connect() as conn:
        found = read_cursor(conn, name)
    assert found is not None
    return found


class Unchanged(enum.Enum):
    """What a consumer returns when its stored state stays as it is (a detector checkpoints its
    state now and then, not with every chunk)."""

    STATE = "unchanged"


UNCHANGED = Unchanged.STATE


def advance(
    conn: sa.Connection,
    name: str,
    *,
    expected: int,
    to: int,
    state: bytes | Unchanged | None,
) -> None:
    """Move the cursor from `expected` to `to` with the consumer's new state (unless UNCHANGED),
    inside the transaction of its output. If another process moved it meanwhile, raise
    CursorMoved (the caller rolls back, so the output of this chunk is not written twice)."""
    values: dict[str, object] = {"last_pk": to, "updated_us": to_us(utcnow())}
    if state is not UNCHANGED:
        values["state"] = state
    updated = conn.execute(
        consumers.update()
        .where(consumers.c.name == name, consumers.c.last_pk == expected)
        .values(**values)
    )
    if updated.rowcount != 1:
        raise CursorMoved(f"consumer {name}: its cursor moved past {expected} in another process")


def record_failure(engine: sa.Engine, name: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            consumers.update()
            .where(consumers.c.name == name)
            .values(
                failures=consumers.c.failures + 1,
                last_error=error[:ERROR_CHARS],
                last_error_us=to_us(utcnow()),
            )
        )


def consumer_statuses(engine: sa.Engine) -> list[ConsumerStatus]:
    with engine.connect() as conn:
        newest = max_pk(conn)
        rows = conn.execute(sa.select(consumers).order_by(consumers.c.name)).all()
    return [
        ConsumerStatus(
            name=row.name,
            last_pk=int(row.last_pk),
            lag=max(newest - int(row.last_pk), 0),
            failures=int(row.failures),
            last_error=row.last_error,
            last_error_at=None if row.last_error_us is None else from_us(int(row.last_error_us)),
            updated_at=from_us(int(row.updated_us)),
        )
        for row in rows
    ]
