"""Alert rules per monitor and detector: CRUD, and the rules the detectors run with.

A monitor without a row for a detector gets `alerts.rules.default_rule`: every built-in detector
on, sensitivity 1, the live channel only. A row overrides the default for its detector only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import msgspec
import sqlalchemy as sa

from stadspuls.alerts.rules import AlertRule, check_rule, default_rule
from stadspuls.detect.base import Rule
from stadspuls.records import DETECTORS, utcnow
from stadspuls.store.rows import to_us
from stadspuls.store.schema import alert_rules, monitors

_params_decode = msgspec.json.Decoder(dict[str, float | str | list[str]]).decode


def _row_to_rule(row: sa.RowMapping) -> AlertRule:
    return AlertRule(
        monitor_id=int(row["monitor_id"]),
        detector=row["detector"],
        enabled=bool(row["enabled"]),
        sensitivity=float(row["sensitivity"]),
        quiet_hours=row["quiet_hours"],
        channels=tuple(json.loads(row["channels"])) if row["channels"] else (),
        params=_params_decode(row["params"]) if row["params"] else {},
    )


def rules_for(conn: sa.Connection, monitor_ids: Iterable[int]) -> dict[tuple[int, str], AlertRule]:
    """(monitor id, detector) -> rule for every built-in detector of these monitors, rows or
    defaults (detectors of plugins appear only where a row names them)."""
    ids = sorted(set(monitor_ids))
    out = {(m, d): default_rule(m, d) for m in ids for d in DETECTORS}
    for start in range(0, len(ids), 500):
        query = sa.select(alert_rules).where(alert_rules.c.monitor_id.in_(ids[start : start + 500]))
        for row in conn.execute(query):
            rule = _row_to_rule(row._mapping)
            out[(rule.monitor_id, rule.detector)] = rule
    return out


def _connect(bind: sa.Connection | sa.Engine) -> sa.Connection:
    return bind if isinstance(bind, sa.Connection) else bind.connect()


def load_rules(bind: sa.Connection | sa.Engine) -> dict[str, dict[int, Rule]]:
    """detector -> monitor id -> Rule, for the enabled detectors of the active monitors."""
    conn = _connect(bind)
    try:
        active = conn.execute(sa.select(monitors.c.id).where(monitors.c.active.is_(True)))
        rules = rules_for(conn, (int(m) for (m,) in active))
    finally:
        if conn is not bind:
            conn.close()
    out: dict[str, dict[int, Rule]] = {}
    for (monitor_id, detector), rule in sorted(rules.items()):
        if rule.enabled:
            out.setdefault(detector, {})[monitor_id] = Rule(
                sensitivity=rule.sensitivity, params=dict(rule.params)
            )
    return out


def get_rules(engine: sa.Engine, monitor_id: int) -> list[AlertRule]:
    """Every built-in detector's rule for a monitor (stored or default), then plugins' rows."""
    with engine.connect() as conn:
        rules = rules_for(conn, [monitor_id])
    order = {name: n for n, name in enumerate(DETECTORS)}
    return sorted(rules.values(), key=lambda r: (order.get(r.detector, len(order)), r.detector))


def set_rule(
    engine: sa.Engine,
    rule: AlertRule,
    *,
    webhooks: set[str] | None = None,
    smtp: bool = True,
) -> AlertRule:
    """Store `rule` (replacing the monitor's row for its detector); raise RuleError when it
    could not work and LookupError when the monitor does not exist."""
    check_rule(rule, webhooks=webhooks, smtp=smtp)
    values = {
        "enabled": rule.enabled,
        "sensitivity": rule.sensitivity,
        "quiet_hours": rule.quiet_hours,
        "channels": json.dumps(list(rule.channels)),
        "params": msgspec.json.encode(rule.params).decode() if rule.params else None,
    }
    with engine.begin() as conn:
        exists = conn.execute(sa.select(monitors.c.id).where(monitors.c.id == rule.monitor_id))
        if exists.first() is None:
            raise LookupError(f"no monitor {rule.monitor_id}")
        where = (alert_rules.c.monitor_id == rule.monitor_id) & (
            alert_rules.c.detector == rule.detector
        )
        if not conn.execute(alert_rules.update().where(where).values(**values)).rowcount:
            conn.execute(
                alert_rules.insert().values(
                    monitor_id=rule.monitor_id, detector=rule.detector, **values
                )
            )
        # A rule is part of its monitor: the detectors reload their rules when a monitor changes.
        conn.execute(
            monitors.update()
            .where(monitors.c.id == rule.monitor_id)
            .values(updated_us=to_us(utcnow()))
        )
    return rule
