"""Call-outs to volunteers over JSON: create, list, read, the selected volunteers, the log (with
`after` for live updates), extend and close. All need the permission "callouts"; a call-out's
input that cannot be right (a point outside the Netherlands, an unknown postcode, a radius out
of bounds) is 422, and so is extending or closing a call-out that is no longer open.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from stadspuls.records import Actor
from stadspuls.settings import Settings
from stadspuls.volunteers.callouts import CallOutService
from stadspuls.volunteers.records import CALLOUT_STATES, CallOut
from stadspuls.volunteers.registry import VolunteerService
from stadspuls.web.auth import require
from stadspuls.web.callouts_schemas import (
    CallOutEventOut,
    CallOutIn,
    CallOutOut,
    CloseIn,
    ExtendIn,
    ExtendOut,
    TargetOut,
)
from stadspuls.web.cases_schemas import INT64_MAX

router = APIRouter(tags=["callouts"])
Staff = Annotated[Actor, Depends(require("callouts"))]
CallOutId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The call-out's id")]
StateName = Annotated[
    str | None, Query(pattern="^(" + "|".join(CALLOUT_STATES) + ")$", description="Only these")
]


def _service(request: Request) -> CallOutService:
    service: CallOutService = request.app.state.callouts
    return service


def _point(request: Request, body: CallOutIn) -> tuple[float, float, str]:
    """The call-out's point: given, or a postcode or place resolved offline (exactly one)."""
    volunteers: VolunteerService = request.app.state.volunteers
    found = volunteers.locate(lat=body.lat, lon=body.lon, postcode=body.postcode, place=body.place)
    return found.lat, found.lon, "" if body.lat is not None else found.label


@router.post("/callouts", response_model=CallOutOut, status_code=201)
def create_callout(request: Request, actor: Staff, body: CallOutIn) -> CallOutOut:
    """Create a call-out: the nearest available volunteers are selected and notified."""
    service = _service(request)
    settings: Settings = request.app.state.settings
    lat, lon, label = _point(request, body)
    expires_at = body.expires_at or service.clock() + timedelta(
        minutes=settings.volunteers.default_expiry_minutes
    )
    callout = CallOut(
        title=body.title,
        message=body.message,
        lat=lat,
        lon=lon,
        place_label=label,
        radius_km=body.radius_km,
        skills=tuple(body.skills),
        wanted=settings.volunteers.default_wanted if body.wanted is None else body.wanted,
        expires_at=expires_at,
        alert_id=body.alert_id,
    )
    return CallOutOut.of(service.create(actor, callout))


@router.get("/callouts", response_model=list[CallOutOut])
def list_callouts(
    request: Request,
    actor: Staff,
    state: StateName = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CallOutOut]:
    """Call-outs, newest first."""
    return [CallOutOut.of(c) for c in _service(request).recent(actor, state=state, limit=limit)]


@router.get("/callouts/{callout_id}", response_model=CallOutOut)
def get_callout(request: Request, actor: Staff, callout_id: CallOutId) -> CallOutOut:
    return CallOutOut.of(_service(request).get(actor, callout_id))


@router.get("/callouts/{callout_id}/targets", response_model=list[TargetOut])
def callout_targets(request: Request, actor: Staff, callout_id: CallOutId) -> list[TargetOut]:
    """The selected volunteers, nearest first: distance, skills, why, reached, answer; a name
    only once they accepted."""
    return [TargetOut.of(t) for t in _service(request).targets(actor, callout_id)]


@router.get("/callouts/{callout_id}/events", response_model=list[CallOutEventOut])
def callout_events(
    request: Request,
    actor: Staff,
    callout_id: CallOutId,
    after: Annotated[int, Query(ge=0, le=INT64_MAX, description="Only events after this id")] = 0,
) -> list[CallOutEventOut]:
    """The call-out's log, oldest first."""
    found = _service(request).events(actor, callout_id, after_id=after)
    return [CallOutEventOut.of(e) for e in found]


@router.post("/callouts/{callout_id}/extend", response_model=ExtendOut)
def extend_callout(
    request: Request, actor: Staff, callout_id: CallOutId, body: ExtendIn
) -> ExtendOut:
    """Select up to `more` further volunteers, the next nearest."""
    return ExtendOut(added=_service(request).extend(actor, callout_id, body.more))


@router.post("/callouts/{callout_id}/close", response_model=CallOutOut)
def close_callout(
    request: Request, actor: Staff, callout_id: CallOutId, body: CloseIn
) -> CallOutOut:
    return CallOutOut.of(_service(request).close(actor, callout_id, body.note))
