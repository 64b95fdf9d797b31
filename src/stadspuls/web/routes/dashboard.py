"""The dashboard's JSON: the overview, a monitor's view and the map (permission "aggregates",
so a viewer gets them too, above the privacy floor). Include with prefix "/api"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.web.auth import require
from stadspuls.web.dashboard_schemas import MapViewOut, MonitorViewOut, OverviewOut
from stadspuls.web.params import INT64_MAX, MonitorId, Since, Until

router = APIRouter(tags=["dashboard"])

DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=366)
_encode = msgspec.json.Encoder().encode

Aggregates = Annotated[Actor, Depends(require("aggregates"))]


def _reads(request: Request) -> ReadService:
    reads: ReadService = request.app.state.reads
    return reads


def _json(view: Any) -> Response:
    return Response(_encode(view), media_type="application/json")


def _range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    if since is None:
        try:
            since = until - DEFAULT_RANGE
        except OverflowError:  # until within a day of year 1: no range ends there
            raise HTTPException(422, "until is before any time a post can have") from None
    if until <= since:
        raise HTTPException(422, "until must be after since")
    if until - since > MAX_RANGE:
        raise HTTPException(422, f"a range may span at most {MAX_RANGE.days} days")
    return since, until


@router.get("/overview", response_model=OverviewOut)
def overview(request: Request, actor: Aggregates) -> Response:
    """Every active monitor's last 24 hours (hourly, with the expected band), the one that
    needs attention first."""
    return _json(_reads(request).overview(actor))


@router.get("/monitors/{monitor_id}/view", response_model=MonitorViewOut)
def monitor_view(
    request: Request, actor: Aggregates, monitor_id: MonitorId, since: Since = None,
    until: Until = None,
) -> Response:  # fmt: skip
    """A monitor's series (hourly up to 7 days, daily beyond), facets, top terms and stories
    for [since, until) (default: the last 24 hours)."""
    start, end = _range(since, until)
    try:
        return _json(_reads(request).monitor_view(actor, monitor_id, since=start, until=end))
    except NotFound as error:
        raise HTTPException(404, str(error)) from error


@router.get("/map", response_model=MapViewOut)
def map_view(
    request: Request,
    actor: Aggregates,
    monitor: Annotated[
        int | None,
        Query(ge=1, le=INT64_MAX, description="A monitor's id (default: every monitor)"),
    ] = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Posts and negative share per municipality for [since, until) (default: the last 24
    hours)."""
    start, end = _range(since, until)
    try:
        return _json(_reads(request).map_view(actor, monitor_id=monitor, since=start, until=end))
    except NotFound as error:
        raise HTTPException(404, str(error)) from error
