"""Calls for tips ("oproepen") for staff: the list (/calls), the form with the call's own
questions, and a call's page with its public link and QR code, the tips it received and, beside
them, the posts its monitor matched."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stadspuls.access import totp
from stadspuls.access.roles import allows
from stadspuls.cases.calls import MAX_QUESTIONS
from stadspuls.cases.records import QUESTION_KINDS, Call, CallQuestion
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import Forbidden, NotFound
from stadspuls.settings import Settings
from stadspuls.web.routes.inbox_admin_forms import (
    REFUSED,
    Posted,
    Staff,
    case_admin,
    local_field,
    not_found,
    parse_local,
    parse_number,
    posted,
    reason,
    words,
)
from stadspuls.web.routes.pages import local_time
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
BLANK_QUESTIONS = 2  # empty rows under a call's questions, to add new ones without JavaScript
FEED_POSTS = 20


def public_link(settings: Settings, call: Call) -> str:
    base = settings.inbox.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/oproep/{call.slug}"


def _state(call: Call) -> str:
    now = utcnow()
    if call.closed:
        return "closed"
    if now < call.starts_at:
        return "upcoming"
    if call.ends_at is not None and now >= call.ends_at:
        return "ended"
    return "open"


@router.get("/calls", response_class=HTMLResponse)
def calls_page(request: Request, actor: Staff) -> HTMLResponse:
    admin = case_admin(request)
    names = {d.id: d.name for d in admin.departments(actor)}
    rows = [
        {
            "call": call,
            "department": names.get(call.department_id, ""),
            "state": _state(call),
            "starts": local_time(call.starts_at, request),
            "ends": local_time(call.ends_at, request),
        }
        for call in admin.calls(actor)
    ]
    return render(request, "inbox_admin/calls.html", {"nav": "calls", "rows": rows})


def _as_form(call: Call) -> dict[str, Any]:
    form: dict[str, Any] = {
        "slug": call.slug,
        "title": call.title,
        "description": call.description,
        "department_id": str(call.department_id) if call.department_id else "",
        "monitor_id": "" if call.monitor_id is None else str(call.monitor_id),
        "starts_at": local_field(call.starts_at),
        "ends_at": local_field(call.ends_at),
        "incident_at": local_field(call.incident_at),
        "lat": "" if call.lat is None else str(call.lat),
        "lon": "" if call.lon is None else str(call.lon),
        "closed": call.closed,
    }
    form["questions"] = [
        {"key": q.key, "label": q.label, "kind": q.kind, "required": q.required,
         "choices": ", ".join(q.choices), "help": q.help}
        for q in call.questions
    ]  # fmt: skip
    return form


def _typed(form: Posted) -> dict[str, Any]:
    typed: dict[str, Any] = {**form.values(), "closed": form.flag("closed")}
    typed["questions"] = [
        {
            "key": form.get(f"q-{i}-key"),
            "label": form.get(f"q-{i}-label"),
            "kind": form.get(f"q-{i}-kind") or "text",
            "required": form.flag(f"q-{i}-required"),
            "choices": form.get(f"q-{i}-choices"),
            "help": form.get(f"q-{i}-help"),
        }
        for i in range(MAX_QUESTIONS + BLANK_QUESTIONS)
        if form.get(f"q-{i}-key").strip() or form.get(f"q-{i}-label").strip()
    ]
    return typed


def _call_of(typed: dict[str, Any], call_id: int | None) -> Call:
    department = str(typed.get("department_id", ""))
    monitor = str(typed.get("monitor_id", ""))
    starts = parse_local(str(typed.get("starts_at", "")), "start")
    return Call(
        id=call_id,
        slug=str(typed.get("slug", "")).strip(),
        title=str(typed.get("title", "")).strip(),
        description=str(typed.get("description", "")).strip(),
        department_id=int(department) if department.isdigit() and len(department) < 19 else 0,
        monitor_id=int(monitor) if monitor.isdigit() and len(monitor) < 19 else None,
        questions=tuple(
            CallQuestion(
                key=q["key"].strip(),
                label=q["label"].strip(),
                kind=q["kind"],
                required=q["required"],
                choices=words(q["choices"]),
                help=q["help"].strip(),
            )
            for q in typed["questions"]
        ),
        starts_at=starts or utcnow(),
        ends_at=parse_local(str(typed.get("ends_at", "")), "end"),
        incident_at=parse_local(str(typed.get("incident_at", "")), "incident time"),
        lat=parse_number(str(typed.get("lat", "")), "latitude"),
        lon=parse_number(str(typed.get("lon", "")), "longitude"),
        closed=bool(typed.get("closed")),
    )


def _form_page(
    request: Request,
    actor: Actor,
    form: dict[str, Any],
    call_id: int | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    monitors = [m for m, _n in request.app.state.reads.monitors(actor)]
    rows = list(form.get("questions", []))
    rows += [{"key": "", "label": "", "kind": "text", "required": False, "choices": "",
              "help": ""}] * BLANK_QUESTIONS  # fmt: skip
    context = {
        "nav": "calls",
        "form": form,
        "questions": rows[: MAX_QUESTIONS + BLANK_QUESTIONS],
        "call_id": call_id,
        "departments": case_admin(request).my_departments(actor),
        "monitors": monitors,
        "kinds": QUESTION_KINDS,
        "error": error,
    }
    return render(request, "inbox_admin/call_form.html", context, status=status)


@router.get("/calls/new", response_class=HTMLResponse)
def new_call(request: Request, actor: Staff) -> HTMLResponse:
    mine = case_admin(request).my_departments(actor)
    blank = Call(slug="", title="", department_id=mine[0].id or 0 if mine else 0,
                 starts_at=utcnow())  # fmt: skip
    return _form_page(request, actor, _as_form(blank), None)


def _call(request: Request, actor: Actor, call_id: int) -> Call:
    try:
        return case_admin(request).call(actor, call_id)
    except NotFound as error:
        raise not_found(error) from error


async def _save(request: Request, actor: Actor, call_id: int | None) -> Response:
    form = await posted(request)
    if call_id is not None:
        _call(request, actor, call_id)
    typed = _typed(form)
    try:
        saved = case_admin(request).save_call(actor, _call_of(typed, call_id))
    except NotFound as error:
        return _form_page(request, actor, typed, call_id, error=reason(request, error), status=422)
    except REFUSED as error:
        return _form_page(request, actor, typed, call_id, error=reason(request, error), status=422)
    return RedirectResponse(f"/calls/{saved.id}", status_code=303)


@router.post("/calls/new")
async def create_call(request: Request, actor: Staff) -> Response:
    return await _save(request, actor, None)


@router.get("/calls/{call_id}/edit", response_class=HTMLResponse)
def edit_call(request: Request, actor: Staff, call_id: int) -> HTMLResponse:
    return _form_page(request, actor, _as_form(_call(request, actor, call_id)), call_id)


@router.post("/calls/{call_id}/edit")
async def update_call(request: Request, actor: Staff, call_id: int) -> Response:
    return await _save(request, actor, call_id)


def _tips(request: Request, actor: Actor, call_id: int) -> list[Any] | None:
    """The call's cases, newest first; None while the case service cannot list them."""
    try:
        cases: list[Any] = request.app.state.cases.list_cases(actor, call_id=call_id, limit=100)
    except NotImplementedError:
        return None
    return cases


