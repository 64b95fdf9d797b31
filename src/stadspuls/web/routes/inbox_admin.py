"""The inbox settings pages: departments (office hours per weekday, service levels, retention,
members) at /inbox/settings and routing rules (in order, with a "test a message" box) at
/inbox/settings/rules. Reply templates and calls for tips have their own modules; this router
includes theirs, so the app includes one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stadspuls.cases import hours as office_hours
from stadspuls.cases.records import CASE_KINDS, Department, InboundMessage, OfficeHours, RoutingRule
from stadspuls.cases.routing import place_codes
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.store import users as user_store
from stadspuls.web.pages.guard import PageNotFound
from stadspuls.web.pages.syntax import problem_at
from stadspuls.web.routes import inbox_admin_calls, inbox_admin_templates
from stadspuls.web.routes.inbox_admin_forms import (
    REFUSED,
    AdminPage,
    Posted,
    Staff,
    case_admin,
    not_found,
    parse_number,
    parse_spans,
    posted,
    reason,
    spans_text,
    words,
)
from stadspuls.web.templating import language, render

router = APIRouter(include_in_schema=False)
router.include_router(inbox_admin_templates.router)
router.include_router(inbox_admin_calls.router)

DAYS = range(7)


# -- departments --------------------------------------------------------------------------------


def _department_form(department: Department, members: list[int]) -> dict[str, Any]:
    form: dict[str, Any] = {
        "slug": department.slug,
        "name": department.name,
        "open_on_holidays": department.hours.open_on_holidays,
        "always_open": department.hours.always_open,
        "first_response_hours": _number(department.first_response_hours),
        "resolution_hours": _number(department.resolution_hours),
        "retention_days": str(department.retention_days),
        "auto_reply_template": department.auto_reply_template or "",
        "active": department.active,
        "members": [str(m) for m in members],
    }
    for day in DAYS:
        form[f"day-{day}"] = spans_text(department.hours.week.get(day, ()))
    return form


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else str(value)


def _department_of(form: Posted, department_id: int | None) -> Department:
    week = {day: parse_spans(form.get(f"day-{day}")) for day in DAYS}
    retention = parse_number(form.get("retention_days"), "retention", integer=True)
    return Department(
        id=department_id,
        slug=form.get("slug").strip(),
        name=form.get("name").strip(),
        hours=OfficeHours(
            week={day: spans for day, spans in week.items() if spans},
            open_on_holidays=form.flag("open_on_holidays"),
            always_open=form.flag("always_open"),
        ),
        first_response_hours=parse_number(form.get("first_response_hours"), "first response"),
        resolution_hours=parse_number(form.get("resolution_hours"), "resolution"),
        retention_days=int(retention) if retention is not None else 0,
        auto_reply_template=form.get("auto_reply_template").strip() or None,
        active=form.flag("active"),
    )


@router.get("/inbox/settings", response_class=HTMLResponse)
def departments_page(request: Request, actor: AdminPage) -> HTMLResponse:
    admin = case_admin(request)
    admin.ensure_fallback()
    rows = [
        {
            "department": d,
            "hours": office_hours.describe(d.hours, language(request)),
            "members": len(admin.members(actor, d.id or 0)),
            "fallback": d.slug == request.app.state.settings.inbox.fallback_department,
        }
        for d in admin.departments(actor)
    ]
    done = request.query_params.get("done") == "1"
    return render(
        request, "inbox_admin/departments.html", {"nav": "inbox", "rows": rows, "done": done}
    )


def _department_page(
    request: Request,
    actor: Actor,
    form: dict[str, Any],
    department_id: int | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    admin = case_admin(request)
    engine: sa.Engine = request.app.state.engine
    context = {
        "nav": "inbox",
        "form": form,
        "department_id": department_id,
        "users": [u for u in user_store.list_users(engine) if u.role != "viewer" and u.active],
        "templates": sorted({t.name for t in admin.templates(actor)}),
        "error": error,
        "days": DAYS,
    }
    return render(request, "inbox_admin/department_form.html", context, status=status)


@router.get("/inbox/settings/departments/new", response_class=HTMLResponse)
def new_department(request: Request, actor: AdminPage) -> HTMLResponse:
    blank = _department_form(Department(slug="", name="", hours=OfficeHours()), [])
    return _department_page(request, actor, blank, None)


@router.get("/inbox/settings/departments/{department_id}", response_class=HTMLResponse)
def edit_department(request: Request, actor: AdminPage, department_id: int) -> HTMLResponse:
    admin = case_admin(request)
    try:
        department = admin.department(actor, department_id)
    except NotFound as error:
        raise not_found(error) from error
    form = _department_form(department, admin.members(actor, department_id))
    return _department_page(request, actor, form, department_id)


async def _save_department(request: Request, actor: Actor, department_id: int | None) -> Response:
    form = await posted(request)
    admin = case_admin(request)
    typed: dict[str, Any] = {
        **form.values(),
        "open_on_holidays": form.flag("open_on_holidays"),
        "always_open": form.flag("always_open"),
        "active": form.flag("active"),
        "members": form.all("members"),
    }
    try:
        if department_id is not None:
            admin.department(actor, department_id)
        saved = admin.save_department(actor, _department_of(form, department_id))
        member_ids = [int(v) for v in form.all("members") if v.isdigit() and len(v) < 19]
        admin.set_members(actor, saved.id or 0, member_ids)
    except NotFound as error:
        raise not_found(error) from error
    except REFUSED as error:
        return _department_page(
            request, actor, typed, department_id, error=reason(request, error), status=422
        )
    return RedirectResponse("/inbox/settings?done=1", status_code=303)


@router.post("/inbox/settings/departments/new")
async def create_department(request: Request, actor: AdminPage) -> Response:
    return await _save_department(request, actor, None)


@router.post("/inbox/settings/departments/{department_id}")
async def update_department(request: Request, actor: AdminPage, department_id: int) -> Response:
    return await _save_department(request, actor, department_id)


# -- routing rules ------------------------------------------------------------------------------


def _test(request: Request, actor: Actor) -> dict[str, Any] | None:
    """The test box's message (query parameters) and where it would go."""
    params = request.query_params
    text = (params.get("text") or "")[:10_000]
    if not text.strip():
        return None
    kind = params.get("kind") if params.get("kind") in CASE_KINDS else "question"
    language = (params.get("language") or "").strip().lower()[:8] or None
    place = (params.get("place") or "").strip()[:200]
    typed: dict[str, str] = {
        "text": text,
        "subject": (params.get("subject") or "")[:300],
        "kind": kind or "question",
        "category": (params.get("category") or "").strip()[:64],
        "language": language or "",
        "place": place,
    }
    codes = place_codes(place) if place else frozenset()
    if place and not codes:
        return {"typed": typed, "unknown_place": place}
    message = InboundMessage(
        channel="web",
        external_id="test",
        received_at=utcnow(),
        kind=kind or "question",
        subject=typed["subject"],
        text=text,
        language=language,
        category=typed["category"] or None,
    )
    admin = case_admin(request)
    decision = admin.try_route(actor, message, place_code=min(codes) if codes else None)
    return {
        "typed": typed,
        "decision": decision,
        "department": admin.department(actor, decision.department_id).name,
    }


