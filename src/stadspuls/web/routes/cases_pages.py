"""The staff inbox: `/cases` (a tab per state with counts, filters for department, "mine" and
overdue) and a case's page `/cases/{id}` (conversation, details, photos with verification aids,
history, and the actions: assign, reroute, state, note, reply from a template, contact).

Pages read through the case service (`app.state.cases`) and the inbox admin
(`app.state.case_admin`) only: they decide who may see which department's cases. Changes post
plain forms with the session's CSRF token (`cases_actions.py`), so all of it works without
JavaScript; `static/cases/cases.js` only adds a character count and fills the draft as soon as a
template is picked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from stadspuls.access.roles import Forbidden
from stadspuls.cases.admin import CaseAdmin
from stadspuls.cases.records import CASE_STATES, Case, Contact, Department, ReplyTemplate
from stadspuls.cases.service import CaseService
from stadspuls.cases.views import CaseView
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.store import users
from stadspuls.web.pages.guard import page
from stadspuls.web.routes.case_findings import with_findings
from stadspuls.web.routes.case_history import people_in, readable
from stadspuls.web.templating import language, render

router = APIRouter(include_in_schema=False)
Staff = Annotated[Actor, Depends(page("cases"))]

# The list's tabs: one per state, and every case past a service level whatever its state.
TABS = (*CASE_STATES, "overdue")
PAGE = 100  # cases per page; "older" pages on by id
# How often an open list looks for new cases: a minute's wait is fine for a question, and a
# burst of tips after an incident is seen well within it.
REFRESH_S = 20

# Where a reply goes, said the way the person sending it needs to know: and how long it may be
# (Mastodon's default instance limit; Bluesky counts 300 graphemes).
REPLY_LIMITS = {"mastodon": 500, "bluesky": 300}

# What a finished action says above the case (the `done` query parameter after the redirect).
DONE = {
    "assign": "The case was assigned.",
    "unassign": "The case is no longer assigned to anyone.",
    "reroute": "The case was sent to the other department.",
    "state": "The state was changed.",
    "note": "The note was added.",
    "reply": "The reply was queued; it goes out over the case's channel.",
}


def services(request: Request) -> tuple[CaseService, CaseAdmin]:
    cases: CaseService = request.app.state.cases
    admin: CaseAdmin = request.app.state.case_admin
    return cases, admin


@router.get("/cases")
def case_list(
    request: Request,
    actor: Staff,
    tab: Annotated[str, Query(pattern="^(" + "|".join(TABS) + ")$")] = "new",
    department: Annotated[int | None, Query(ge=1)] = None,
    mine: bool = False,
    call: Annotated[int | None, Query(ge=1)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    cases, admin = services(request)
    mine_of = admin.my_departments(actor)  # every department, for an admin
    names = department_names(admin, actor, mine_of)
    counts = cases.counts(actor, department_id=department)
    found = cases.list_cases(
        actor,
        states=None if tab == "overdue" else (tab,),
        department_id=department,
        assignee_id=actor.user_id if mine else None,
        call_id=call,
        overdue=tab == "overdue",
        limit=PAGE + 1,
        before_id=before,
    )
    more = len(found) > PAGE
    found = found[:PAGE]
    now = cases.clock()
    rows = [
        {
            "case": case,
            "department": names.get(case.department_id, f"#{case.department_id}"),
            "overdue": cases.overdue(case),
            "due": due_of(case),
        }
        for case in found
    ]
    assignees = usernames(request, (c.assignee_id for c in found))
    return render(
        request,
        "cases/list.html",
        {
            "nav": "cases",
            "tab": tab,
            "tabs": TABS,
            "counts": counts,
            "rows": rows,
            "assignees": assignees,
            "departments": mine_of,
            "department": department,
            "mine": mine,
            "call": next((c for c in admin.calls(actor) if c.id == call), None) if call else None,
            "older": found[-1].id if more and found else None,
            "before": before,
            "refresh_s": REFRESH_S,
            "now": now,
        },
    )


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: int,
    actor: Staff,
    template: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return detail(request, actor, case_id, template=template, done=DONE.get(done or ""))


def detail(
    request: Request,
    actor: Actor,
    case_id: int,
    *,
    template: str | None = None,
    contact: Contact | None = None,
    done: str | None = None,
    error: str | None = None,
    error_detail: str | None = None,
    reply: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The case's page; the actions render it again with their error (and what was typed)."""
    cases, admin = services(request)
    try:
        view = cases.view(actor, case_id)
    except (NotFound, Forbidden):
        # A case of another department is as unknown as one that does not exist.
        return render(request, "cases/not_found.html", {"nav": "cases"}, status=404)
    case = view.case
    templates = usable_templates(admin, actor, case.department_id)
    chosen = reply or {}
    template_error = None
    if reply is None and template:
        usable = {t.name for t, why in templates if why is None}
        if template in usable:
            subject, body = cases.draft_reply(actor, case_id, template)
            chosen = {"template": template, "subject": subject, "body": body}
        else:
            template_error = "This template cannot be used (yet): pick a reviewed one."
    now = cases.clock()
    history = readable(
        view.events,
        departments=department_names(admin, actor, [view.department]),
        people=usernames(request, people_in(view.events)),
        rules={r.id: r.name for r in admin.rules(actor) if r.id is not None},
        calls={view.call.slug: view.call.title} if view.call else {},
    )
    return render(
        request,
        "cases/detail.html",
        {
            "nav": "cases",
            "view": view,
            "case": case,
            "tab": case.state,
            "answers": answers_of(view),
            "templates": templates,
            "reply": chosen,
            "reply_limit": REPLY_LIMITS.get(case.channel),
            "goes_out": goes_out(case),
            "members": member_names(request, admin, actor, case.department_id),
            "departments": [d for d in all_departments(admin, actor) if d.id != case.department_id],
            "states": settable_states(case),
            "contact": contact,
            "done": done,
            "error": error or template_error,
            "error_detail": error_detail,
            "media": with_findings(request.app.state.engine, view, language(request)),
            "due": due_of(case),
            "now": now,
            "history": history,
        },
        status=status,
    )


