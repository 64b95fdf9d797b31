"""Where a citizen's report is: the CBS municipality of its point, else a place it names.

The point is looked up in the municipality shapes the map already ships
(`static/map/gemeenten.json`, CBS/PDOK 2023, simplified). That file holds SVG paths in the map's
own projection (scripts/build_map.py: longitude scaled by cos 52.2°, then shifted and scaled to
a 1000-wide view box) without the shift and scale it used, so they are recovered once, by least
squares, from the municipality centroids of the place table (`enrich/data/places_nl.csv`)
against the centroids of the shapes: 341 pairs for 4 numbers. The simplified shapes are good to
a few hundred metres; a point on a border may land in the neighbour, and a point just outside
every shape (the beach, the IJsselmeer) takes the municipality whose centroid is nearest, within
`NEAREST_KM`.

Without a point (or with one outside the country), the address and then the text are read with
the place recogniser of the enrichment stage (`enrich/places.PlaceMatcher`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import msgspec

from stadspuls.enrich.places import PlaceMatcher, load_table
from stadspuls.web.templating import STATIC_DIR

SHAPES = STATIC_DIR / "map" / "gemeenten.json"
# A point further than this from every municipality's centroid is not in the Netherlands.
NEAREST_KM = 12.0
_EARTH_KM = 6371.0
_NUMBER = re.compile(r"[Mlz]|-?[0-9.]+")

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Found:
    code: str  # CBS municipality code, "GM0344"
    name: str  # the municipality's official name
    how: str  # "point", "nearest", "address", "text"


class _Shape(msgspec.Struct, frozen=True):
    code: str
    name: str
    d: str


class _Shapes(msgspec.Struct, frozen=True):
    municipalities: tuple[_Shape, ...]


@dataclass(frozen=True)
class _Municipality:
    code: str
    name: str
    rings: tuple[Ring, ...]
    box: tuple[float, float, float, float]  # min x, min y, max x, max y


def parse_path(d: str) -> list[Ring]:
    """The rings of an SVG path made of `M x y l dx dy … z` subpaths (what build_map writes)."""
    rings: list[Ring] = []
    parts = _NUMBER.findall(d)
    i = 0
    ring: Ring = []
    x = y = 0.0
    relative = False
    while i < len(parts):
        part = parts[i]
        if part == "M":
            x, y = float(parts[i + 1]), float(parts[i + 2])
            ring = [(x, y)]
            relative = False
            i += 3
        elif part == "l":
            relative = True
            i += 1
        elif part == "z":
            if len(ring) >= 3:
                rings.append(ring)
            ring = []
            i += 1
        else:
            if not relative:
                raise ValueError(f"unexpected coordinates in a path at token {i}")
            x, y = x + float(part), y + float(parts[i + 1])
            ring.append((x, y))
            i += 2
    return rings


def _centroid(rings: list[Ring]) -> tuple[float, float]:
    """The area-weighted centroid of the largest ring (the mainland of an island municipality)."""
    ring = max(rings, key=lambda r: abs(_area(r)))
    area = _area(ring) or 1e-9
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return cx / (6 * area), cy / (6 * area)


def _area(ring: Ring) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def _fit(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares y = a·x + b."""
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in pairs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    a = sxy / sxx
    return a, mean_y - a * mean_x


def inside_ring(x: float, y: float, ring: Ring) -> bool:
    """Whether (x, y) lies inside the ring (even-odd rule; a hole is a ring of its own)."""
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return _EARTH_KM * 2 * math.asin(min(1.0, math.sqrt(a)))


class Gazetteer:
    """Municipalities by point, address or text. Built once per process (`gazetteer()`)."""

    def __init__(self) -> None:
        shapes = msgspec.json.decode(SHAPES.read_bytes(), type=_Shapes)
        self._municipalities: list[_Municipality] = []
        centroids: dict[str, tuple[float, float]] = {}
        for shape in shapes.municipalities:
            rings = parse_path(shape.d)
            xs = [x for ring in rings for x, _ in ring]
            ys = [y for ring in rings for _, y in ring]
            self._municipalities.append(
                _Municipality(
                    shape.code, shape.name, tuple(rings), (min(xs), min(ys), max(xs), max(ys))
                )
            )
            centroids[shape.code] = _centroid(rings)
        table = [e.place for e in load_table() if e.place.name == e.place.municipality]
        self._centres = {p.code: (p.lat, p.lon, p.municipality) for p in table}
        pairs = [(p, centroids[p.code]) for p in table if p.code in centroids]
        self._x = _fit([(p.lon, c[0]) for p, c in pairs])
        self._y = _fit([(p.lat, c[1]) for p, c in pairs])
        self._matcher = PlaceMatcher()

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        return self._x[0] * lon + self._x[1], self._y[0] * lat + self._y[1]

    def at(self, lat: float, lon: float) -> Found | None:
        """The municipality containing the point, else the nearest within NEAREST_KM."""
        x, y = self.project(lat, lon)
        for m in self._municipalities:
            left, top, right, bottom = m.box
            # Even-odd over all rings: a hole (an enclave) belongs to its neighbour.
            if (
                left <= x <= right
                and top <= y <= bottom
                and sum(inside_ring(x, y, ring) for ring in m.rings) % 2
            ):
                return Found(m.code, m.name, "point")
        best = min(
            self._centres.items(),
            key=lambda item: distance_km(lat, lon, item[1][0], item[1][1]),
            default=None,
        )
        if best is not None and distance_km(lat, lon, best[1][0], best[1][1]) <= NEAREST_KM:
            return Found(best[0], best[1][2], "nearest")
        return None

    def named(self, text: str, how: str) -> Found | None:
        places = self._matcher.find(text)
        return Found(places[0].code, places[0].municipality, how) if places else None

    def locate(
        self, *, lat: float | None, lon: float | None, address: str | None, text: str
    ) -> Found | None:
        """The point first (it was picked or measured), then the address, then the text."""
        if lat is not None and lon is not None:
            found = self.at(lat, lon)
            if found is not None:
                return found
        if address:
            found = self.named(address, "address")
            if found is not None:
                return found
        return self.named(text, "text")


@cache
def gazetteer() -> Gazetteer:
    return Gazetteer()