@router.get("/inbox/settings/rules", response_class=HTMLResponse)
def rules_page(request: Request, actor: Staff) -> HTMLResponse:
    admin = case_admin(request)
    names = {d.id: d.name for d in admin.departments(actor)}
    context = {
        "nav": "inbox",
        "rules": admin.rules(actor),
        "departments": names,
        "test": _test(request, actor),
        "kinds": CASE_KINDS,
        "done": request.query_params.get("done") == "1",
    }
    return render(request, "inbox_admin/rules.html", context)


def _rule_form(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "department_id": str(rule.department_id) if rule.department_id else "",
        "query": rule.query or "",
        "categories": ", ".join(rule.categories),
        "places": ", ".join(rule.places),
        "languages": ", ".join(rule.languages),
        "kinds": list(rule.kinds),
        "active": rule.active,
    }


def _rule_page(
    request: Request,
    actor: Actor,
    form: dict[str, Any],
    rule_id: int | None,
    *,
    error: str | None = None,
    problem: Any = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "nav": "inbox",
        "form": form,
        "rule_id": rule_id,
        "departments": case_admin(request).departments(actor),
        "kinds": CASE_KINDS,
        "error": error,
        "problem": problem,
    }
    return render(request, "inbox_admin/rule_form.html", context, status=status)


