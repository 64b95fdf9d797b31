"""Cases of the inbox over JSON: list, read, assign, change state, reroute, annotate, draft and
send replies, and open the sealed contact (audited). All need the permission "cases"; who sees
which case is the case service's business (a department's cases for its members, all of them
for admins; any other case is 404). A change the case's state does not allow is 409.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from stadspuls.cases.records import Case
from stadspuls.cases.service import CaseInputError, CaseService
from stadspuls.records import Actor
from stadspuls.web.auth import require
from stadspuls.web.cases_schemas import (
    INT64_MAX,
    AssignIn,
    CaseDetail,
    CaseNoteIn,
    CaseOut,
    CasePage,
    ContactOut,
    DraftOut,
    EventOut,
    MessageOut,
    ReplyIn,
    RerouteIn,
    StateIn,
)

router = APIRouter(tags=["cases"])
Staff = Annotated[Actor, Depends(require("cases"))]
CaseId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The case's id")]
OptionalId = Annotated[int | None, Query(ge=1, le=INT64_MAX)]
StateName = Annotated[
    list[Annotated[str, Query(pattern=r"^(new|assigned|waiting|answered|closed)$")]] | None,
    Query(max_length=5, description="Only cases in these states (repeat for several)"),
]


def _cases(request: Request) -> CaseService:
    service: CaseService = request.app.state.cases
    return service


def _out(request: Request, case: Case) -> CaseOut:
    return CaseOut.of(case, _cases(request).overdue(case))


def _refused(error: CaseInputError) -> HTTPException:
    return HTTPException(422, str(error))


@router.get("/cases", response_model=CasePage)
def list_cases(
    request: Request,
    actor: Staff,
    state: StateName = None,
    department_id: OptionalId = None,
    assignee_id: OptionalId = None,
    call_id: OptionalId = None,
    overdue: Annotated[bool, Query(description="Only cases past a service level")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Older than")] = None,
) -> CasePage:
    """The cases you may see, newest first: your departments' (an admin: all)."""
    service = _cases(request)
    found = service.list_cases(
        actor, states=state, department_id=department_id, assignee_id=assignee_id,
        call_id=call_id, overdue=overdue, limit=limit, before_id=before_id,
    )  # fmt: skip
    return CasePage(
        cases=[CaseOut.of(case, service.overdue(case)) for case in found],
        next_before_id=found[-1].id if len(found) == limit else None,
    )


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(request: Request, actor: Staff, case_id: CaseId) -> CaseDetail:
    """The case with its history, conversation and media (no contact details: see /contact)."""
    return CaseDetail.of(_cases(request).view(actor, case_id))


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def assign(request: Request, actor: Staff, case_id: CaseId, body: AssignIn) -> CaseOut:
    """Assign to a member of the case's department (null: nobody). A new case becomes
    assigned; an assigned case without assignee new again; 409 when closed."""
    try:
        return _out(request, _cases(request).assign(actor, case_id, body.assignee_id))
    except CaseInputError as error:
        raise _refused(error) from error


@router.post("/cases/{case_id}/state", response_model=CaseOut)
def set_state(request: Request, actor: Staff, case_id: CaseId, body: StateIn) -> CaseOut:
    """Move the case (docs/inbox.md has the allowed moves); 409 when its state does not allow
    it (a closed case, the same state, "assigned" without an assignee)."""
    try:
        return _out(request, _cases(request).set_state(actor, case_id, body.state))
    except CaseInputError as error:
        raise _refused(error) from error


@router.post("/cases/{case_id}/reroute", response_model=CaseOut)
def reroute(request: Request, actor: Staff, case_id: CaseId, body: RerouteIn) -> CaseOut:
    """Move the case to another department (its assignee is taken away); the history keeps
    where it was and why it moved."""
    try:
        case = _cases(request).reroute(actor, case_id, body.department_id, body.note)
        return _out(request, case)
    except CaseInputError as error:
        raise _refused(error) from error


@router.post("/cases/{case_id}/note", response_model=EventOut, status_code=201)
def add_note(request: Request, actor: Staff, case_id: CaseId, body: CaseNoteIn) -> EventOut:
    """An internal note in the case's history (never shown to the citizen)."""
    try:
        event = _cases(request).note(actor, case_id, body.text)
    except CaseInputError as error:
        raise _refused(error) from error
    return EventOut.model_validate(
        {"id": event.id, "at": event.at, "actor": event.actor, "kind": event.kind,
         "details": event.details}
    )  # fmt: skip


@router.get("/cases/{case_id}/draft", response_model=DraftOut)
def draft(
    request: Request,
    actor: Staff,
    case_id: CaseId,
    template: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00]+$")],
) -> DraftOut:
    """A reviewed reply template filled for this case, to edit and send with /reply; 404 for
    an unknown template, 422 for one not yet reviewed."""
    try:
        subject, body = _cases(request).draft_reply(actor, case_id, template)
    except CaseInputError as error:
        raise _refused(error) from error
    return DraftOut(template=template, subject=subject, body=body)


@router.post("/cases/{case_id}/reply", response_model=MessageOut, status_code=201)
def reply(request: Request, actor: Staff, case_id: CaseId, body: ReplyIn) -> MessageOut:
    """Queue a reply over the case's channel (a web report without e-mail: its status page)
    and move the case to `state_after`; 409 when the case is closed."""
    try:
        message = _cases(request).reply(
            actor, case_id, body=body.body, subject=body.subject, template=body.template,
            state_after=body.state_after,
        )  # fmt: skip
    except CaseInputError as error:
        raise _refused(error) from error
    return MessageOut.of(message)


@router.post("/cases/{case_id}/contact", response_model=ContactOut)
def contact(request: Request, actor: Staff, case_id: CaseId) -> ContactOut:
    """Open the case's sealed contact details: members of its department only (403 for
    others, admins included); recorded in the case's history and the audit log."""
    return ContactOut.of(_cases(request).contact(actor, case_id))
