"""The alerts inbox (`/alerts`) and an alert's page (`/alerts/{id}`), for analysts and up.

The pages are rendered on the server; `static/live/inbox.js` keeps them live: it listens to
`/api/alerts/stream` and fetches a changed alert's row from `/alerts/{id}/row`, so a row looks
the same whether it came with the page or arrived later. Acknowledge, resolve, false alarm and
a note post to `/alerts/{id}/{action}` with the session's CSRF token in the X-CSRF-Token header.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import Response
from pydantic import BaseModel, Field

from stadspuls.records import Actor, Alert
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.store.alerts import MAX_NOTE, AlertStateError
from stadspuls.web.auth import require
from stadspuls.web.pages.guard import page
from stadspuls.web.params import AlertId
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
Analyst = Annotated[Actor, Depends(page("posts"))]

# The inbox's tabs and the alert states each shows.
TABS: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved", "false_alarm"),
}
PAGE = 100  # alerts per tab; older ones stay in the API and the CLI


def _tab_of(alert: Alert) -> str:
    return next(tab for tab, states in TABS.items() if alert.state in states)


@router.get("/alerts")
def inbox(
    request: Request,
    actor: Analyst,
    tab: Annotated[str, Query(pattern="^(open|acknowledged|resolved)$")] = "open",
) -> Response:
    reads: ReadService = request.app.state.reads
    counts = _counts(reads, actor)
    alerts = _tab_alerts(reads, actor, tab)
    names = monitor_names(reads, actor)
    return render(
        request,
        "live/inbox.html",
        {"tab": tab, "tabs": tuple(TABS), "counts": counts, "alerts": alerts, "names": names}
        | _helpers(),
    )


@router.get("/alerts/{alert_id}/row")
def alert_row(request: Request, alert_id: AlertId, actor: Analyst) -> Response:
    """One alert as a row of the inbox (what the live script inserts); its tab in a header."""
    reads: ReadService = request.app.state.reads
    try:
        alert, _events, _deliveries = reads.alert_history(actor, alert_id)
    except NotFound:
        return Response(status_code=404)
    response = render(
        request,
        "live/_alert_row.html",
        {"alert": alert, "names": monitor_names(reads, actor)} | _helpers(),
    )
    response.headers["X-Alert-Tab"] = _tab_of(alert)
    counts = _counts(reads, actor)
    response.headers["X-Alert-Counts"] = ",".join(f"{t}={n}" for t, n in counts.items())
    return response


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: AlertId, actor: Analyst) -> Response:
    """The alert with its evidence: numbers, the monitor's volume around it, representative
    posts (an audited view of post texts) and its history."""
    try:
        view = request.app.state.reads.alert(actor, alert_id)
    except NotFound:
        return render(request, "live/not_found.html", {"alert_id": alert_id}, status=404)
    chart = {
        "x": [int(p.start.timestamp()) for p in view.series.points],
        "posts": [p.posts for p in view.series.points],
        "expected": [p.expected for p in view.series.points],
        "low": [p.low for p in view.series.points],
        "high": [p.high for p in view.series.points],
        "started": int(view.alert.started_at.timestamp()),
    }
    return render(
        request,
        "live/alert.html",
        {
            "view": view,
            "alert": view.alert,
            "chart": chart,
            "tab": _tab_of(view.alert),
            "history": history(view.events),
        }
        | _helpers(),
    )


class Step(NamedTuple):
    """Events of one kind in a row, newest first (a surge updates its alert with every post)."""

    kind: str
    first: datetime
    last: datetime
    actor: str | None
    times: int


def history(events: Sequence[tuple[str, datetime, str | None]]) -> list[Step]:
    """The alert's events, newest first, with consecutive ones of a kind and actor folded."""
    steps: list[Step] = []
    for kind, at, actor in reversed(events):
        if steps and (steps[-1].kind, steps[-1].actor) == (kind, actor):
            steps[-1] = steps[-1]._replace(first=at, times=steps[-1].times + 1)
        else:
            steps.append(Step(kind, at, at, actor, 1))
    return steps


def _counts(reads: ReadService, actor: Actor) -> dict[str, int]:
    return {
        tab: sum(reads.alerts(actor, state=state, limit=1)[0] for state in states)
        for tab, states in TABS.items()
    }


def _tab_alerts(reads: ReadService, actor: Actor, tab: str) -> list[Alert]:
    """The tab's newest alerts; the resolved tab merges resolved ones and false alarms."""
    found = [a for state in TABS[tab] for a in reads.alerts(actor, state=state, limit=PAGE)[1]]
    found.sort(key=lambda a: (a.opened_at, a.id or 0), reverse=True)
    return found[:PAGE]


def monitor_names(reads: ReadService, actor: Actor) -> dict[int, str]:
    return reads.monitor_names(actor)


class ActionIn(BaseModel):
    note: str | None = Field(default=None, max_length=MAX_NOTE)


@router.post("/alerts/{alert_id}/{action}", status_code=204)
def act(
    request: Request,
    alert_id: AlertId,
    action: Annotated[str, FastPath(pattern="^(ack|resolve|false_alarm|note)$")],
    body: ActionIn,
    actor: Annotated[Actor, Depends(require("posts"))],
) -> Response:
    """The operator's action on an alert, as the signed-in user; 409 when its state does not
    allow it (acknowledged already: it says by whom)."""
    reads: ReadService = request.app.state.reads
    note = (body.note or "").strip() or None
    try:
        if action == "ack":
            reads.acknowledge(actor, alert_id, note)
        elif action == "note":
            if note is None:
                raise HTTPException(422, "a note needs text")
            reads.add_note(actor, alert_id, note)
        else:
            reads.resolve(actor, alert_id, note, false_alarm=action == "false_alarm")
    except NotFound as error:
        raise HTTPException(404, str(error)) from error
    except AlertStateError as error:
        raise HTTPException(409, str(error)) from error
    return Response(status_code=204)


def _helpers() -> dict[str, object]:
    return {"severity_icon": SEVERITY_ICONS, "nav": "alerts"}


# Severity is said three ways (colour, shape, word), so no one needs to tell colours apart.
SEVERITY_ICONS = {"high": "▲", "medium": "◆", "low": "●"}
