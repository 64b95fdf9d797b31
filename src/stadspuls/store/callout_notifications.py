"""The notifier's outbox: one row per (target, channel), claimed with a lease.

A claim moves a due row's `next_us` forward by a lease in one statement guarded by the row's
old state, so two notifiers (two `stadspuls run` processes on one database) never send the same
row at once; one killed mid-send leaves the row to be sent again when the lease ends
(at-least-once).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import sqlalchemy as sa

from stadspuls.store.schema import callout_notifications, callout_targets, callouts

MAX_ERROR = 500


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    target_id: int
    channel: str  # push | email
    attempts: int
    callout_id: int
    volunteer_id: int | None
    rank: int
    distance_m: int
    title: str
    message: str
    place_label: str
    expires_us: int
    state: str  # the call-out's


def queue(conn: sa.Connection, rows: Iterable[tuple[int, str]], now_us: int) -> int:
    """Queue (target id, channel) pairs; returns how many."""
    values = [
        {"target_id": target_id, "channel": channel, "state": "pending", "next_us": now_us}
        for target_id, channel in rows
    ]
    if values:
        conn.execute(callout_notifications.insert(), values)
    return len(values)


def claim_due(engine: sa.Engine, now_us: int, *, lease_us: int, limit: int) -> list[Notification]:
    n, t, c = callout_notifications, callout_targets, callouts
    query = (
        sa.select(
            n.c.id, n.c.target_id, n.c.channel, n.c.attempts, t.c.callout_id, t.c.volunteer_id,
            t.c.rank, t.c.distance_m, c.c.title, c.c.message, c.c.place_label, c.c.expires_us,
            c.c.state,
        )
        .join(t, t.c.id == n.c.target_id)
        .join(c, c.c.id == t.c.callout_id)
        .where(n.c.state == "pending", n.c.next_us <= now_us)
        .order_by(n.c.next_us, n.c.id)
        .limit(limit)
    )  # fmt: skip
    claimed = []
    with engine.begin() as conn:
        lease = now_us + lease_us
        for row in conn.execute(query).all():
            # Guarded by the old state: a row another notifier leased meanwhile is not taken.
            taken = conn.execute(
                n.update()
                .where(n.c.id == row.id, n.c.state == "pending", n.c.next_us <= now_us)
                .values(next_us=lease)
            )
            if taken.rowcount:
                claimed.append(
                    Notification(
                        id=int(row.id),
                        target_id=int(row.target_id),
                        channel=row.channel,
                        attempts=int(row.attempts),
                        callout_id=int(row.callout_id),
                        volunteer_id=None if row.volunteer_id is None else int(row.volunteer_id),
                        rank=int(row.rank),
                        distance_m=int(row.distance_m),
                        title=row.title,
                        message=row.message,
                        place_label=row.place_label,
                        expires_us=int(row.expires_us),
                        state=row.state,
                    )
                )
    return claimed


def mark_sent(conn: sa.Connection, notification_id: int, now_us: int) -> None:
    n = callout_notifications
    conn.execute(
        n.update()
        .where(n.c.id == notification_id)
        .values(state="sent", sent_us=now_us, attempts=n.c.attempts + 1, last_error=None)
    )


def mark_retry(conn: sa.Connection, notification_id: int, next_us: int, error: str) -> None:
    n = callout_notifications
    conn.execute(
        n.update()
        .where(n.c.id == notification_id)
        .values(attempts=n.c.attempts + 1, next_us=next_us, last_error=error[:MAX_ERROR])
    )


def mark_done(conn: sa.Connection, notification_id: int, state: str, error: str) -> None:
    """Give up: "failed" (tried too long, or nothing to send to) or "gone" (the subscription
    no longer exists)."""
    n = callout_notifications
    conn.execute(
        n.update()
        .where(n.c.id == notification_id)
        .values(state=state, attempts=n.c.attempts + 1, last_error=error[:MAX_ERROR])
    )


def counts(engine: sa.Engine, callout_id: int | None = None) -> dict[str, int]:
    """state -> number of notifications (of one call-out, or all)."""
    n = callout_notifications
    query = sa.select(n.c.state, sa.func.count()).group_by(n.c.state)
    if callout_id is not None:
        query = query.join(callout_targets, callout_targets.c.id == n.c.target_id).where(
            callout_targets.c.callout_id == callout_id
        )
    with engine.connect() as conn:
        return {state: int(count) for state, count in conn.execute(query)}
