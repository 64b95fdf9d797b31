"""API schemas of the governance routes: the register, the models, the audit and retention
logs (kept apart from the read service's views, as the other schemas are)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from stadspuls.records import AuditEntry
from stadspuls.service.views import ModelEntry, RegisterEntry


class RegisterOut(BaseModel):
    monitor_id: int
    name: str
    purpose: str
    legal_basis: str
    legal_basis_label: str
    retention_days: int
    owner: str
    active: bool
    created_at: datetime | None
    posts: int = Field(description="Posts the monitor holds now.")
    oldest: datetime | None = Field(description="Its oldest post's time.")

    @classmethod
    def from_entry(cls, entry: RegisterEntry) -> RegisterOut:
        m = entry.monitor
        return cls(
            monitor_id=m.id or 0,
            name=m.name,
            purpose=m.purpose,
            legal_basis=m.legal_basis,
            legal_basis_label=entry.legal_basis_label,
            retention_days=m.retention_days,
            owner=m.owner,
            active=m.active,
            created_at=m.created_at,
            posts=entry.posts,
            oldest=entry.oldest,
        )


class ModelOut(BaseModel):
    name: str
    purpose: str
    kind: str
    training_data: str
    metrics: dict[str, str]
    limitations: str
    human_oversight: str
    card_path: str

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> ModelOut:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    user_id: int | None
    role: str
    action: str
    monitor_id: int | None
    query: str | None
    posts: int
    reason: str | None
    details: dict[str, str | int | float | bool | None] | None

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> AuditOut:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[AuditOut]


class RetentionRunOut(BaseModel):
    at: datetime
    deleted_posts: int
    details: dict[str, Any] = Field(description="Posts deleted per reason, the default days.")
