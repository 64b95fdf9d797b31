"""Monitors admin: the list (`/monitors`), the create form (`/monitors/new`, prefilled from
`?query=` by search's "save as monitor") and the edit form (`/monitors/{id}/edit`). Purpose,
legal basis and retention are required; a query with `@handle` also needs a reason (and the
re-identification grant). The forms post without JavaScript and carry the CSRF token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from stadspuls.monitors import MonitorError
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import LEGAL_BASES, Actor, Monitor
from stadspuls.service.errors import Forbidden, NotFound, ReasonRequired
from stadspuls.service.reads import ReadService
from stadspuls.store.monitors import MonitorExists
from stadspuls.web.auth import check_csrf, identify
from stadspuls.web.pages.catalogue import LEGAL_BASIS_LABELS
from stadspuls.web.pages.guard import PageNotFound, page, reads
from stadspuls.web.pages.monitor_rules import rules_context
from stadspuls.web.pages.syntax import QueryProblem, problem_at
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
DEFAULT_RETENTION_DAYS = 30
EDITABLE = ("name", "query", "purpose", "legal_basis", "retention_days", "places", "active")


@dataclass
class MonitorForm:
    """What the form shows: the values as typed and what is wrong with them."""

    name: str = ""
    query: str = ""
    places: str = ""
    purpose: str = ""
    legal_basis: str = ""
    retention_days: str = str(DEFAULT_RETENTION_DAYS)
    active: bool = True
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> message key
    problem: QueryProblem | None = None
    message: str | None = None  # a message from the service, as it said it


def _from_monitor(monitor: Monitor) -> MonitorForm:
    return MonitorForm(
        name=monitor.name,
        query=monitor.query,
        places=", ".join(monitor.places),
        purpose=monitor.purpose,
        legal_basis=monitor.legal_basis,
        retention_days=str(monitor.retention_days),
        active=monitor.active,
    )


def _check(form: MonitorForm) -> int:
    """Fill `form.errors` for fields left empty or out of range; the retention in days."""
    for name in ("name", "query", "purpose"):
        if not getattr(form, name).strip():
            form.errors[name] = "required"
    if form.legal_basis not in LEGAL_BASES:
        form.errors["legal_basis"] = "required"
    try:
        days = int(form.retention_days)
    except ValueError:
        days = 0
    if not 1 <= days <= 3650:
        form.errors["retention_days"] = "range"
    return days


def _show(
    request: Request,
    form: MonitorForm,
    monitor_id: int | None,
    status: int = 200,
    rules: dict[str, object] | None = None,
) -> HTMLResponse:
    context = {
        "nav": "monitors",
        "form": form,
        "monitor_id": monitor_id,
        "legal_bases": LEGAL_BASIS_LABELS,
        **(rules or {}),
    }
    return render(request, "pages/monitor_form.html", context, status=status)


def _submit(
    request: Request,
    actor: Actor,
    service: ReadService,
    form: MonitorForm,
    csrf: str,
    before: Monitor | None,
) -> Response:
    identity = identify(request)
    assert identity is not None  # the page dependency let only a logged-in user through
    check_csrf(identity, csrf)
    days = _check(form)
    # A changed query that names a handle re-identifies: the service asks for the reason too,
    # this only says so beside the other missing fields.
    renamed = before is None or form.query.strip() != before.query
    if renamed and "@" in form.query and not form.reason.strip():
        form.errors["reason"] = "required"
    monitor_id = before.id if before else None
    rules = None if monitor_id is None else rules_context(service, actor, monitor_id)
    if form.errors:
        return _show(request, form, monitor_id, status=422, rules=rules)
    monitor = Monitor(
        id=monitor_id,
        name=form.name.strip(),
        query=form.query.strip(),
        owner=before.owner if before else actor.username,
        purpose=form.purpose.strip(),
        legal_basis=form.legal_basis,
        retention_days=days,
        places=tuple(p.strip() for p in form.places.split(",") if p.strip()),
        active=form.active,
    )
    reason = form.reason.strip() or None
    try:
        if before is None:
            saved, _ = service.create_monitor(actor, monitor, reason)
        else:
            changes = {
                name: getattr(monitor, name)
                for name in EDITABLE
                if getattr(monitor, name) != getattr(before, name)
            }
            saved, _ = service.update_monitor(actor, before.id or 0, changes, reason)
    except QuerySyntaxError as error:
        form.problem = problem_at(monitor.query, error)
    except ReasonRequired:
        form.errors["reason"] = "required"
    except Forbidden:
        form.errors["reason"] = "grant"
    except MonitorExists:
        form.errors["name"] = "exists"
    except MonitorError as error:
        form.message = str(error)  # what the pre-checks above do not catch, in English
    else:
        return RedirectResponse(f"/monitors/{saved.id}", status_code=303)
    return _show(request, form, monitor_id, status=422, rules=rules)


FormText = Annotated[str, Field(max_length=4000)]


class MonitorFields(BaseModel):
    """The create and edit forms' fields as posted (a checkbox posts only when ticked)."""

    name: FormText = ""
    query: FormText = ""
    places: FormText = ""
    purpose: FormText = ""
    legal_basis: FormText = ""
    retention_days: FormText = ""
    reason: FormText = ""
    active: FormText = ""
    csrf: FormText = ""

    def form(self) -> MonitorForm:
        return MonitorForm(
            self.name, self.query, self.places, self.purpose, self.legal_basis,
            self.retention_days, bool(self.active), self.reason,
        )  # fmt: skip


@router.get("/monitors", response_class=HTMLResponse)
def monitor_list(
    request: Request,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
) -> HTMLResponse:
    rows = service.monitors(actor)
    context = {"nav": "monitors", "rows": rows, "legal_bases": LEGAL_BASIS_LABELS}
    return render(request, "pages/monitors.html", context)


@router.get("/monitors/new", response_class=HTMLResponse)
def new_monitor(
    request: Request,
    actor: Annotated[Actor, Depends(page("posts"))],
    query: Annotated[str, Query(max_length=4000)] = "",
) -> HTMLResponse:
    return _show(request, MonitorForm(query=query), None)


@router.post("/monitors/new", response_class=HTMLResponse)
def create_monitor(
    request: Request,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    posted: Annotated[MonitorFields, Form()],
) -> Response:
    return _submit(request, actor, service, posted.form(), posted.csrf, None)


def _existing(service: ReadService, actor: Actor, monitor_id: int) -> Monitor:
    try:
        return service.monitor(actor, monitor_id)[0]
    except NotFound as error:
        raise PageNotFound(str(error)) from error


@router.get("/monitors/{monitor_id}/edit", response_class=HTMLResponse)
def edit_monitor(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
) -> HTMLResponse:
    form = _from_monitor(_existing(service, actor, monitor_id))
    return _show(request, form, monitor_id, rules=rules_context(service, actor, monitor_id))


@router.post("/monitors/{monitor_id}/edit", response_class=HTMLResponse)
def update_monitor(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    posted: Annotated[MonitorFields, Form()],
) -> Response:
    before = _existing(service, actor, monitor_id)
    return _submit(request, actor, service, posted.form(), posted.csrf, before)


@router.post("/monitors/{monitor_id}/delete", response_class=HTMLResponse)
def delete_monitor(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    csrf: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    identity = identify(request)
    assert identity is not None
    check_csrf(identity, csrf)
    try:
        service.delete_monitor(actor, monitor_id)
    except NotFound as error:
        raise PageNotFound(str(error)) from error
    return RedirectResponse("/monitors", status_code=303)
