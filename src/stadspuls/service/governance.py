"""Governance: the register of monitors (processing activities), the models in use, the audit
log and its export, the retention log, and the Algoritmeregister export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from stadspuls.access.roles import check
from stadspuls.records import LEGAL_BASES, Actor, AuditEntry
from stadspuls.service.base import ServiceBase
from stadspuls.service.model_cards import read_cards
from stadspuls.service.views import ModelEntry, RegisterEntry
from stadspuls.store import audit as audit_store
from stadspuls.store import monitors as monitor_store
from stadspuls.store.retention import retention_history

AUDIT_COLUMNS = (
    "id", "at", "actor", "user_id", "role", "action", "monitor_id", "query", "posts", "reason",
    "details",
)  # fmt: skip
# An export reads in pages of this many entries, so a long log is never held twice in memory.
EXPORT_PAGE = 5000


class GovernanceReads(ServiceBase):
    """Register ("posts"), models ("aggregates"), audit and retention logs ("admin")."""

    def register(self, actor: Actor) -> list[RegisterEntry]:
        """Every monitor with purpose, legal basis, retention, owner and what it holds now."""
        check(actor, "posts")
        held = monitor_store.holdings(self.engine)
        out = []
        for monitor in monitor_store.list_monitors(self.engine):
            posts, oldest = held.get(monitor.id or 0, (0, None))
            out.append(
                RegisterEntry(
                    monitor=monitor,
                    legal_basis_label=LEGAL_BASES.get(monitor.legal_basis, monitor.legal_basis),
                    posts=posts,
                    oldest=oldest,
                )
            )
        return out

    def models(self, actor: Actor) -> list[ModelEntry]:
        check(actor, "aggregates")
        return read_cards()

    def audit_log(
        self,
        actor: Actor,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor_name: str | None = None,
        actions: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[AuditEntry]]:
        """(total, entries newest first)."""
        check(actor, "admin")
        return audit_store.list_entries(
            self.engine,
            since=since,
            until=until,
            actor=actor_name,
            actions=actions,
            limit=limit,
            offset=offset,
        )

    def audit_csv(
        self,
        actor: Actor,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor_name: str | None = None,
        actions: Sequence[str] | None = None,
    ) -> str:
        """Every matching entry as CSV (newest first); the export itself is audited."""
        check(actor, "admin")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(AUDIT_COLUMNS)
        exported = 0
        with self.engine.begin() as conn:
            while True:
                total, page = audit_store.list_entries(
                    conn,
                    since=since,
                    until=until,
                    actor=actor_name,
                    actions=actions,
                    limit=EXPORT_PAGE,
                    offset=exported,
                )
                for entry in page:
                    writer.writerow(_csv_row(entry))
                exported += len(page)
                if not page or exported >= total:
                    break
            filters: dict[str, str | int | float | bool | None] = {
                "since": None if since is None else since.isoformat(),
                "until": None if until is None else until.isoformat(),
                "actor": actor_name,
                "actions": ",".join(actions) if actions else None,
                "entries": exported,
            }
            self.audit(conn, actor, "audit.export", details=filters)
        return buffer.getvalue()

    def retention_log(
        self, actor: Actor, limit: int = 20
    ) -> list[tuple[datetime, int, dict[str, int]]]:
        """(run time, posts deleted, deleted per reason) of the latest retention runs."""
        check(actor, "admin")
        return retention_history(self.engine, limit)

    def model_register_export(self, actor: Actor) -> dict[str, Any]:
        """The models in use in the fields of the Dutch Algoritmeregister (its publication
        standard), as far as the model cards say; the legal basis is per monitor."""
        check(actor, "aggregates")
        bases = sorted({m.legal_basis for m in monitor_store.list_monitors(self.engine)})
        return {
            "standard": "Algoritmeregister publicatiestandaard (fields as far as the cards say)",
            "generated_by": "Stadspuls",
            "lawful_basis": [LEGAL_BASES.get(b, b) for b in bases],
            "lawful_basis_note": (
                "The legal basis is recorded per monitor (see the register of monitors); "
                "listed here are those of the monitors that exist now."
            ),
            "algorithms": [_register_entry(m) for m in read_cards()],
        }


def _csv_row(entry: AuditEntry) -> list[object]:
    details = (
        "" if entry.details is None else "; ".join(f"{k}={v}" for k, v in entry.details.items())
    )
    return [
        entry.id, entry.at.isoformat(), entry.actor, entry.user_id, entry.role, entry.action,
        entry.monitor_id, entry.query, entry.posts, entry.reason, details,
    ]  # fmt: skip


def _register_entry(model: ModelEntry) -> dict[str, Any]:
    """One algorithm; the comment on each field says which part of the card fills it."""
    return {
        "name": model.name,  # the card's title
        "description_short": model.purpose,  # the labels it sets / "What it is"
        "type": "Classifier on post texts (decides nothing about a person by itself)",
        "goal": model.purpose,
        "methods_and_models": model.kind,  # "Model" / "What it is"
        "source_data": model.training_data,  # "Data" and "Data licence" / "Data …" section
        "monitoring": model.metrics,  # the card's metrics (headline figures)
        "risk_management": model.limitations,  # "Limits" / "Notes"
        "human_intervention": model.human_oversight,  # not in the cards: how Stadspuls uses it
        "documentation": model.card_path,
    }