@router.get("/inbox/settings/rules/new", response_class=HTMLResponse)
def new_rule(request: Request, actor: AdminPage) -> HTMLResponse:
    return _rule_page(request, actor, _rule_form(RoutingRule(department_id=0, name="")), None)


def _rule(request: Request, actor: Actor, rule_id: int) -> RoutingRule:
    for rule in case_admin(request).rules(actor):
        if rule.id == rule_id:
            return rule
    raise PageNotFound(f"no routing rule {rule_id}")


@router.get("/inbox/settings/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule(request: Request, actor: AdminPage, rule_id: int) -> HTMLResponse:
    return _rule_page(request, actor, _rule_form(_rule(request, actor, rule_id)), rule_id)


async def _save_rule(request: Request, actor: Actor, rule_id: int | None) -> Response:
    form = await posted(request)
    before = None if rule_id is None else _rule(request, actor, rule_id)
    typed = {**form.values(), "kinds": form.all("kinds"), "active": form.flag("active")}
    department = form.get("department_id")
    rule = RoutingRule(
        id=rule_id,
        department_id=int(department) if department.isdigit() and len(department) < 19 else 0,
        position=before.position if before else 0,
        name=form.get("name"),
        query=form.get("query"),
        categories=words(form.get("categories")),
        places=words(form.get("places")),
        languages=words(form.get("languages")),
        kinds=tuple(k for k in form.all("kinds") if k in CASE_KINDS),
        active=form.flag("active"),
    )
    try:
        case_admin(request).save_rule(actor, rule)
    except QuerySyntaxError as error:
        return _rule_page(
            request, actor, typed, rule_id, problem=problem_at(rule.query or "", error), status=422
        )
    except NotFound:
        return _rule_page(request, actor, typed, rule_id, error="no such department", status=422)
    except REFUSED as error:
        return _rule_page(request, actor, typed, rule_id, error=reason(request, error), status=422)
    return RedirectResponse("/inbox/settings/rules?done=1", status_code=303)


@router.post("/inbox/settings/rules/new")
async def create_rule(request: Request, actor: AdminPage) -> Response:
    return await _save_rule(request, actor, None)


@router.post("/inbox/settings/rules/{rule_id}")
async def update_rule(request: Request, actor: AdminPage, rule_id: int) -> Response:
    return await _save_rule(request, actor, rule_id)


@router.post("/inbox/settings/rules/{rule_id}/move")
async def move_rule(request: Request, actor: AdminPage, rule_id: int) -> Response:
    form = await posted(request)
    steps = -1 if form.get("direction") == "up" else 1
    try:
        case_admin(request).move_rule(actor, rule_id, steps)
    except NotFound as error:
        raise not_found(error) from error
    return RedirectResponse(f"/inbox/settings/rules#rule-{rule_id}", status_code=303)


@router.post("/inbox/settings/rules/{rule_id}/delete")
async def delete_rule(request: Request, actor: AdminPage, rule_id: int) -> Response:
    await posted(request)
    try:
        case_admin(request).delete_rule(actor, rule_id)
    except NotFound as error:
        raise not_found(error) from error
    return RedirectResponse("/inbox/settings/rules?done=1", status_code=303)
