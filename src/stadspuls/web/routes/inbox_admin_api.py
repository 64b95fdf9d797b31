"""The inbox's settings as JSON: departments and members, routing rules (with a test message),
reply templates (with review) and calls for tips. Admins change departments, members and rules;
analysts of a department its templates and calls (CaseAdmin checks membership)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.checks import AdminError
from stadspuls.cases.records import InboundMessage
from stadspuls.cases.routing import place_codes
from stadspuls.records import Actor, utcnow
from stadspuls.web.auth import require
from stadspuls.web.inbox_admin_schemas import (
    INT64_MAX,
    CallIn,
    CallOut,
    DecisionOut,
    DepartmentIn,
    DepartmentOut,
    MembersIn,
    MoveIn,
    RuleIn,
    RuleOut,
    TemplateIn,
    TemplateOut,
    TestMessageIn,
)

router = APIRouter(prefix="/inbox", tags=["inbox settings"])
Staff = Annotated[Actor, Depends(require("cases"))]
Admin = Annotated[Actor, Depends(require("admin"))]
DepartmentId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The department's id")]
RuleId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The rule's id")]
TemplateId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The template's id")]
CallId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The call's id")]


def case_admin(request: Request) -> CaseAdmin:
    """The app's inbox admin (`web.app.create_app` puts it on `app.state.case_admin`)."""
    admin: CaseAdmin = request.app.state.case_admin
    return admin


def _department_out(admin: CaseAdmin, actor: Actor, department_id: int) -> DepartmentOut:
    department = admin.department(actor, department_id)
    return DepartmentOut.of(department, admin.members(actor, department_id))


# -- departments --------------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(request: Request, actor: Staff) -> list[DepartmentOut]:
    admin = case_admin(request)
    return [DepartmentOut.of(d, admin.members(actor, d.id or 0)) for d in admin.departments(actor)]


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(request: Request, actor: Admin, body: DepartmentIn) -> DepartmentOut:
    admin = case_admin(request)
    saved = admin.save_department(actor, body.to_department())
    return _department_out(admin, actor, saved.id or 0)


@router.put("/departments/{department_id}", response_model=DepartmentOut)
def replace_department(
    request: Request, actor: Admin, department_id: DepartmentId, body: DepartmentIn
) -> DepartmentOut:
    admin = case_admin(request)
    admin.department(actor, department_id)  # 404 before anything is written
    admin.save_department(actor, body.to_department(department_id))
    return _department_out(admin, actor, department_id)


@router.put("/departments/{department_id}/members", response_model=DepartmentOut)
def set_members(
    request: Request, actor: Admin, department_id: DepartmentId, body: MembersIn
) -> DepartmentOut:
    """Who works in the department: they see its cases and its citizens' contact details."""
    admin = case_admin(request)
    admin.set_members(actor, department_id, body.user_ids)
    return _department_out(admin, actor, department_id)


# -- routing rules ------------------------------------------------------------------------------


@router.get("/rules", response_model=list[RuleOut])
def list_rules(request: Request, actor: Staff) -> list[RuleOut]:
    """In the order they are tried; the first active rule that matches wins."""
    return [RuleOut.of(rule) for rule in case_admin(request).rules(actor)]


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(request: Request, actor: Admin, body: RuleIn) -> RuleOut:
    """A query that does not parse is refused with 422 and the column of the mistake."""
    return RuleOut.of(case_admin(request).save_rule(actor, body.to_rule()))


@router.put("/rules/{rule_id}", response_model=RuleOut)
def replace_rule(request: Request, actor: Admin, rule_id: RuleId, body: RuleIn) -> RuleOut:
    return RuleOut.of(case_admin(request).save_rule(actor, body.to_rule(rule_id)))


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(request: Request, actor: Admin, rule_id: RuleId) -> Response:
    case_admin(request).delete_rule(actor, rule_id)
    return Response(status_code=204)


@router.post("/rules/{rule_id}/move", response_model=list[RuleOut])
def move_rule(request: Request, actor: Admin, rule_id: RuleId, body: MoveIn) -> list[RuleOut]:
    """Move a rule earlier or later; answers the new order."""
    return [RuleOut.of(rule) for rule in case_admin(request).move_rule(actor, rule_id, body.steps)]


@router.post("/rules/test", response_model=DecisionOut)
def test_rules(request: Request, actor: Staff, body: TestMessageIn) -> DecisionOut:
    """Which department a message like this would go to, and which rule sends it there."""
    admin = case_admin(request)
    place_code = None
    if body.place:
        codes = place_codes(body.place)
        if not codes:
            raise AdminError("unknown place %(place)r", place=body.place)
        place_code = min(codes)
    message = InboundMessage(
        channel="web",
        external_id="test",
        received_at=utcnow(),
        kind=body.kind,
        subject=body.subject,
        text=body.text,
        language=body.language,
        category=body.category,
    )
    decision = admin.try_route(actor, message, place_code=place_code)
    rules = {rule.id: rule.name for rule in admin.rules(actor)}
    return DecisionOut(
        department_id=decision.department_id,
        department=admin.department(actor, decision.department_id).name,
        rule_id=decision.rule_id,
        rule=rules.get(decision.rule_id),
        explanation=decision.explanation,
    )


# -- reply templates ----------------------------------------------------------------------------


@router.get("/templates", response_model=list[TemplateOut])
def list_templates(request: Request, actor: Staff) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in case_admin(request).templates(actor)]


@router.post("/templates", response_model=TemplateOut, status_code=201)
def create_template(request: Request, actor: Staff, body: TemplateIn) -> TemplateOut:
    """An unknown placeholder is refused with 422; a new template awaits review."""
    return TemplateOut.of(case_admin(request).save_template(actor, body.to_template()))


@router.put("/templates/{template_id}", response_model=TemplateOut)
def replace_template(
    request: Request, actor: Staff, template_id: TemplateId, body: TemplateIn
) -> TemplateOut:
    """A changed text needs a new review."""
    admin = case_admin(request)
    admin.template(actor, template_id)
    return TemplateOut.of(admin.save_template(actor, body.to_template(template_id)))


@router.delete("/templates/{template_id}", status_code=204)
def delete_template(request: Request, actor: Staff, template_id: TemplateId) -> Response:
    case_admin(request).delete_template(actor, template_id)
    return Response(status_code=204)


@router.post("/templates/{template_id}/review", response_model=TemplateOut)
def review_template(request: Request, actor: Staff, template_id: TemplateId) -> TemplateOut:
    """Approve the template's text for use: by someone other than its last editor (422)."""
    return TemplateOut.of(case_admin(request).review_template(actor, template_id))


# -- calls for tips -----------------------------------------------------------------------------


@router.get("/calls", response_model=list[CallOut])
def list_calls(request: Request, actor: Staff) -> list[CallOut]:
    return [CallOut.of(call) for call in case_admin(request).calls(actor)]


@router.post("/calls", response_model=CallOut, status_code=201)
def create_call(request: Request, actor: Staff, body: CallIn) -> CallOut:
    return CallOut.of(case_admin(request).save_call(actor, body.to_call()))


@router.get("/calls/{call_id}", response_model=CallOut)
def get_call(request: Request, actor: Staff, call_id: CallId) -> CallOut:
    return CallOut.of(case_admin(request).call(actor, call_id))


@router.put("/calls/{call_id}", response_model=CallOut)
def replace_call(request: Request, actor: Staff, call_id: CallId, body: CallIn) -> CallOut:
    return CallOut.of(case_admin(request).save_call(actor, body.to_call(call_id)))
