"""Governance: the register of monitors, the models in use and their Algoritmeregister export,
the audit log (admins; with a CSV export that is itself audited) and the retention log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, StringConstraints

from stadspuls.records import Actor
from stadspuls.web.auth import require
from stadspuls.web.governance_schemas import (
    AuditOut,
    AuditPage,
    ModelOut,
    RegisterOut,
    RetentionRunOut,
)
from stadspuls.web.routes import reads
from stadspuls.web.schemas import NO_NUL

router = APIRouter(tags=["governance"])
Admin = Annotated[Actor, Depends(require("admin"))]

AuditSince = Annotated[
    AwareDatetime | None, Query(description="Only entries at or after this moment (with a zone)")
]
AuditUntil = Annotated[
    AwareDatetime | None, Query(description="Only entries before this moment (with a zone)")
]
AuditActor = Annotated[
    str | None, Query(max_length=200, pattern=NO_NUL, description="Only this user's entries")
]
AuditActions = Annotated[
    list[Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)]] | None,
    Query(max_length=50, description="Only these actions, e.g. posts.view (repeat for several)"),
]


@router.get("/governance/register", response_model=list[RegisterOut])
def register(
    request: Request, actor: Annotated[Actor, Depends(require("posts"))]
) -> list[RegisterOut]:
    """Every monitor with its purpose, legal basis, retention, owner and what it holds now."""
    return [RegisterOut.from_entry(e) for e in reads(request).register(actor)]


@router.get("/governance/models", response_model=list[ModelOut])
def models(
    request: Request, actor: Annotated[Actor, Depends(require("aggregates"))]
) -> list[ModelOut]:
    """The models in use, from their model cards."""
    return [ModelOut.from_entry(m) for m in reads(request).models(actor)]


@router.get("/governance/algoritmeregister")
def algoritmeregister(
    request: Request, actor: Annotated[Actor, Depends(require("aggregates"))]
) -> dict[str, Any]:
    """The models in the fields of the Dutch Algoritmeregister, as far as the cards say."""
    return reads(request).model_register_export(actor)


@router.get("/governance/retention", response_model=list[RetentionRunOut])
def retention(
    request: Request,
    actor: Admin,
    limit: Annotated[int, Query(ge=1, le=1000, description="Latest runs")] = 20,
) -> list[RetentionRunOut]:
    """The latest retention runs: when, how many posts were deleted, and why."""
    return [
        RetentionRunOut(at=at, deleted_posts=n, details=details)
        for at, n, details in reads(request).retention_log(actor, limit)
    ]


@router.get("/audit", response_model=AuditPage)
def audit(
    request: Request,
    actor: Admin,
    since: AuditSince = None,
    until: AuditUntil = None,
    user: AuditActor = None,
    action: AuditActions = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    """The audit log, newest first: who saw post texts, re-identified, opened a link, changed
    a monitor, a user or a setting."""
    total, entries = reads(request).audit_log(
        actor, since=since, until=until, actor_name=user, actions=action, limit=limit,
        offset=offset,
    )  # fmt: skip
    return AuditPage(
        total=total, limit=limit, offset=offset, entries=[AuditOut.from_entry(e) for e in entries]
    )


@router.get("/audit.csv", response_class=Response)
def audit_csv(
    request: Request,
    actor: Admin,
    since: AuditSince = None,
    until: AuditUntil = None,
    user: AuditActor = None,
    action: AuditActions = None,
) -> Response:
    """Every matching entry as CSV; the export is written to the audit log too."""
    body = reads(request).audit_csv(
        actor, since=since, until=until, actor_name=user, actions=action
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="stadspuls-audit-{stamp}.csv"'},
    )
