"""Alerts: signals folded into alerts, their events and outbox rows, the operator's lifecycle
(acknowledge, resolve) and the reads of the API, the CLI and the live stream.

`record_signals` runs inside the caller's transaction (a detector consumer advances its cursor in
the same one), so a signal becomes an alert, an event and its deliveries exactly once. Only
"opened" events and updates that raise the severity are delivered to webhooks and e-mail;
every event reaches the live stream. During a rule's quiet hours only "high" alerts are
delivered; the rest stays on the dashboard and the live stream.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa

from stadspuls.alerts.book import COOLDOWN, LIVE, continues, fold, open_alert
from stadspuls.alerts.rules import default_rule, is_quiet, split_channel
from stadspuls.records import ALERT_STATES, SEVERITIES, Alert, Signal, utcnow
from stadspuls.store.alert_rules import get_rules, load_rules, rules_for, set_rule
from stadspuls.store.rows import from_us, to_us
from stadspuls.store.schema import alert_deliveries, alert_events, alerts, monitors

# The rule reads live beside the alerts they govern (detector consumers import them from here).
__all__ = [
    "AlertEvent",
    "AlertNotFound",
    "AlertStateError",
    "acknowledge",
    "add_note",
    "alert_events_of",
    "check_signal",
    "events_after",
    "get_alert",
    "get_rules",
    "last_event_id",
    "list_alerts",
    "load_rules",
    "record_signals",
    "resolve",
    "set_rule",
]

MAX_ACTOR = 200
MAX_NOTE = 10_000
MAX_KEY = 200  # alerts.key
MAX_DETECTOR = 16  # alerts.detector
_details_decode = msgspec.json.Decoder(dict[str, float | str | None]).decode
_encode = msgspec.json.Encoder().encode
Where = tuple[int, str, str]  # monitor id, detector, key


class AlertNotFound(LookupError):
    pass


class AlertStateError(ValueError):
    """A transition the lifecycle does not allow (e.g. acknowledging a resolved alert)."""


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    alert_id: int
    kind: str  # opened | updated | acknowledged | resolved | false_alarm
    at: datetime  # wall-clock time of the event
    actor: str | None
    payload: str  # JSON: the alert as it was after the event


def _json_list(values: tuple[str, ...]) -> str | None:
    return json.dumps(list(values), ensure_ascii=False) if values else None


def _values(alert: Alert) -> dict[str, object]:
    return {
        "monitor_id": alert.monitor_id,
        "detector": alert.detector,
        "key": alert.key,
        "state": alert.state,
        "severity": alert.severity,
        "opened_us": to_us(alert.opened_at),
        "started_us": to_us(alert.started_at),
        "updated_us": to_us(alert.updated_at),
        "triggers": alert.triggers,
        "observed": alert.observed,
        "expected": alert.expected,
        "summary": alert.summary,
        "top_terms": _json_list(alert.top_terms),
        "top_places": _json_list(alert.top_places),
        "post_ids": _json_list(alert.post_ids),
        "details": msgspec.json.encode(alert.details).decode() if alert.details else None,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_us": to_us(alert.acknowledged_at) if alert.acknowledged_at else None,
        "closed_by": alert.closed_by,
        "closed_us": to_us(alert.closed_at) if alert.closed_at else None,
        "note": alert.note,
    }


def _details(value: str | None) -> dict[str, float | str] | None:
    # JSON has no NaN or infinity: msgspec writes them as null, which reads back as absent.
    if not value:
        return None
    return {k: v for k, v in _details_decode(value).items() if v is not None}


def check_signal(signal: Signal) -> Signal:
    """The signal as an alert can hold it: ValueError (one line) for one it cannot (a
    detector's bug); details that are not finite numbers are left out (JSON has none)."""
    where = f"signal of detector {signal.detector!r} for monitor {signal.monitor_id}"
    if signal.severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {signal.severity!r} is not one of {SEVERITIES}")
    if len(signal.key) > MAX_KEY or len(signal.detector) > MAX_DETECTOR:
        raise ValueError(f"{where}: key or detector name too long")
    if not (math.isfinite(signal.observed) and math.isfinite(signal.expected)):
        raise ValueError(f"{where}: observed and expected must be finite numbers")
    if signal.at.tzinfo is None or signal.started_at.tzinfo is None:
        raise ValueError(f"{where}: times must be UTC-aware")
    if signal.details and any(
        isinstance(v, float) and not math.isfinite(v) for v in signal.details.values()
    ):
        finite = {
            k: v
            for k, v in signal.details.items()
            if not (isinstance(v, float) and not math.isfinite(v))
        }
        return msgspec.structs.replace(signal, details=finite or None)
    return signal


def _values_names() -> list[str]:
    return [column.name for column in alerts.columns if column.name != "id"]


def _strings(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


def _row_to_alert(row: sa.RowMapping) -> Alert:
    return Alert(
        id=int(row["id"]),
        monitor_id=int(row["monitor_id"]),
        detector=row["detector"],
        key=row["key"],
        state=row["state"],
        severity=row["severity"],
        opened_at=from_us(row["opened_us"]),
        started_at=from_us(row["started_us"]),
        updated_at=from_us(row["updated_us"]),
        triggers=int(row["triggers"]),
        observed=float(row["observed"]),
        expected=float(row["expected"]),
        summary=row["summary"],
        top_terms=_strings(row["top_terms"]),
        top_places=_strings(row["top_places"]),
        post_ids=_strings(row["post_ids"]),
        details=_details(row["details"]),
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=from_us(row["acknowledged_us"]) if row["acknowledged_us"] else None,
        closed_by=row["closed_by"],
        closed_at=from_us(row["closed_us"]) if row["closed_us"] else None,
        note=row["note"],
    )


def _insert_event(
    conn: sa.Connection, alert: Alert, kind: str, at_us: int, actor: str | None = None
) -> int:
    result = conn.execute(
        alert_events.insert().values(
            alert_id=alert.id,
            kind=kind,
            at_us=at_us,
            actor=actor,
            payload=msgspec.json.encode(alert).decode(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _latest(conn: sa.Connection, signals: Sequence[Signal]) -> dict[Where, Alert]:
    """The newest alert of each (monitor, detector, key) among `signals`: two queries."""
    wanted = {(s.monitor_id, s.detector, s.key) for s in signals}
    monitor_ids = sorted({m for m, _, _ in wanted})
    newest = (
        sa.select(sa.func.max(alerts.c.id))
        .where(alerts.c.monitor_id.in_(monitor_ids))
        .where(alerts.c.detector.in_(sorted({d for _, d, _ in wanted})))
        .group_by(alerts.c.monitor_id, alerts.c.detector, alerts.c.key)
    )
    out: dict[Where, Alert] = {}
    for row in conn.execute(sa.select(alerts).where(alerts.c.id.in_(newest))):
        alert = _row_to_alert(row._mapping)
        where = (alert.monitor_id, alert.detector, alert.key)
        if where in wanted:
            out[where] = alert
    return out


_UPDATE = (
    alerts.update()
    .where(alerts.c.id == sa.bindparam("b_id"))
    .values({name: sa.bindparam(f"b_{name}") for name in _values_names()})
)


def record_signals(
    conn: sa.Connection,
    signals: Sequence[Signal],
    *,
    now_us: int | None = None,
    cooldown: timedelta = COOLDOWN,
) -> list[int]:
    """Fold `signals` into alerts inside the caller's transaction; return the new event ids.

    A handful of statements per call, whatever the number of signals: the alerts they continue
    are read at once, changed alerts written once each, events and deliveries in one batch.
    Signals of monitors deleted meanwhile are dropped (their alerts would go with them).
    """
    if not signals:
        return []
    signals = [check_signal(signal) for signal in signals]
    now_us = to_us(utcnow()) if now_us is None else now_us
    ids = {s.monitor_id for s in signals}
    query = sa.select(monitors.c.id).where(monitors.c.id.in_(sorted(ids)))
    existing = {int(m) for (m,) in conn.execute(query)}
    signals = [s for s in signals if s.monitor_id in existing]
    if not signals:
        return []
    rules = rules_for(conn, existing)
    latest = _latest(conn, signals)
    changed: dict[int, Alert] = {}
    events: list[dict[str, object]] = []
    targets: list[list[tuple[str, str]]] = []  # per event: where it is delivered
    quiet_now = from_us(now_us)
    for signal in signals:
        where = (signal.monitor_id, signal.detector, signal.key)
        current = latest.get(where)
        if current is not None and continues(current, signal, cooldown):
            alert = fold(current, signal)
            assert alert.id is not None
            changed[alert.id] = alert
            kind = "updated"
            deliver = SEVERITIES.index(alert.severity) > SEVERITIES.index(current.severity)
        else:
            # Opening is rare (once per episode): inserted at once for its id.
            alert = open_alert(signal)
            key = conn.execute(alerts.insert().values(**_values(alert))).inserted_primary_key
            assert key is not None
            alert = msgspec.structs.replace(alert, id=int(key[0]))
            kind, deliver = "opened", True
        latest[where] = alert
        events.append(
            {
                "alert_id": alert.id,
                "kind": kind,
                "at_us": now_us,
                "actor": None,
                "payload": _encode(alert).decode(),
            }
        )
        rule = rules.get((signal.monitor_id, signal.detector)) or default_rule(
            signal.monitor_id, signal.detector
        )
        quiet = alert.severity != "high" and is_quiet(rule.quiet_hours, quiet_now)
        channels = [split_channel(c) for c in rule.channels] if deliver and not quiet else []
        targets.append([(c, t) for c, t in channels if c != "live"])
    if changed:
        conn.execute(
            _UPDATE,
            [
                {"b_id": alert_id, **{f"b_{k}": v for k, v in _values(alert).items()}}
                for alert_id, alert in changed.items()
            ],
        )
    inserted = conn.execute(
        alert_events.insert().returning(alert_events.c.id, sort_by_parameter_order=True), events
    )
    event_ids = [int(event_id) for (event_id,) in inserted]
    deliveries = [
        {
            "event_id": event_id,
            "channel": channel,
            "target": target,
            "state": "pending",
            "attempts": 0,
            "next_us": now_us,
        }
        for event_id, where_to in zip(event_ids, targets, strict=True)
        for channel, target in where_to
    ]
    if deliveries:
        conn.execute(alert_deliveries.insert(), deliveries)
    return event_ids


def _require(conn: sa.Connection, alert_id: int) -> Alert:
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return _row_to_alert(row._mapping)


def _check_actor(by: str, note: str | None) -> None:
    if not by.strip() or len(by) > MAX_ACTOR or "\x00" in by:
        raise ValueError(f"'by' must name who acts, 1 to {MAX_ACTOR} characters")
    if note is not None and len(note) > MAX_NOTE:
        raise ValueError(f"a note holds at most {MAX_NOTE} characters")
    if note is not None and "\x00" in note:
        raise ValueError("a note cannot hold a NUL character")


def _transition(
    engine: sa.Engine, alert_id: int, by: str, allowed: tuple[str, ...], **changes: object
) -> Alert:
    """Move an alert from one of `allowed` states; the UPDATE re-checks the state, so two
    operators acting at once cannot both win."""
    kind = str(changes["state"])
    now = utcnow()
    with engine.begin() as conn:
        current = _require(conn, alert_id)
        if current.state not in allowed:
            if kind == current.state == "acknowledged":
                raise AlertStateError(
                    f"alert {alert_id} was acknowledged already by {current.acknowledged_by}"
                )
            raise AlertStateError(
                f"alert {alert_id} is {current.state}: it cannot become {kind}"
                f" (allowed from {' or '.join(allowed)})"
            )
        alert = msgspec.structs.replace(current, **changes)
        values = _values(alert)
        updated = conn.execute(
            alerts.update()
            .where(alerts.c.id == alert_id, alerts.c.state == current.state)
            .values(**values)
        )
        if not updated.rowcount:
            raise AlertStateError(f"alert {alert_id} changed meanwhile; look again")
        _insert_event(conn, alert, kind, to_us(now), actor=by)
    return alert


def acknowledge(engine: sa.Engine, alert_id: int, by: str, note: str | None = None) -> Alert:
    """open -> acknowledged. Acknowledging twice is an error (it names who did it first), so
    that two operators learn they picked up the same alert."""
    _check_actor(by, note)
    now = utcnow()
    with engine.connect() as conn:
        current = _require(conn, alert_id)
    return _transition(
        engine,
        alert_id,
        by,
        ("open",),
        state="acknowledged",
        acknowledged_by=by,
        acknowledged_at=now,
        note=note if note is not None else current.note,
    )


def resolve(
    engine: sa.Engine,
    alert_id: int,
    by: str,
    note: str | None = None,
    false_alarm: bool = False,
) -> Alert:
    """open | acknowledged -> resolved (or false_alarm). A closed alert stays closed: a new
    signal after it opens a new alert."""
    _check_actor(by, note)
    with engine.connect() as conn:
        current = _require(conn, alert_id)
    return _transition(
        engine,
        alert_id,
        by,
        LIVE,
        state="false_alarm" if false_alarm else "resolved",
        closed_by=by,
        closed_at=utcnow(),
        note=note if note is not None else current.note,
    )


def add_note(engine: sa.Engine, alert_id: int, by: str, note: str) -> Alert:
    """Add a note to an alert in any state: an event "note" whose alert carries the note (so
    the event list keeps every note), and the alert's `note` becomes the latest one."""
    _check_actor(by, note)
    if not note.strip():
        raise ValueError("a note needs some text")
    with engine.begin() as conn:
        alert = msgspec.structs.replace(_require(conn, alert_id), note=note)
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(note=note))
        _insert_event(conn, alert, "note", to_us(utcnow()), actor=by)
    return alert


def get_alert(engine: sa.Engine, alert_id: int) -> Alert | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    return None if row is None else _row_to_alert(row._mapping)


def list_alerts(
    engine: sa.Engine,
    *,
    state: str | None = None,
    monitor_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Alert]]:
    """(total, page newest first). `since`: alerts last triggered at or after that moment."""
    if state is not None and state not in ALERT_STATES:
        raise ValueError(f"unknown state {state!r}; known: {', '.join(ALERT_STATES)}")
    clauses = []
    if state is not None:
        clauses.append(alerts.c.state == state)
    if monitor_id is not None:
        clauses.append(alerts.c.monitor_id == monitor_id)
    if since is not None:
        clauses.append(alerts.c.updated_us >= to_us(since))
    page = (
        sa.select(alerts)
        .where(*clauses)
        .order_by(alerts.c.opened_us.desc(), alerts.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = sa.select(sa.func.count()).select_from(alerts).where(*clauses)
    with engine.connect() as conn:
        found = [_row_to_alert(row._mapping) for row in conn.execute(page)]
        return int(conn.execute(total).scalar_one()), found


def _row_to_event(row: sa.Row[tuple[object, ...]]) -> AlertEvent:
    values = row._mapping
    return AlertEvent(
        id=int(values["id"]),
        alert_id=int(values["alert_id"]),
        kind=values["kind"],
        at=from_us(values["at_us"]),
        actor=values["actor"],
        payload=values["payload"],
    )


def alert_events_of(engine: sa.Engine, alert_id: int) -> list[AlertEvent]:
    query = sa.select(alert_events).where(alert_events.c.alert_id == alert_id)
    with engine.connect() as conn:
        return [_row_to_event(row) for row in conn.execute(query.order_by(alert_events.c.id))]


def events_after(
    engine: sa.Engine, event_id: int, limit: int = 500, *, also: Collection[int] = ()
) -> list[AlertEvent]:
    """Events with an id above `event_id`, oldest first (the live stream resumes here), and
    the events with the ids in `also` that exist (ids the stream has not seen committed yet)."""
    query = (
        sa.select(alert_events)
        .where(alert_events.c.id > event_id)
        .order_by(alert_events.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        found = [_row_to_event(row) for row in conn.execute(query)]
        if also:
            late = sa.select(alert_events).where(alert_events.c.id.in_(sorted(also)))
            found = sorted(
                [*found, *(_row_to_event(row) for row in conn.execute(late))], key=lambda e: e.id
            )
    return found


def last_event_id(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.max(alert_events.c.id))).scalar()
    return int(value or 0)
