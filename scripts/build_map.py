"""Build the map's base layer: every Dutch municipality as an SVG path, shipped in the package.

Reads the CBS/PDOK municipality boundaries (CC BY 4.0) as GeoJSON in WGS84, projects them onto a
plane, simplifies each ring (Douglas–Peucker) and writes `src/stadspuls/web/static/map/
gemeenten.json`: `{"viewBox", "source", "licence", "municipalities": [{"code", "name", "d"}]}`.
The map page draws it as an inline SVG, so the dashboard needs no tile server and no internet.

    python scripts/build_map.py [--source ../shared/data/geo/gemeenten_2023_simplified.geojson]

The projection is equirectangular with the longitude scaled by cos(52.2°), the latitude of the
middle of the country: over the Netherlands' 3° of latitude its distortion stays below 4%,
invisible on a choropleth, and it needs no PROJ.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "geo" / "gemeenten_2023_simplified.geojson"
TARGET = ROOT / "src" / "stadspuls" / "web" / "static" / "map" / "gemeenten.json"
WIDTH = 1000.0  # viewBox units across the country
# Points closer than this to the simplified line are dropped (viewBox units: at 1000 across, a
# unit is about 0.3 km and under one screen pixel at the page's size).
TOLERANCE = 0.4
# Rings (islands, enclaves) smaller than this many square units are left out.
MIN_AREA = 1.0
COS_LAT = math.cos(math.radians(52.2))

Point = tuple[float, float]


def project(lon: float, lat: float) -> Point:
    return lon * COS_LAT, -lat


def _distance(p: Point, a: Point, b: Point) -> float:
    """Distance from p to the segment a–b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == dy == 0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas–Peucker, iterative (rings have thousands of points; no recursion limit)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > worst:
                worst, index = d, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def area(ring: Sequence[Point]) -> float:
    return abs(
        sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, [*ring[1:], ring[0]], strict=True)) / 2
    )


def polygons(geometry: dict[str, object]) -> list[list[list[list[float]]]]:
    coordinates = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        return [coordinates]  # type: ignore[list-item]
    if geometry["type"] == "MultiPolygon":
        return coordinates  # type: ignore[return-value]
    raise ValueError(f"unexpected geometry type {geometry['type']!r}")


def ring_path(ring: Sequence[Point]) -> str:
    """An SVG subpath: an absolute move, then relative lines (shorter), closed."""
    x0, y0 = round(ring[0][0], 1), round(ring[0][1], 1)
    parts = [f"M{x0:g} {y0:g}l"]
    px, py = x0, y0
    steps = []
    for x, y in ring[1:]:
        x, y = round(x, 1), round(y, 1)
        if (x, y) == (px, py):
            continue
        steps.append(f"{round(x - px, 1):g} {round(y - py, 1):g}")
        px, py = x, y
    parts.append(" ".join(steps).replace(" -", "-"))
    return "".join(parts) + "z"


def build(source: Path) -> dict[str, object]:
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    projected: list[tuple[str, str, list[list[Point]]]] = []
    for feature in features:
        properties = feature["properties"]
        rings = [
            [project(lon, lat) for lon, lat, *_ in ring]
            for polygon in polygons(feature["geometry"])
            for ring in polygon
        ]
        projected.append((properties["gemeentecode"], properties["gemeentenaam"], rings))
    xs = [x for _, _, rings in projected for ring in rings for x, _ in ring]
    ys = [y for _, _, rings in projected for ring in rings for _, y in ring]
    scale = WIDTH / (max(xs) - min(xs))
    left, top = min(xs), min(ys)
    height = math.ceil((max(ys) - top) * scale)
    out = []
    for code, name, rings in sorted(projected):
        scaled = [[((x - left) * scale, (y - top) * scale) for x, y in ring] for ring in rings]
        kept = [simplify(r, TOLERANCE) for r in scaled if area(r) >= MIN_AREA]
        kept = [r for r in kept if len(r) >= 4]
        if not kept:  # a tiny municipality keeps its largest ring, however small
            kept = [max(scaled, key=area)]
        out.append({"code": code, "name": name, "d": "".join(ring_path(r) for r in kept)})
    return {
        "viewBox": f"0 0 {WIDTH:g} {height}",
        "source": "CBS/PDOK, gemeentegrenzen 2023 (" + source.name + ")",
        "licence": "CC BY 4.0",
        "municipalities": out,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"no municipality boundaries at {args.source}", file=sys.stderr)
        return 2
    result = build(args.source)
    args.target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    args.target.write_text(text + "\n", encoding="utf-8")
    count = len(result["municipalities"])  # type: ignore[arg-type]
    print(f"{count} municipalities, {len(text.encode()) // 1024} KiB -> {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
