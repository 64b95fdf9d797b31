"""Governance through the read service: the register of monitors, the model cards read as
they are written, the Algoritmeregister export, the audit log's export (itself audited) and
the retention log, each behind its permission."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from stadspuls.access.roles import Forbidden
from stadspuls.cli.common import pseudonym_function
from stadspuls.enrich.door import build_door
from stadspuls.pipeline import Pipeline
from stadspuls.records import Actor, Monitor
from stadspuls.service.model_cards import CARDS, HUMAN_OVERSIGHT
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store.retention import apply_retention
from tests.factories import T0, make_post

VIEWER = Actor(user_id=None, username="vera", role="viewer")
ANNA = Actor(user_id=None, username="anna", role="analyst")
ROOT = Actor(user_id=None, username="root", role="admin")


@pytest.fixture
def reads(settings: Settings, engine: sa.Engine) -> ReadService:
    pipeline = Pipeline(engine, build_door(settings))
    pipeline.process([make_post(n, f"Brand in de loods ({n})") for n in range(3)])
    pipeline.close()
    service = ReadService(engine, settings, pseudonymise=pseudonym_function(settings))
    monitor = Monitor(
        name="brand",
        query="brand",
        owner="",
        purpose="fire watch",
        legal_basis="police-task",
        retention_days=30,
    )
    service.create_monitor(ANNA, monitor)
    return service


def test_the_register_says_what_each_monitor_holds(reads: ReadService) -> None:
    (entry,) = reads.register(ANNA)
    assert entry.monitor.owner == "anna"  # left empty: the one who made it
    assert entry.legal_basis_label == "Police task (Wet politiegegevens)"
    assert (entry.posts, entry.oldest) == (3, T0)
    with pytest.raises(Forbidden):
        reads.register(VIEWER)


def test_every_model_card_is_read(reads: ReadService) -> None:
    models = {m.name: m for m in reads.models(VIEWER)}
    # every card but the one of a model trained, compared and not shipped (the incident e5 head)
    cards = list(CARDS.glob("MODEL_CARD_*.md"))
    assert len(models) == len(cards) - 1 == 6
    assert not any("e5 head" in name for name in models if name.startswith("Incident"))
    rumour = models["Rumour likelihood (PHEME)"]
    assert rumour.purpose.startswith("Sets the label: non-rumour, rumour")
    assert rumour.kind.startswith("L2 logistic regression")
    assert "PHEME" in rumour.training_data
    assert "CC BY 4.0" in rumour.training_data
    nested = "accurate** `rumour_e5.npz`: masked n-grams + cues (C = 0.125) / nested"
    assert rumour.metrics[nested] == "0.738"
    assert rumour.limitations.startswith("Read with care")
    language = next(m for name, m in models.items() if name.startswith("Language"))
    assert language.metrics["nl/en tweets (see below) / accuracy"] == "0.995"
    assert language.limitations.startswith("- The stage-1 score")
    sentiment = next(m for name, m in models.items() if name.startswith("Sentiment"))
    assert "Zegelaar" in sentiment.training_data
    assert sentiment.metrics["accurate (fast + e5 mix) / held-out 20 %"] == "0.715"
    assert sentiment.limitations.startswith("- Reviews")
    assert all(m.human_oversight == HUMAN_OVERSIGHT for m in models.values())


def test_the_algoritmeregister_export(reads: ReadService) -> None:
    export = reads.model_register_export(VIEWER)
    assert export["lawful_basis"] == ["Police task (Wet politiegegevens)"]
    incident = next(a for a in export["algorithms"] if a["name"] == "Incident type")
    assert incident["methods_and_models"].startswith("L2 logistic regression")
    assert incident["source_data"].startswith("CrisisLexT26")
    assert incident["monitoring"]["nested_macro_f1_given_related"] == "0.790"
    assert incident["documentation"] == "src/stadspuls/enrich/models/MODEL_CARD_incident.md"


def test_the_audit_log_is_for_admins_and_its_export_is_audited(reads: ReadService) -> None:
    reads.posts(ANNA, query="brand")
    with pytest.raises(Forbidden):
        reads.audit_log(ANNA)
    total, entries = reads.audit_log(ROOT, actions=["posts.view"])
    assert total == 1
    assert (entries[0].actor, entries[0].posts, entries[0].query) == ("anna", 3, "brand")
    rows = list(csv.DictReader(io.StringIO(reads.audit_csv(ROOT, actor_name="anna"))))
    assert [(r["action"], r["posts"]) for r in rows] == [("posts.view", "3"), ("monitor.add", "0")]
    assert rows[1]["details"] == "name=brand; matched=3"
    _, latest = reads.audit_log(ROOT, limit=1)
    assert (latest[0].action, latest[0].actor) == ("audit.export", "root")
    assert latest[0].details is not None
    assert latest[0].details["entries"] == 2


def test_the_retention_log_lists_runs(reads: ReadService, engine: sa.Engine) -> None:
    assert reads.retention_log(ROOT) == []
    apply_retention(engine, default_days=30, now=T0 + timedelta(days=60))
    ((_, deleted, details),) = reads.retention_log(ROOT)
    assert deleted == 3  # past the monitor's 30 days
    assert details["default_days"] == 30
    with pytest.raises(Forbidden):
        reads.retention_log(ANNA)
