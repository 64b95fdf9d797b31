"""The staff's publishing pages: `/publicaties` (a tab per state: drafts, awaiting approval,
scheduled, published; the crisis-mode banner, and declaring or ending it for whoever holds
"approve") and a publication's page `/publicaties/{id}` (state, who did what when, the actions,
the deliveries per channel, the history, and the response it drew beside its monitor).

Actions are plain forms with the session's CSRF token; a done action answers 303 back to the
page with a line that says so, a refused one renders the page again with the reason and the
status the API would answer (403, 409 for a state that does not allow it, 422 for bad input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from stadspuls.access.roles import Forbidden, allows
from stadspuls.publish.service import PublishError, PublishService, PublishStateError
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.web.auth import identify
from stadspuls.web.pages.guard import page
from stadspuls.web.routes.pages import form_csrf_ok, form_fields
from stadspuls.web.routes.publish_views import (
    CANCELLABLE,
    EDITABLE,
    STATE_LABELS,
    TAB_LABELS,
    TABS,
    any_response,
    chart_of,
    history,
    publish_of,
    target_label,
)
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
Author = Annotated[Actor, Depends(page("publish"))]
Approver = Annotated[Actor, Depends(page("approve"))]

EXPIRED = "This form had expired (or came from another page). Nothing was changed: try again."
NOT_ALLOWED = "Your account may not do that."
DONE = {
    "saved": "The draft was saved.",
    "submitted": "It was submitted: a second person with the right to approve can now approve it.",
    "approved": "It was approved: it goes out at its time.",
    "published": "It was approved and published: each channel is being sent it.",
    "rejected": "It was sent back to its author with your reason.",
    "cancelled": "It was cancelled: it will not go out.",
    "crisis": "Crisis mode is on: authors may approve their own publications (logged).",
    "crisis_ended": "Crisis mode has ended: the four-eyes rule applies again.",
}


@router.get("/publicaties")
def publication_list(
    request: Request,
    actor: Author,
    tab: Annotated[str, Query(pattern="^(" + "|".join(TABS) + ")$")] = "draft",
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _list(request, actor, tab, done=DONE.get(done or ""))


def _list(
    request: Request,
    actor: Actor,
    tab: str,
    *,
    done: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    service = publish_of(request)
    counts = {}
    shown = []
    for key, states in TABS.items():
        found = [p for state in states for p in service.recent(actor, state=state)]
        counts[key] = len(found)
        if key == tab:
            shown = sorted(found, key=lambda p: p.id or 0, reverse=True)
    # On the published tab: which channels have not (yet) gone, so a failure is seen here.
    sending: dict[int, dict[str, int]] = {}
    if tab == "published":
        for p in shown:
            if p.id is not None:
                went = [d.state for d in service.deliveries(actor, p.id)]
                sending[p.id] = {s: went.count(s) for s in ("pending", "failed")}
    return render(
        request,
        "publish/list.html",
        {
            "nav": "publish",
            "tab": tab,
            "tabs": TAB_LABELS,
            "counts": counts,
            "rows": shown,
            "sending": sending,
            "states": STATE_LABELS,
            "target_label": target_label,
            "crisis": service.crisis(),
            "can_approve": allows(actor, "approve"),
            "crisis_max_hours": request.app.state.settings.publish.crisis_max_hours,
            "done": done,
            "error": error,
        },
        status=status,
    )


@router.get("/publicaties/{publication_id}")
def publication_page(
    request: Request,
    publication_id: int,
    actor: Author,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return detail(request, actor, publication_id, done=DONE.get(done or ""))


def detail(
    request: Request,
    actor: Actor,
    publication_id: int,
    *,
    done: str | None = None,
    error: str | None = None,
    error_detail: str | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    service = publish_of(request)
    try:
        publication = service.get(actor, publication_id)
    except (NotFound, Forbidden):
        return render(request, "publish/not_found.html", {"nav": "publish"}, status=404)
    crisis = service.crisis()
    own = publication.created_by == actor.username
    counts = service.responses(actor, publication_id) if publication.state == "published" else []
    return render(
        request,
        "publish/detail.html",
        {
            "nav": "publish",
            "p": publication,
            "states": STATE_LABELS,
            "target_label": target_label,
            "deliveries": service.deliveries(actor, publication_id),
            "history": history(service.events(actor, publication_id)),
            "previews": service.preview(publication) if publication.targets else [],
            "counts": counts,
            # One hour, or no response at all, makes no line worth drawing: the words say it.
            "chart": chart_of(counts) if len(counts) > 1 and any_response(counts) else None,
            "crisis": crisis,
            "own": own,
            "can_approve": allows(actor, "approve"),
            # The four-eyes rule: the author's own approval only in crisis mode.
            "may_approve": allows(actor, "approve") and (not own or crisis is not None),
            "editable": publication.state in EDITABLE,
            "cancellable": publication.state in CANCELLABLE,
            "done": done,
            "error": error,
            "error_detail": error_detail,
            "reason": reason,
            "response_hours": request.app.state.settings.publish.response_hours,
        },
        status=status,
    )


async def _act(
    request: Request,
    actor: Actor,
    publication_id: int,
    change: Callable[[PublishService, dict[str, str]], str],
) -> Response:
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    reason = form.get("reason", "")
    if not form_csrf_ok(identity, form.get("csrf")):
        return detail(request, actor, publication_id, error=EXPIRED, reason=reason, status=403)
    try:
        done = change(publish_of(request), form)
    except NotFound:
        return detail(request, actor, publication_id, status=404)
    except Forbidden as refused:
        return detail(
            request, actor, publication_id, error=NOT_ALLOWED, error_detail=str(refused), status=403
        )
    except PublishStateError as refused:
        return detail(request, actor, publication_id, error=str(refused), reason=reason, status=409)
    except PublishError as refused:
        return detail(request, actor, publication_id, error=str(refused), reason=reason, status=422)
    return RedirectResponse(f"/publicaties/{publication_id}?done={done}", status_code=303)


@router.post("/publicaties/{publication_id}/indienen")
async def submit(request: Request, publication_id: int, actor: Author) -> Response:
    def change(service: PublishService, form: dict[str, str]) -> str:
        service.submit(actor, publication_id)
        return "submitted"

    return await _act(request, actor, publication_id, change)


@router.post("/publicaties/{publication_id}/goedkeuren")
async def approve(request: Request, publication_id: int, actor: Approver) -> Response:
    def change(service: PublishService, form: dict[str, str]) -> str:
        done = service.approve(actor, publication_id)
        return "published" if done.state == "published" else "approved"

    return await _act(request, actor, publication_id, change)


@router.post("/publicaties/{publication_id}/afkeuren")
async def reject(request: Request, publication_id: int, actor: Approver) -> Response:
    def change(service: PublishService, form: dict[str, str]) -> str:
        reason = form.get("reason", "").strip()
        if not reason:
            raise PublishError("Say why, so that the author can mend it.", field="reason")
        service.reject(actor, publication_id, reason[:2000])
        return "rejected"

    return await _act(request, actor, publication_id, change)


@router.post("/publicaties/{publication_id}/annuleren")
async def cancel(request: Request, publication_id: int, actor: Author) -> Response:
    def change(service: PublishService, form: dict[str, str]) -> str:
        service.cancel(actor, publication_id)
        return "cancelled"

    return await _act(request, actor, publication_id, change)


@router.post("/publicaties/crisis")
async def declare_crisis(request: Request, actor: Approver) -> Response:
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    if not form_csrf_ok(identity, form.get("csrf")):
        return _list(request, actor, "pending", error=EXPIRED, status=403)
    reason = form.get("reason", "").strip()
    try:
        hours = float(form.get("hours", "").replace(",", "."))
    except ValueError:
        hours = 0.0
    try:
        if not reason:
            raise PublishError("Say why crisis mode is needed.", field="reason")
        publish_of(request).declare_crisis(actor, reason[:500], hours)
    except (PublishError, PublishStateError, ValueError) as refused:
        return _list(request, actor, "pending", error=str(refused), status=422)
    return RedirectResponse("/publicaties?tab=pending&done=crisis", status_code=303)


@router.post("/publicaties/crisis/einde")
async def end_crisis(request: Request, actor: Approver) -> Response:
    identity = identify(request)
    assert identity is not None
    form = await form_fields(request)
    if not form_csrf_ok(identity, form.get("csrf")):
        return _list(request, actor, "pending", error=EXPIRED, status=403)
    publish_of(request).end_crisis(actor)
    return RedirectResponse("/publicaties?tab=pending&done=crisis_ended", status_code=303)
