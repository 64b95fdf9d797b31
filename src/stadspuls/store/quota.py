"""Counts of public reports per key and fixed time window (`intake_quota`), shared by every
worker process of the server. Keys are "a:<keyed hash of an address>" or "c:<call slug>"; the
policy (which keys, which limits) is `cases.quota`'s."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from stadspuls.store.schema import intake_quota

# No window is longer than an hour: a row whose window started before this is over for good.
LONGEST_WINDOW_US = 3600 * 1_000_000


def count(conn: sa.Connection, key: str, *, window_us: int, now_us: int) -> int:
    """Count one report for `key` in the window of `window_us` µs that holds `now_us`; the
    window's count including this one. Windows that have passed are deleted on the way."""
    start = now_us - now_us % window_us
    conn.execute(
        intake_quota.delete().where(
            sa.or_(
                intake_quota.c.window_us < now_us - LONGEST_WINDOW_US,
                sa.and_(intake_quota.c.key == key, intake_quota.c.window_us < start),
            )
        )
    )
    # One statement, so that two processes counting the same new key do not collide.
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(intake_quota)
        .values(key=key, window_us=start, count=1)
        .on_conflict_do_update(
            index_elements=[intake_quota.c.key, intake_quota.c.window_us],
            set_={"count": intake_quota.c.count + 1},
        )
        .returning(intake_quota.c.count)
    )
    found: int = conn.execute(statement).scalar_one()
    return found


def current(conn: sa.Connection, key: str, *, window_us: int, now_us: int) -> int:
    """The count of `key` in the window that holds `now_us` (0 when none)."""
    start = now_us - now_us % window_us
    found: int | None = conn.execute(
        sa.select(intake_quota.c.count).where(
            intake_quota.c.key == key, intake_quota.c.window_us == start
        )
    ).scalar_one_or_none()
    return found or 0


def keys(conn: sa.Connection) -> list[str]:
    """Every key with a count (tests and the privacy check read this)."""
    return list(conn.execute(sa.select(intake_quota.c.key).distinct()).scalars())
