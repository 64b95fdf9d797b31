"""The alert outbox: delivery rows claimed with a lease, then marked delivered, retried or failed.

A claim moves a due row's `next_us` forward by a lease in one transaction, so two workers (the
one inside `stadspuls run` and a one-shot `stadspuls alerts deliver`) never send the same row at
once; a worker killed mid-send leaves the row to be sent again when the lease ends
(at-least-once; receivers dedupe by the delivery id).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import sqlalchemy as sa

from stadspuls.store.schema import alert_deliveries, alert_events

MAX_ERROR = 500


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    event_id: int
    alert_id: int
    kind: str  # the event's kind
    channel: str  # "webhook" | "email"
    target: str  # webhook name or e-mail address
    attempts: int
    event_us: int  # when the event happened: the age limit counts from here
    payload: str  # the alert as JSON, as it was after the event


def claim_due(
    engine: sa.Engine,
    now_us: int,
    *,
    send_us: int,
    limit: int = 100,
    skip: Iterable[tuple[str, str]] = (),
) -> list[Delivery]:
    """Claim up to `limit` due pending deliveries, oldest first, except those of the (channel,
    target) pairs in `skip` (targets a worker is still sending to). A target's deliveries are
    sent one after the other, each within `send_us`: the k-th is leased for k sends and a
    minute more."""
    d = alert_deliveries
    query = (
        sa.select(
            d.c.id,
            d.c.event_id,
            d.c.channel,
            d.c.target,
            d.c.attempts,
            alert_events.c.alert_id,
            alert_events.c.kind,
            alert_events.c.at_us,
            alert_events.c.payload,
        )
        .join(alert_events, alert_events.c.id == d.c.event_id)
        .where(d.c.state == "pending", d.c.next_us <= now_us)
        .order_by(d.c.next_us, d.c.id)
        .limit(limit)
    )
    for channel, target in skip:
        query = query.where(sa.not_((d.c.channel == channel) & (d.c.target == target)))
    claimed = []
    queued: dict[tuple[str, str], int] = {}
    with engine.begin() as conn:
        for row in conn.execute(query).all():
            place = queued[row.channel, row.target] = queued.get((row.channel, row.target), 0) + 1
            taken = conn.execute(
                d.update()
                .where(d.c.id == row.id, d.c.state == "pending", d.c.next_us <= now_us)
                .values(next_us=now_us + place * send_us + 60_000_000)
            )
            if taken.rowcount:
                claimed.append(
                    Delivery(
                        id=int(row.id),
                        event_id=int(row.event_id),
                        alert_id=int(row.alert_id),
                        kind=row.kind,
                        channel=row.channel,
                        target=row.target,
                        attempts=int(row.attempts),
                        event_us=int(row.at_us),
                        payload=row.payload,
                    )
                )
    return claimed


def mark_delivered(engine: sa.Engine, delivery_id: int, now_us: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            alert_deliveries.update()
            .where(alert_deliveries.c.id == delivery_id)
            .values(
                state="delivered",
                delivered_us=now_us,
                attempts=alert_deliveries.c.attempts + 1,
                last_error=None,
            )
        )


def mark_retry(engine: sa.Engine, delivery_id: int, next_us: int, error: str) -> None:
    """One more failed attempt; try again at `next_us`."""
    with engine.begin() as conn:
        conn.execute(
            alert_deliveries.update()
            .where(alert_deliveries.c.id == delivery_id)
            .values(
                attempts=alert_deliveries.c.attempts + 1,
                next_us=next_us,
                last_error=error[:MAX_ERROR],
            )
        )


def mark_failed(engine: sa.Engine, delivery_id: int, error: str, *, attempted: bool) -> None:
    """Give up on a delivery (too old, or a target that cannot work)."""
    values: dict[str, object] = {"state": "failed", "last_error": error[:MAX_ERROR]}
    if attempted:
        values["attempts"] = alert_deliveries.c.attempts + 1
    with engine.begin() as conn:
        conn.execute(
            alert_deliveries.update().where(alert_deliveries.c.id == delivery_id).values(**values)
        )


def release(engine: sa.Engine, delivery_ids: Iterable[int], next_us: int) -> None:
    """Give claimed deliveries back unsent (their target failed just before): due at `next_us`,
    attempts unchanged."""
    ids = list(delivery_ids)
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            alert_deliveries.update()
            .where(alert_deliveries.c.id.in_(ids), alert_deliveries.c.state == "pending")
            .values(next_us=next_us)
        )


def delivery_counts(engine: sa.Engine) -> dict[str, int]:
    """state -> number of deliveries."""
    query = sa.select(alert_deliveries.c.state, sa.func.count()).group_by(alert_deliveries.c.state)
    with engine.connect() as conn:
        return {state: int(n) for state, n in conn.execute(query)}


def deliveries_of(engine: sa.Engine, alert_id: int) -> list[dict[str, object]]:
    """The deliveries of an alert's events (for `alerts show` and the API)."""
    d = alert_deliveries
    query = (
        sa.select(d.c.id, d.c.event_id, d.c.channel, d.c.target, d.c.state, d.c.attempts,
                  d.c.delivered_us, d.c.last_error)
        .join(alert_events, alert_events.c.id == d.c.event_id)
        .where(alert_events.c.alert_id == alert_id)
        .order_by(d.c.id)
    )  # fmt: skip
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
