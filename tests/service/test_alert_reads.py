"""Alerts through the read service: an alert's evidence (the monitor's hourly series around it
and its representative posts, audited), the operator's actions as the acting user, notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.cli.common import pseudonym_function
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Actor, Monitor
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store import alerts as store
from stadspuls.store.alerts import AlertStateError
from stadspuls.store.audit import list_entries
from tests.alerts.factories import signal
from tests.factories import T0, make_post, stored_id

VIEWER = Actor(user_id=None, username="vera", role="viewer")
ANNA = Actor(user_id=None, username="anna", role="analyst")
BOB = Actor(user_id=None, username="bob", role="analyst")


@pytest.fixture
def reads(settings: Settings, engine: sa.Engine) -> ReadService:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(n, f"Brand in de loods ({n})") for n in range(6)])
    pipeline.close()
    # Created after the posts: its backfill links them and builds its hourly counts.
    service = ReadService(engine, settings, pseudonymise=pseudonym_function(settings))
    monitor = Monitor(
        name="brand",
        query="brand",
        owner="anna",
        purpose="fire watch",
        legal_basis="public-task",
        retention_days=30,
    )
    service.create_monitor(ANNA, monitor)
    return service


def _alert(reads: ReadService, engine: sa.Engine) -> int:
    ((monitor, _),) = reads.monitors(ANNA)
    assert monitor.id is not None
    ids = (*(stored_id(reads.settings, f"test:{n}") for n in (4, 5)), "gone:1")
    with engine.begin() as conn:
        store.record_signals(conn, [signal(monitor.id, 5, post_ids=ids)])
    total, found = reads.alerts(ANNA)
    assert total == 1
    assert found[0].id is not None
    return found[0].id


def test_an_alert_comes_with_its_evidence(reads: ReadService, engine: sa.Engine) -> None:
    alert_id = _alert(reads, engine)
    view = reads.alert(ANNA, alert_id)
    assert view.monitor_name == "brand"
    # The posts still stored, in the signal's order; a post deleted since is left out.
    assert [p.text for p in view.posts] == ["Brand in de loods (4)", "Brand in de loods (5)"]
    assert view.series.bucket_seconds == 3600
    hours = {p.start: p.posts for p in view.series.points}
    assert hours[T0] == 6  # the six posts, all in the hour of the alert
    assert view.series.points[0].start <= view.alert.started_at - timedelta(hours=5)
    assert [kind for kind, _, _ in view.events] == ["opened"]
    _, entries = list_entries(engine, actions=["posts.view"])
    assert [(e.actor, e.posts, e.details) for e in entries] == [("anna", 2, {"alert": alert_id})]


def test_a_viewer_gets_no_alerts(reads: ReadService, engine: sa.Engine) -> None:
    alert_id = _alert(reads, engine)
    for call in (
        lambda: reads.alerts(VIEWER),
        lambda: reads.alert(VIEWER, alert_id),
        lambda: reads.alert_history(VIEWER, alert_id),
        lambda: reads.acknowledge(VIEWER, alert_id),
        lambda: reads.add_note(VIEWER, alert_id, "x"),
    ):
        with pytest.raises(Forbidden):
            call()


def test_the_operator_acts_as_the_signed_in_user(reads: ReadService, engine: sa.Engine) -> None:
    alert_id = _alert(reads, engine)
    assert reads.acknowledge(ANNA, alert_id, "unit sent").acknowledged_by == "anna"
    with pytest.raises(AlertStateError, match="acknowledged already by anna"):
        reads.acknowledge(BOB, alert_id)
    assert reads.add_note(BOB, alert_id, "district informed").note == "district informed"
    closed = reads.resolve(BOB, alert_id, false_alarm=True)
    assert (closed.state, closed.closed_by, closed.note) == (
        "false_alarm",
        "bob",
        "district informed",
    )
    _, events, _ = reads.alert_history(ANNA, alert_id)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", None),
        ("acknowledged", "anna"),
        ("note", "bob"),
        ("false_alarm", "bob"),
    ]
    with pytest.raises(NotFound):
        reads.add_note(ANNA, 999, "nothing")