def settable_states(case: Case) -> list[str]:
    """The states a person may pick ("new" follows from taking the assignee away); the service
    still refuses a move its rules do not allow (409)."""
    if case.state == "closed":
        return []
    unset = {"new", case.state} | ({"assigned"} if case.assignee_id is None else set())
    return [s for s in CASE_STATES if s not in unset]


def due_of(case: Case) -> datetime | None:
    """The next due time that still counts: the first response until there is one, then the
    resolution until the case is closed."""
    if case.state == "closed":
        return None
    if case.first_response_at is None and case.first_response_due is not None:
        return case.first_response_due
    return case.resolution_due


def goes_out(case: Case) -> str:
    """How a reply reaches the citizen (a web report without an address: its status page)."""
    if case.channel == "web":
        return "email" if case.has_contact else "status_page"
    return case.channel


def answers_of(view: CaseView) -> list[tuple[str, str]]:
    """A call's answers under the question's own label, in the call's order."""
    labels = {q.key: q.label for q in view.call.questions} if view.call else {}
    ordered = [key for key in labels if key in view.case.answers]
    ordered += sorted(key for key in view.case.answers if key not in labels)
    return [(labels.get(key, key), view.case.answers[key]) for key in ordered]


def usable_templates(
    admin: CaseAdmin, actor: Actor, department_id: int
) -> list[tuple[ReplyTemplate, str | None]]:
    """The department's templates, each with why it cannot be used (None: it can)."""
    found = admin.templates(actor, department_id=department_id)
    return [(t, None if t.reviewed_by else "not_reviewed") for t in found]


def all_departments(admin: CaseAdmin, actor: Actor) -> list[Department]:
    """Every active department (to reroute to); an analyst may not list them all in some
    set-ups: then their own."""
    try:
        found = admin.departments(actor)
    except Forbidden:
        found = admin.my_departments(actor)
    return [d for d in found if d.active]


def department_names(admin: CaseAdmin, actor: Actor, known: Iterable[Department]) -> dict[int, str]:
    names = {d.id: d.name for d in all_departments(admin, actor) if d.id is not None}
    names.update({d.id: d.name for d in known if d.id is not None})
    return names


def member_names(
    request: Request, admin: CaseAdmin, actor: Actor, department_id: int
) -> list[tuple[int, str]]:
    try:
        ids = admin.members(actor, department_id)
    except Forbidden:
        ids = []
    names = usernames(request, ids)
    return sorted(names.items(), key=lambda item: item[1].lower())


def usernames(request: Request, ids: Iterable[int | None]) -> dict[int, str]:
    engine: sa.Engine = request.app.state.engine
    found: dict[int, str] = {}
    for user_id in set(ids):
        if user_id is None:
            continue
        user = users.get_user(engine, user_id)
        found[user_id] = user.username if user is not None else f"#{user_id}"
    return found
