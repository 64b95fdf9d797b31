"""The municipality shapes the map page draws, shipped in the package (scripts/build_map.py)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "stadspuls" / "web" / "static" / "map" / "gemeenten.json"
PLACES = ROOT / "src" / "stadspuls" / "enrich" / "data" / "places_nl.csv"
SOURCE = ROOT.parent / "shared" / "data" / "geo" / "gemeenten_2023_simplified.geojson"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_map", ROOT / "scripts" / "build_map.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_map_has_every_municipality_the_places_enricher_knows() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    codes = [m["code"] for m in shipped["municipalities"]]
    with PLACES.open(encoding="utf-8") as handle:
        known = {row["code"] for row in csv.DictReader(handle)}
    assert len(codes) == len(set(codes))
    assert set(codes) == known
    assert len(codes) >= 342  # the CBS 2023 file holds 343 shapes (342 municipalities + 1)
    assert SHIPPED.stat().st_size < 250_000
    _, _, width, height = (float(v) for v in shipped["viewBox"].split())
    path = re.compile(r"^(M-?[\d.]+ -?[\d.]+l[-\d. ]*z)+$")
    for municipality in shipped["municipalities"]:
        assert municipality["name"]
        assert path.match(municipality["d"]), municipality["code"]
        start = re.findall(r"M(-?[\d.]+) (-?[\d.]+)", municipality["d"])
        assert all(0 <= float(x) <= width and 0 <= float(y) <= height for x, y in start)
    assert shipped["licence"] == "CC BY 4.0"


def test_douglas_peucker_keeps_corners_and_drops_points_on_a_line() -> None:
    simplify = _script().simplify
    line = [(float(x), 0.0) for x in range(10)]
    assert simplify(line, 0.5) == [(0.0, 0.0), (9.0, 0.0)]
    corner = [(0.0, 0.0), (5.0, 0.1), (10.0, 0.0), (10.0, 10.0)]
    assert simplify(corner, 0.5) == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]


def test_the_shipped_map_is_what_the_script_builds_from_the_source(tmp_path: Path) -> None:
    if not SOURCE.is_file():
        pytest.skip(f"the CBS/PDOK boundaries are not at {SOURCE} (../shared/data/geo)")
    target = tmp_path / "gemeenten.json"
    assert _script().main(["--source", str(SOURCE), "--target", str(target)]) == 0
    assert json.loads(target.read_text()) == json.loads(SHIPPED.read_text())