def _posts(request: Request, actor: Actor, call: Call) -> list[Any] | None:
    """The posts its monitor matched (an audited read of post texts, as the monitor page's)."""
    if call.monitor_id is None or not allows(actor, "posts"):
        return None
    try:
        _total, posts = request.app.state.reads.post_records(
            actor, monitor_id=call.monitor_id, limit=FEED_POSTS
        )
    except (NotFound, Forbidden):
        return None
    found: list[Any] = posts
    return found


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, actor: Staff, call_id: int) -> HTMLResponse:
    call = _call(request, actor, call_id)
    link = public_link(request.app.state.settings, call)
    admin = case_admin(request)
    monitor = None
    if call.monitor_id is not None:
        monitor = next(
            (m for m, _n in request.app.state.reads.monitors(actor) if m.id == call.monitor_id),
            None,
        )
    context = {
        "nav": "calls",
        "call": call,
        "state": _state(call),
        "link": link,
        "qr": totp.qr_svg(link),
        "department": admin.department(actor, call.department_id),
        "monitor": monitor,
        "starts": local_time(call.starts_at, request),
        "ends": local_time(call.ends_at, request),
        "incident": local_time(call.incident_at, request),
        "tips": _tips(request, actor, call_id),
        "posts": _posts(request, actor, call),
        "when": lambda moment: local_time(moment, request),
    }
    return render(request, "inbox_admin/call.html", context)
