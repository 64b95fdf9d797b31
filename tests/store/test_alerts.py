"""Alerts in the store, on SQLite and PostgreSQL: signals fold into open alerts, the cooldown opens
new ones, the lifecycle refuses what it must, quiet hours hold back deliveries, rules default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import sqlalchemy as sa

from stadspuls.alerts.rules import AlertRule, RuleError
from stadspuls.records import Alert
from stadspuls.store import alerts as store
from stadspuls.store import outbox
from stadspuls.store.monitors import delete_monitor
from stadspuls.store.rows import to_us
from stadspuls.store.schema import (
    alert_deliveries,
    alert_events,
    alert_rules,
    alerts,
    posts,
    stories,
    story_posts,
)
from stadspuls.store.writer import Batch, PostWriter
from tests.alerts.factories import add_monitor, signal
from tests.factories import T0, make_post

# 13:00 in Amsterdam (winter time, UTC+1) and 00:30 the night after.
DAY = to_us(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
NIGHT = to_us(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))


def _record(engine: sa.Engine, *signals: object, now_us: int = DAY) -> list[int]:
    with engine.begin() as conn:
        return store.record_signals(conn, list(signals), now_us=now_us)  # type: ignore[arg-type]


def _deliveries(engine: sa.Engine) -> list[tuple[int, str, str, str]]:
    query = sa.select(
        alert_deliveries.c.event_id,
        alert_deliveries.c.channel,
        alert_deliveries.c.target,
        alert_deliveries.c.state,
    ).order_by(alert_deliveries.c.id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _hooked(engine: sa.Engine, monitor_id: int, **fields: object) -> None:
    store.set_rule(
        engine,
        AlertRule(
            monitor_id=monitor_id,
            detector="burst",
            channels=("live", "webhook:politie", "email:wachtcommandant@example.nl"),
            **fields,  # type: ignore[arg-type]
        ),
    )


def test_repeated_signals_update_the_open_alert_instead_of_duplicating(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _hooked(engine, monitor)
    first = _record(engine, signal(monitor, 0))
    more = _record(engine, signal(monitor, 5, observed=20.0), signal(monitor, 10, observed=31.0))
    total, found = store.list_alerts(engine)
    assert total == 1
    (alert,) = found
    assert (alert.triggers, alert.observed, alert.state) == (3, 31.0, "open")
    assert alert.opened_at == T0
    assert alert.updated_at == T0 + timedelta(minutes=10)
    assert alert.id is not None
    events = store.alert_events_of(engine, alert.id)
    assert [e.kind for e in events] == ["opened", "updated", "updated"]
    assert [e.id for e in events] == first + more
    assert msgspec.json.decode(events[-1].payload, type=Alert) == alert
    # Only the opening goes to the webhook and the e-mail; updates go to the live stream only.
    assert _deliveries(engine) == [
        (first[0], "webhook", "politie", "pending"),
        (first[0], "email", "wachtcommandant@example.nl", "pending"),
    ]


def test_a_rise_in_severity_is_delivered_again(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _hooked(engine, monitor)
    _record(engine, signal(monitor, 0, severity="medium"))
    same = _record(engine, signal(monitor, 1, severity="low"))
    rise = _record(engine, signal(monitor, 2, severity="high"))
    (alert,) = store.list_alerts(engine)[1]
    assert alert.severity == "high"
    assert [d[0] for d in _deliveries(engine)].count(same[0]) == 0
    assert [d[0] for d in _deliveries(engine)].count(rise[0]) == 2


def test_after_the_cooldown_or_a_resolve_a_signal_opens_a_new_alert(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _record(engine, signal(monitor, 0))
    _record(engine, signal(monitor, 6 * 60 + 1))  # 6 h 1 min after the last trigger
    total, found = store.list_alerts(engine)
    assert total == 2
    assert all(a.triggers == 1 for a in found)
    newest = found[0]
    assert newest.id is not None
    store.resolve(engine, newest.id, "agent 12")
    _record(engine, signal(monitor, 6 * 60 + 2))
    assert store.list_alerts(engine)[0] == 3
    # Another key (a place) or another detector is another alert.
    _record(engine, signal(monitor, 6 * 60 + 3, key="GM0772"))
    _record(engine, signal(monitor, 6 * 60 + 3, detector="negative"))
    assert store.list_alerts(engine)[0] == 5
    assert store.list_alerts(engine, state="resolved")[0] == 1
    assert store.list_alerts(engine, state="open", limit=2)[0] == 4
    assert len(store.list_alerts(engine, state="open", limit=2)[1]) == 2


def test_lifecycle_transitions_and_their_errors(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _record(engine, signal(monitor, 0))
    (alert,) = store.list_alerts(engine)[1]
    assert alert.id is not None
    acked = store.acknowledge(engine, alert.id, "agent 12", note="unit on its way")
    assert (acked.state, acked.acknowledged_by, acked.note) == (
        "acknowledged",
        "agent 12",
        "unit on its way",
    )
    with pytest.raises(store.AlertStateError, match="acknowledged already by agent 12"):
        store.acknowledge(engine, alert.id, "agent 7")
    # An acknowledged alert still folds new signals.
    _record(engine, signal(monitor, 3))
    assert store.get_alert(engine, alert.id).triggers == 2  # type: ignore[union-attr]
    closed = store.resolve(engine, alert.id, "agent 7", note="fight over", false_alarm=False)
    assert (closed.state, closed.closed_by, closed.note) == ("resolved", "agent 7", "fight over")
    assert closed.acknowledged_by == "agent 12"
    with pytest.raises(store.AlertStateError, match="resolved: it cannot become acknowledged"):
        store.acknowledge(engine, alert.id, "agent 12")
    with pytest.raises(store.AlertStateError, match="cannot become resolved"):
        store.resolve(engine, alert.id, "agent 12")
    with pytest.raises(store.AlertNotFound, match="no alert 999"):
        store.acknowledge(engine, 999, "agent 12")
    with pytest.raises(store.AlertNotFound):
        store.resolve(engine, 999, "agent 12")
    with pytest.raises(ValueError, match="'by'"):
        store.acknowledge(engine, alert.id, " ")
    events = store.alert_events_of(engine, alert.id)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", None),
        ("acknowledged", "agent 12"),
        ("updated", None),
        ("resolved", "agent 7"),
    ]
    _record(engine, signal(monitor, 5, key="x"))
    other = store.list_alerts(engine, state="open")[1][0]
    assert other.id is not None
    assert store.resolve(engine, other.id, "agent 7", false_alarm=True).state == "false_alarm"
    # Lifecycle events reach the live stream, never the webhook or e-mail outbox.
    assert _deliveries(engine) == []


def test_quiet_hours_hold_back_all_but_high(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _hooked(engine, monitor, quiet_hours="23:00-07:00")
    night = _record(engine, signal(monitor, 0, severity="medium"), now_us=NIGHT)
    assert _deliveries(engine) == []
    high = _record(engine, signal(monitor, 0, key="b", severity="high"), now_us=NIGHT)
    day = _record(engine, signal(monitor, 0, key="c", severity="medium"), now_us=DAY)
    assert sorted({d[0] for d in _deliveries(engine)}) == [high[0], day[0]]
    # The held-back alert is still there for the dashboard and the live stream.
    assert [e.id for e in store.events_after(engine, 0)] == night + high + day


def test_rules_default_to_every_detector_live_only(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    paused = add_monitor(engine, "paused", active=False)
    rules = store.load_rules(engine)
    assert set(rules) == {"burst", "negative", "story", "rumour", "p2000"}
    assert all(set(by_monitor) == {monitor} for by_monitor in rules.values())
    assert rules["burst"][monitor].sensitivity == 1.0
    assert [r.channels for r in store.get_rules(engine, monitor)] == [("live",)] * 5
    store.set_rule(engine, AlertRule(monitor_id=monitor, detector="negative", enabled=False))
    store.set_rule(
        engine,
        AlertRule(monitor_id=monitor, detector="p2000", sensitivity=2.5, params={"hours": 6.0}),
    )
    with engine.connect() as conn:  # inside a caller's connection as well
        rules = store.load_rules(conn)
    assert "negative" not in rules
    assert (rules["p2000"][monitor].sensitivity, rules["p2000"][monitor].params) == (
        2.5,
        {"hours": 6.0},
    )
    assert paused not in rules["burst"]
    with pytest.raises(RuleError, match="not HH:MM-HH:MM"):
        store.set_rule(engine, AlertRule(monitor_id=monitor, detector="burst", quiet_hours="23-7"))
    with pytest.raises(RuleError, match="no webhook named 'x'"):
        store.set_rule(
            engine,
            AlertRule(monitor_id=monitor, detector="burst", channels=("webhook:x",)),
            webhooks={"politie"},
        )
    with pytest.raises(RuleError, match="unknown detector"):
        store.set_rule(engine, AlertRule(monitor_id=monitor, detector="nope"))
    with pytest.raises(LookupError, match="no monitor 999"):
        store.set_rule(engine, AlertRule(monitor_id=999, detector="burst"))


def test_record_signals_is_part_of_the_callers_transaction(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    conn = engine.connect()
    transaction = conn.begin()
    assert len(store.record_signals(conn, [signal(monitor)], now_us=DAY)) == 1
    transaction.rollback()  # the consumer failed before its cursor moved
    conn.close()
    assert store.list_alerts(engine)[0] == 0
    assert store.events_after(engine, 0) == []
    # A signal of a monitor deleted meanwhile is dropped, not a foreign-key failure.
    assert _record(engine, signal(monitor + 100)) == []


def test_deleting_a_monitor_removes_its_rules_alerts_and_stories(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    kept = add_monitor(engine, "kept")
    _hooked(engine, monitor)
    _hooked(engine, kept)
    _record(engine, signal(monitor), signal(kept))
    with PostWriter(engine) as writer:
        writer.write(Batch(posts=[make_post(1, author=None)]))
    with engine.begin() as conn:
        pk = conn.execute(sa.select(posts.c.pk)).scalar_one()
        story = conn.execute(
            stories.insert().values(
                monitor_id=monitor, key="s1", first_us=0, last_us=0, posts=1, authors=1
            )
        ).inserted_primary_key
        assert story is not None
        conn.execute(story_posts.insert().values(story_id=story[0], post_pk=pk))
    assert delete_monitor(engine, monitor)
    with engine.connect() as conn:
        for table in (alerts, alert_rules, stories):
            assert {r.monitor_id for r in conn.execute(sa.select(table))} == (
                {kept} if table is not stories else set()
            )
        assert conn.execute(sa.select(sa.func.count()).select_from(story_posts)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_events)).scalar() == 1
    assert {d[2] for d in _deliveries(engine)} == {"politie", "wachtcommandant@example.nl"}
    assert len(_deliveries(engine)) == 2


def test_the_outbox_claims_each_due_delivery_once(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _hooked(engine, monitor)
    _record(engine, signal(monitor), signal(monitor, key="b"))
    now = DAY + 1
    claimed = outbox.claim_due(engine, now, send_us=10_000_000)
    assert len(claimed) == 4
    assert {(d.channel, d.target, d.kind) for d in claimed} == {
        ("webhook", "politie", "opened"),
        ("email", "wachtcommandant@example.nl", "opened"),
    }
    assert outbox.claim_due(engine, now, send_us=10_000_000) == []
    outbox.release(engine, [claimed[0].id], now)
    outbox.mark_delivered(engine, claimed[1].id, now)
    outbox.mark_retry(engine, claimed[2].id, now + 5_000_000, "down")
    outbox.mark_failed(engine, claimed[3].id, "too old", attempted=False)
    assert [d.id for d in outbox.claim_due(engine, now, send_us=1)] == [claimed[0].id]
    skip = {("webhook", "politie"), ("email", "wachtcommandant@example.nl")}
    assert outbox.claim_due(engine, now + 10_000_000, send_us=1, skip=skip) == []
    assert outbox.delivery_counts(engine) == {"pending": 2, "delivered": 1, "failed": 1}


def test_one_batch_opens_folds_and_delivers_like_single_calls(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    _hooked(engine, monitor)
    batch = [
        signal(monitor, 0, severity="low"),
        signal(monitor, 1, key="GM0772"),
        signal(monitor, 2, severity="low"),
        signal(monitor, 3, severity="high", observed=40.0),
        signal(monitor, 60 * 7, severity="low"),  # past the cooldown: a new alert
    ]
    events = _record(engine, *batch)
    assert len(events) == 5
    assert [e.kind for e in store.events_after(engine, 0)] == [
        "opened", "opened", "updated", "updated", "opened",
    ]  # fmt: skip
    delivered = sorted({d[0] for d in _deliveries(engine)})
    assert delivered == [events[0], events[1], events[3], events[4]]
    total, found = store.list_alerts(engine)
    assert total == 3
    first = next(a for a in found if a.key == "" and a.triggers == 3)
    assert (first.severity, first.observed) == ("high", 40.0)


def test_signals_no_alert_can_hold_are_refused_in_one_line(engine: sa.Engine) -> None:
    monitor = add_monitor(engine)
    refused = [
        (signal(monitor, severity="urgent"), "severity 'urgent' is not one of"),
        (signal(monitor, observed=float("nan")), "must be finite"),
        (signal(monitor, key="x" * 201), "too long"),
        (signal(monitor, at=datetime(2026, 12, 1, 12, 0)), "UTC-aware"),
    ]
    for bad, message in refused:
        with pytest.raises(ValueError, match=message):
            _record(engine, signal(monitor), bad)
    assert store.list_alerts(engine)[0] == 0  # nothing of a refused batch was kept
    details = {"z": float("nan"), "ratio": 2.5, "why": "fire"}
    (event,) = _record(engine, signal(monitor, details=details))
    (alert,) = store.list_alerts(engine)[1]
    assert alert.details == {"ratio": 2.5, "why": "fire"}
    (stored,) = store.events_after(engine, event - 1)
    assert msgspec.json.decode(stored.payload, type=Alert) == alert
