"""The map (`/map`): the Netherlands by municipality, coloured by a monitor's volume or its share
of negative posts. The shapes ship with the package (`static/map/gemeenten.json`, built by
`scripts/build_map.py` from CBS/PDOK boundaries) and are drawn as an inline SVG on the server:
no tile server, no internet, and every municipality is a link with a title (keyboard and screen
reader). Municipalities whose numbers rest on fewer than MIN_AUTHORS authors are hatched."""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cache
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from stadspuls.access.roles import MIN_AUTHORS, allows
from stadspuls.records import Actor, utcnow
from stadspuls.service.errors import NotFound
from stadspuls.service.reads import ReadService
from stadspuls.service.views import PlaceCount
from stadspuls.web.pages.guard import page
from stadspuls.web.params import INT64_MAX
from stadspuls.web.routes.inbox import monitor_names
from stadspuls.web.templating import STATIC_DIR, render

router = APIRouter(include_in_schema=False)

SHAPES = STATIC_DIR / "map" / "gemeenten.json"
RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
CLASSES = 5
# Shares of negative posts: fixed classes, so that colours mean the same on every map.
NEGATIVE_BREAKS = (0.1, 0.25, 0.4, 0.6, 1.0)


class Shape(msgspec.Struct, frozen=True):
    code: str
    name: str
    d: str


class Shapes(msgspec.Struct, frozen=True):
    viewBox: str  # the SVG attribute's name
    source: str
    licence: str
    municipalities: tuple[Shape, ...]


@cache
def shapes() -> Shapes:
    return msgspec.json.decode(SHAPES.read_bytes(), type=Shapes)


def volume_breaks(values: list[int], classes: int = CLASSES) -> tuple[int, ...]:
    """Upper bounds of up to `classes` classes of post counts, at the quantiles of `values`
    (counts are skewed: a few cities hold most posts, so equal intervals would paint one city
    dark and the country pale)."""
    if not values:
        return ()
    ordered = sorted(values)
    bounds: list[int] = []
    for k in range(1, classes + 1):
        index = min(len(ordered) - 1, math.ceil(k * len(ordered) / classes) - 1)
        bound = ordered[index]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return tuple(bounds)


def class_of(value: float, breaks: tuple[float, ...]) -> int:
    """1 for the first class … len(breaks) for the last (0 is "no posts")."""
    for number, bound in enumerate(breaks, start=1):
        if value <= bound:
            return number
    return len(breaks)


@router.get("/map")
def map_page(
    request: Request,
    actor: Annotated[Actor, Depends(page("aggregates"))],
    monitor: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    range_: Annotated[str, Query(alias="range", pattern="^(1h|24h|7d|30d|90d)$")] = "24h",
    metric: Annotated[str, Query(pattern="^(volume|negative)$")] = "volume",
) -> Response:
    reads: ReadService = request.app.state.reads
    until = utcnow()
    try:
        view = reads.map_view(actor, monitor_id=monitor, since=until - RANGES[range_], until=until)
    except NotFound:
        return render(request, "live/map.html", _empty(monitor, range_, metric), status=404)
    places: dict[str, PlaceCount] = {p.code: p for p in view.places}
    if metric == "negative":
        breaks: tuple[float, ...] = NEGATIVE_BREAKS
        lows: tuple[float, ...] = (0.0, *breaks[:-1])
    else:
        breaks = volume_breaks([p.posts for p in places.values() if p.posts])
        lows = tuple(bound + 1 for bound in (0, *breaks[:-1]))
    # Fewer classes than colours (few municipalities with posts) take the darker end, so that
    # a single burning town stands out instead of getting the palest shade.
    offset = CLASSES - len(breaks)
    legend = list(zip(range(offset + 1, CLASSES + 1), lows, breaks, strict=True))
    drawn = []
    for shape in shapes().municipalities:
        place = places.get(shape.code)
        value = _value(place, metric)
        kind = "none" if place is None else "withheld" if place.posts is None else "counted"
        number = offset + class_of(value, breaks) if value is not None and kind == "counted" else 0
        drawn.append({"shape": shape, "place": place, "kind": kind, "cls": number, "value": value})
    analyst = allows(actor, "posts")
    return render(
        request,
        "live/map.html",
        {
            "monitor": monitor,
            "range": range_,
            "ranges": tuple(RANGES),
            "metric": metric,
            "monitors": monitor_names(reads, actor),
            "view_box": shapes().viewBox,
            "drawn": drawn,
            "legend": legend,
            "table": sorted(
                (p for p in view.places if p.posts is not None),
                key=lambda p: (-(p.posts or 0), p.name),
            ),
            "withheld": view.suppressed or sum(1 for p in view.places if p.posts is None),
            "min_authors": MIN_AUTHORS,
            # Analysts follow a municipality to the monitor's feed; viewers to its numbers.
            "link_to_feed": analyst and monitor is not None,
            "nav": "map",
        },
    )


def _value(place: PlaceCount | None, metric: str) -> float | None:
    if place is None or place.posts is None:
        return None
    if metric == "negative":
        return place.negative_share
    return float(place.posts)


def _empty(monitor: int | None, range_: str, metric: str) -> dict[str, object]:
    return {
        "monitor": monitor,
        "range": range_,
        "ranges": tuple(RANGES),
        "metric": metric,
        "monitors": {},
        "view_box": shapes().viewBox,
        "drawn": [],
        "legend": [],
        "table": [],
        "withheld": 0,
        "min_authors": MIN_AUTHORS,
        "link_to_feed": False,
        "missing": True,
    }
