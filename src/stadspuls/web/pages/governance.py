"""Governance (`/governance`): the register of monitors (purpose, legal basis, retention, owner,
what each holds), the models in use with what a DPIA and the Algoritmeregister ask about them,
and for admins the audit log (filtered, paged, exported as CSV) and the retention log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from stadspuls.access.roles import allows
from stadspuls.records import Actor
from stadspuls.service.reads import ReadService
from stadspuls.web.formatting import TIME_ZONE
from stadspuls.web.pages.catalogue import LEGAL_BASIS_LABELS
from stadspuls.web.pages.guard import page, reads
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50
# The actions the audit log knows, for the filter's choices (free text is accepted too).
AUDIT_ACTIONS = (
    "posts.view",
    "posts.export",
    "reidentify",
    "link.open",
    "monitor.add",
    "monitor.edit",
    "monitor.delete",
    "audit.export",
    "user.add",
    "user.disable",
    "login",
)


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    """The start of a local day (or of the next one, for an inclusive end date)."""
    if value is None:
        return None
    moment = datetime.combine(value + timedelta(days=1 if end else 0), time())
    return moment.replace(tzinfo=ZoneInfo(TIME_ZONE))


@router.get("/governance", response_class=HTMLResponse)
def governance(
    request: Request,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    who: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    admin = allows(actor, "admin")
    audit = None
    retention = None
    start, end = _day(since), _day(until, end=True)
    # The CSV export (`/api/audit.csv`) takes the same filters under its own names.
    export = {
        "user": who.strip(),
        "action": action.strip(),
        "since": start.isoformat() if start else "",
        "until": end.isoformat() if end else "",
    }
    if admin:
        total, entries = service.audit_log(
            actor,
            since=start,
            until=end,
            actor_name=who.strip() or None,
            actions=[action.strip()] if action.strip() else None,
            limit=AUDIT_PAGE,
            offset=offset,
        )
        audit = {"total": total, "entries": entries, "offset": offset, "limit": AUDIT_PAGE}
        retention = service.retention_log(actor)
    context = {
        "nav": "governance",
        "register": service.register(actor),
        "models": service.models(actor),
        "legal_bases": LEGAL_BASIS_LABELS,
        "audit": audit,
        "retention": retention,
        "filters": {"who": who, "action": action, "since": since, "until": until},
        "actions": AUDIT_ACTIONS,
        "export_query": urlencode({k: v for k, v in export.items() if v}),
        "page_query": urlencode(
            {"who": who, "action": action, "since": since or "", "until": until or ""}
        ),
    }
    return render(request, "pages/governance.html", context)
