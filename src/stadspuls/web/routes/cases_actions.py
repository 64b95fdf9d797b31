"""What the staff do to a case, as plain HTML forms (no JavaScript needed): each posts its
hidden `csrf` field, and a change answers 303 back to the case's page with a line that says
what was done. A refused change renders the page again with a clear message and the status the
API would answer (403 without the form's token, 409 for a state that does not allow it, 422 for
input the service refuses), keeping what was typed.

Showing the contact details is a POST too: opening them is recorded in the case's history and
the audit log, which a GET that a browser may prefetch must never do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access.roles import Forbidden
from stadspuls.cases.records import CASE_STATES
from stadspuls.cases.service import CaseService, CaseStateError
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.web.auth import identify
from stadspuls.web.pages.guard import page
from stadspuls.web.routes.cases_pages import detail, services
from stadspuls.web.routes.pages import form_csrf_ok, form_fields

router = APIRouter(include_in_schema=False)
Staff = Annotated[Actor, Depends(page("cases"))]

# Longest note or reply a form takes; the service has its own limits per channel.
MAX_TEXT = 20_000

EXPIRED = "This form had expired (or came from another page). Nothing was changed: try again."
STATE_CONFLICT = "That is not possible in the case's present state; the page shows it as it is now."
REFUSED = "That was not accepted; nothing was changed."
NOT_ALLOWED = "Your account may not do that for this case."
EMPTY_NOTE = "A note needs text."
EMPTY_REPLY = "Write the reply first."
TOO_LONG = "That text is too long."
NO_DEPARTMENT = "Choose the department to send the case to."
NO_STATE = "Choose a state."
NO_ASSIGNEE = "Choose who takes the case."


class Refused(ValueError):
    """Input the form checks itself, before the service sees it (answered 422)."""


async def _act(
    request: Request,
    actor: Actor,
    case_id: int,
    change: Callable[[CaseService, dict[str, str]], str],
    *,
    keep_reply: bool = False,
) -> Response:
    """Check the form's token, make the change, and go back to the case's page."""
    identity = identify(request)
    assert identity is not None  # `page("cases")` let only a signed-in reader through
    form = await form_fields(request)
    typed = _reply_of(form) if keep_reply else None
    if not form_csrf_ok(identity, form.get("csrf")):
        return detail(request, actor, case_id, error=EXPIRED, reply=typed, status=403)
    cases, _admin = services(request)
    try:
        done = change(cases, form)
    except NotFound:
        return detail(request, actor, case_id, status=404)
    except Forbidden as error:
        return _again(request, actor, case_id, NOT_ALLOWED, str(error), typed, 403)
    except CaseStateError as error:
        return _again(request, actor, case_id, STATE_CONFLICT, str(error), typed, 409)
    except Refused as error:
        return _again(request, actor, case_id, str(error), None, typed, 422)
    except ValueError as error:
        return _again(request, actor, case_id, REFUSED, str(error), typed, 422)
    return RedirectResponse(f"/cases/{case_id}?done={done}#done", status_code=303)


def _again(
    request: Request,
    actor: Actor,
    case_id: int,
    message: str,
    why: str | None,
    typed: dict[str, str] | None,
    status: int,
) -> Response:
    return detail(
        request, actor, case_id, error=message, error_detail=why, reply=typed, status=status
    )


def _reply_of(form: dict[str, str]) -> dict[str, str]:
    return {key: form.get(key, "") for key in ("template", "subject", "body", "state_after")}


def _text(form: dict[str, str], key: str, empty: str) -> str:
    text = form.get(key, "").strip()
    if not text:
        raise Refused(empty)
    if len(text) > MAX_TEXT:
        raise Refused(TOO_LONG)
    return text


def _number(form: dict[str, str], key: str, missing: str) -> int:
    value = form.get(key, "").strip()
    if not value.isdigit():
        raise Refused(missing)
    return int(value)


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: int, actor: Staff) -> Response:
    """`assignee`: "me", a member's user id, or "" to unassign."""

    def change(cases: CaseService, form: dict[str, str]) -> str:
        chosen = form.get("assignee", "").strip()
        if chosen == "":
            cases.assign(actor, case_id, None)
            return "unassign"
        assignee = actor.user_id if chosen == "me" else _number(form, "assignee", NO_ASSIGNEE)
        cases.assign(actor, case_id, assignee)
        return "assign"

    return await _act(request, actor, case_id, change)


@router.post("/cases/{case_id}/reroute")
async def reroute(request: Request, case_id: int, actor: Staff) -> Response:
    def change(cases: CaseService, form: dict[str, str]) -> str:
        department = _number(form, "department_id", NO_DEPARTMENT)
        note = form.get("note", "").strip()
        if len(note) > MAX_TEXT:
            raise Refused(TOO_LONG)
        cases.reroute(actor, case_id, department, note)
        return "reroute"

    return await _act(request, actor, case_id, change)


@router.post("/cases/{case_id}/state")
async def set_state(request: Request, case_id: int, actor: Staff) -> Response:
    def change(cases: CaseService, form: dict[str, str]) -> str:
        state = form.get("state", "")
        if state not in CASE_STATES:
            raise Refused(NO_STATE)
        cases.set_state(actor, case_id, state)
        return "state"

    return await _act(request, actor, case_id, change)


@router.post("/cases/{case_id}/note")
async def add_note(request: Request, case_id: int, actor: Staff) -> Response:
    def change(cases: CaseService, form: dict[str, str]) -> str:
        cases.note(actor, case_id, _text(form, "text", EMPTY_NOTE))
        return "note"

    return await _act(request, actor, case_id, change)


@router.post("/cases/{case_id}/reply")
async def reply(request: Request, case_id: int, actor: Staff) -> Response:
    def change(cases: CaseService, form: dict[str, str]) -> str:
        body = _text(form, "body", EMPTY_REPLY)
        state_after = form.get("state_after", "answered")
        if state_after not in ("answered", "waiting"):
            raise Refused(NO_STATE)
        subject = form.get("subject", "").strip()[:500]
        cases.reply(
            actor,
            case_id,
            body=body,
            subject=subject,
            template=form.get("template") or None,
            state_after=state_after,
        )
        return "reply"

    return await _act(request, actor, case_id, change, keep_reply=True)


@router.post("/cases/{case_id}/contact")
async def show_contact(request: Request, case_id: int, actor: Staff) -> Response:
    """The contact details, on this answer only (nothing cached, nothing in a redirect)."""
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    if not form_csrf_ok(identity, form.get("csrf")):
        return detail(request, actor, case_id, error=EXPIRED, status=403)
    cases, _admin = services(request)
    try:
        contact = cases.contact(actor, case_id)
    except NotFound:
        return detail(request, actor, case_id, status=404)
    except Forbidden as error:
        return _again(request, actor, case_id, NOT_ALLOWED, str(error), None, 403)
    response = detail(request, actor, case_id, contact=contact)
    response.headers["Cache-Control"] = "no-store"
    return response
