"""The reply templates page (/inbox/settings/templates): edit with placeholder help and a live
preview, and the review by someone other than the last editor ("reviewed by X on date")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stadspuls.access.roles import allows
from stadspuls.cases import hours as office_hours
from stadspuls.cases import replies
from stadspuls.cases.admin import DEFAULT_HOURS
from stadspuls.cases.records import Department, ReplyTemplate
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.web.routes.inbox_admin_forms import (
    REFUSED,
    Staff,
    case_admin,
    not_found,
    posted,
    reason,
)
from stadspuls.web.routes.pages import local_time
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
BASE = "/inbox/settings/templates"


@router.get(BASE, response_class=HTMLResponse)
def templates_page(request: Request, actor: Staff) -> HTMLResponse:
    case_admin(request).ensure_fallback()
    done = request.query_params.get("done")
    context = {"nav": "inbox", "rows": _rows(request, actor), "done": done}
    return render(request, "inbox_admin/templates.html", context)


def _departments(request: Request, actor: Actor) -> list[Department]:
    return case_admin(request).my_departments(actor)


def _form_page(
    request: Request,
    actor: Actor,
    form: dict[str, Any],
    template_id: int | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "nav": "inbox",
        "form": form,
        "template_id": template_id,
        "departments": _departments(request, actor),
        "shared_allowed": allows(actor, "admin"),
        "placeholders": replies.PLACEHOLDERS,
        "optional": replies.OPTIONAL,
        "preview": _preview(request, actor, form),
        "error": error,
    }
    return render(request, "inbox_admin/template_form.html", context, status=status)


def _as_form(template: ReplyTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "language": template.language,
        "subject": template.subject,
        "body": template.body,
        "department_id": "" if template.department_id is None else str(template.department_id),
    }


def _preview(request: Request, actor: Actor, form: dict[str, Any]) -> dict[str, str]:
    """The template filled with example values of the chosen department, or what is wrong."""
    language = form.get("language") or "nl"
    department = next(
        (d for d in _departments(request, actor) if str(d.id) == form.get("department_id")),
        None,
    )
    hours = department.hours if department else DEFAULT_HOURS
    opening = office_hours.next_opening(hours, utcnow() + timedelta(hours=12))
    next_time = "" if opening is None else office_hours.describe_moment(opening, language)
    inbox = request.app.state.settings.inbox
    values = {
        "naam": "Jan Jansen",
        "referentie": "SP-2026-000123",
        "afdeling": department.name if department else "Wijkzaken",
        "openingstijden": office_hours.describe(hours, language),
        "volgende_opening": next_time,
        "statuslink": f"{inbox.public_url or ''}/status/…",
        "noodnummer": inbox.emergency_text_en if language == "en" else inbox.emergency_text_nl,
        "oproep": "Getuigen gezocht: brand Stationsstraat, 12 mei",
    }
    try:
        return {
            "subject": replies.render(str(form.get("subject", "")), values, language=language),
            "body": replies.render(str(form.get("body", "")), values, language=language),
        }
    except replies.TemplateError as error:
        return {"error": reason(request, error)}


@router.post(BASE + "/preview", response_class=HTMLResponse)
async def preview(request: Request, actor: Staff) -> HTMLResponse:
    """The live preview beside the form (htmx swaps it in while typing)."""
    form = await posted(request)
    shown = _preview(request, actor, form.values())
    return render(request, "inbox_admin/_preview.html", {"preview": shown})


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_template(request: Request, actor: Staff) -> HTMLResponse:
    mine = _departments(request, actor)
    blank = {"name": "", "language": "nl", "subject": "", "body": "{aanhef}\n\n",
             "department_id": str(mine[0].id) if mine else ""}  # fmt: skip
    return _form_page(request, actor, blank, None)


def _template(request: Request, actor: Actor, template_id: int) -> ReplyTemplate:
    try:
        return case_admin(request).template(actor, template_id)
    except NotFound as error:
        raise not_found(error) from error


@router.get(BASE + "/{template_id}", response_class=HTMLResponse)
def edit_template(request: Request, actor: Staff, template_id: int) -> HTMLResponse:
    found = _template(request, actor, template_id)
    return _form_page(request, actor, _as_form(found), template_id)


async def _save(request: Request, actor: Actor, template_id: int | None) -> Response:
    form = await posted(request)
    if template_id is not None:
        _template(request, actor, template_id)
    typed = form.values()
    department = form.get("department_id")
    template = ReplyTemplate(
        id=template_id,
        name=form.get("name").strip(),
        language=form.get("language") or "nl",
        subject=form.get("subject").strip(),
        body=form.get("body").replace("\r\n", "\n"),
        department_id=int(department) if department.isdigit() and len(department) < 19 else None,
    )
    try:
        case_admin(request).save_template(actor, template)
    except NotFound as error:
        return _form_page(
            request, actor, typed, template_id, error=reason(request, error), status=422
        )
    except REFUSED as error:
        return _form_page(
            request, actor, typed, template_id, error=reason(request, error), status=422
        )
    return RedirectResponse(BASE + "?done=saved", status_code=303)


@router.post(BASE + "/new")
async def create_template(request: Request, actor: Staff) -> Response:
    return await _save(request, actor, None)


@router.post(BASE + "/{template_id}")
async def update_template(request: Request, actor: Staff, template_id: int) -> Response:
    return await _save(request, actor, template_id)


@router.post(BASE + "/{template_id}/review")
async def review_template(request: Request, actor: Staff, template_id: int) -> Response:
    await posted(request)
    try:
        case_admin(request).review_template(actor, template_id)
    except NotFound as error:
        raise not_found(error) from error
    except REFUSED as error:
        return _list_with_error(request, actor, reason(request, error))
    return RedirectResponse(BASE + "?done=reviewed", status_code=303)


@router.post(BASE + "/{template_id}/delete")
async def delete_template(request: Request, actor: Staff, template_id: int) -> Response:
    await posted(request)
    try:
        case_admin(request).delete_template(actor, template_id)
    except NotFound as error:
        raise not_found(error) from error
    except REFUSED as error:
        return _list_with_error(request, actor, reason(request, error))
    return RedirectResponse(BASE + "?done=deleted", status_code=303)


def _list_with_error(request: Request, actor: Actor, error: str) -> HTMLResponse:
    context = {"nav": "inbox", "rows": _rows(request, actor), "error": error}
    return render(request, "inbox_admin/templates.html", context, status=422)


def _rows(request: Request, actor: Actor) -> list[dict[str, Any]]:
    admin = case_admin(request)
    names = {d.id: d.name for d in admin.departments(actor)}
    return [
        {
            "template": t,
            "department": names.get(t.department_id),
            "reviewed_at": local_time(t.reviewed_at, request),
            "updated_at": local_time(t.updated_at, request),
            "may_review": t.updated_by != actor.username,
        }
        for t in admin.templates(actor)
    ]
