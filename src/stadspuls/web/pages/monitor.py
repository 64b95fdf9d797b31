"""A monitor's page (`/monitors/{id}`): volume against the seasonal expectation, sentiment,
facets and stories over a chosen time range, and for analysts the live feed of its posts
(`/monitors/{id}/feed`, reloaded by htmx). A viewer gets the same page without the feed, and
never a post's text."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from stadspuls.access.roles import allows
from stadspuls.records import Actor
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.service.views import Series
from stadspuls.web.pages.catalogue import INCIDENT_LABELS
from stadspuls.web.pages.guard import PageNotFound, page, reads
from stadspuls.web.pages.ranges import RANGES, RangeError, time_range
from stadspuls.web.templating import render

router = APIRouter(include_in_schema=False)
FEED_SIZE = 20
FEED_REFRESH_S = 15


def chart_data(series: Series) -> dict[str, Any]:
    """Columns for uPlot: x in epoch seconds, None where nothing is known or it is withheld."""
    points = series.points
    return {
        "bucket": series.bucket_seconds,
        "x": [int(p.start.timestamp()) for p in points],
        "posts": [p.posts for p in points],
        "low": [p.low for p in points],
        "high": [p.high for p in points],
        "expected": [p.expected for p in points],
        "negative": [p.negative for p in points],
        "neutral": [p.neutral for p in points],
        "positive": [p.positive for p in points],
    }


def _feed(
    service: ReadService, actor: Actor, monitor_id: int, place: str | None, offset: int
) -> Any:
    return service.posts(
        actor, monitor_id=monitor_id, place=place or None, limit=FEED_SIZE, offset=offset
    )


@router.get("/monitors/{monitor_id}", response_class=HTMLResponse)
def monitor_page(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("aggregates"))],
    service: Annotated[ReadService, Depends(reads)],
    range_key: Annotated[str | None, Query(alias="range")] = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="until")] = None,
    place: Annotated[str | None, Query(pattern=r"^GM\d{4}$")] = None,
) -> HTMLResponse:
    range_error = False
    try:
        chosen = time_range(range_key, start, end)
    except RangeError:
        chosen, range_error = time_range(None, None, None), True
    try:
        view = service.monitor_view(actor, monitor_id, since=chosen.since, until=chosen.until)
    except NotFound as error:
        raise PageNotFound(str(error)) from error
    analyst = allows(actor, "posts")
    place_label = next((c.label for c in view.facets.places if c.value == place), place)
    context = {
        "incident_labels": INCIDENT_LABELS,
        "nav": "overview",
        "view": view,
        "chosen": chosen,
        "ranges": list(RANGES),
        "range_error": range_error,
        "chart": json.dumps(chart_data(view.series)),
        "place": place,
        "place_label": place_label,
        "feed": _feed(service, actor, monitor_id, place, 0) if analyst else None,
        "feed_refresh_s": FEED_REFRESH_S,
    }
    return render(request, "pages/monitor.html", context)


@router.get("/monitors/{monitor_id}/feed", response_class=HTMLResponse)
def monitor_feed(
    request: Request,
    monitor_id: int,
    actor: Annotated[Actor, Depends(page("posts"))],
    service: Annotated[ReadService, Depends(reads)],
    place: Annotated[str | None, Query(pattern=r"^GM\d{4}$")] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    try:
        feed = _feed(service, actor, monitor_id, place, offset)
    except NotFound as error:
        raise PageNotFound(str(error)) from error
    context = {
        "incident_labels": INCIDENT_LABELS,
        "feed": feed,
        "monitor_id": monitor_id,
        "place": place,
        "feed_refresh_s": FEED_REFRESH_S,
    }
    return render(request, "pages/_feed.html", context)
