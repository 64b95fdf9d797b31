"""Failed logins per key ("user:<name>", "ip:<address>"), kept in the store so that every
worker process of the server counts the same failures. The policy is `access.ratelimit`'s."""

from __future__ import annotations

import sqlalchemy as sa

from stadspuls.store.schema import login_attempts


def locked_until(engine: sa.Engine, keys: list[str], now_us: int) -> int | None:
    """The latest time (µs) until which any of `keys` is locked, or None when none is."""
    query = sa.select(sa.func.max(login_attempts.c.locked_until_us)).where(
        login_attempts.c.key.in_(keys), login_attempts.c.locked_until_us > now_us
    )
    with engine.connect() as conn:
        found: int | None = conn.execute(query).scalar_one_or_none()
    return found


def add_failure(
    engine: sa.Engine,
    key: str,
    *,
    now_us: int,
    window_us: int,
    max_failures: int,
    lock_us: int,
) -> int | None:
    """Count one failure for `key`; return the lock's end (µs) when this one locks it.

    A count older than the window starts again at one. The read and the write share one
    transaction; two processes inserting the same new key at once collide on the primary key,
    and the loser retries as an update."""
    for _ in range(2):
        try:
            with engine.begin() as conn:
                return _add_failure(conn, key, now_us, window_us, max_failures, lock_us)
        except sa.exc.IntegrityError:
            continue
    raise RuntimeError(f"could not count a failed login for {key!r}")


def _add_failure(
    conn: sa.Connection, key: str, now_us: int, window_us: int, max_failures: int, lock_us: int
) -> int | None:
    # Forget counts that have run out, so that guessing many names cannot grow the table.
    conn.execute(
        login_attempts.delete().where(
            login_attempts.c.key != key,
            login_attempts.c.first_us < now_us - window_us,
            sa.or_(
                login_attempts.c.locked_until_us.is_(None),
                login_attempts.c.locked_until_us < now_us,
            ),
        )
    )
    row = conn.execute(
        sa.select(login_attempts.c.failures, login_attempts.c.first_us).where(
            login_attempts.c.key == key
        )
    ).first()
    if row is None:
        failures, first = 1, now_us
        conn.execute(login_attempts.insert().values(key=key, failures=1, first_us=now_us))
    else:
        failures, first = (row.failures + 1, row.first_us)
        if first < now_us - window_us:
            failures, first = 1, now_us
        conn.execute(
            login_attempts.update()
            .where(login_attempts.c.key == key)
            .values(failures=failures, first_us=first, locked_until_us=None)
        )
    if failures < max_failures:
        return None
    until = now_us + lock_us
    # The lock starts a new count: after it, the next failures are counted afresh.
    conn.execute(
        login_attempts.update()
        .where(login_attempts.c.key == key)
        .values(failures=0, first_us=now_us, locked_until_us=until)
    )
    return until


def clear(engine: sa.Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(login_attempts.delete().where(login_attempts.c.key == key))
