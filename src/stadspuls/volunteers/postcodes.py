"""Dutch 4-digit postcodes (PC4) and place names to a point, offline.

The table `data/postcodes_nl.csv` (ODbL 1.0; `data/README.md` says where it comes from and how
precise it is) gives every PC4 the point of its place; place names are read from the places
table of the enrichment stage (`enrich/data/places_nl.csv`: municipalities with their centroid,
main places, aliases such as "Den Bosch") and then from the postcode table's own place names.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stadspuls.enrich.places import key, load_table

TABLE = Path(__file__).resolve().parent / "data" / "postcodes_nl.csv"
# "3511", "3511 AB", "3511ab": the first four digits count (the letters narrow it to a street).
_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*(?:[A-Za-z]{2})?\s*$")


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    place: str
    precision: str  # "place" (the PC4's own place), "neighbour", "municipality"


def normalise_postcode(text: str) -> str | None:
    """The PC4 of a Dutch postcode as people write it; None when it is no postcode."""
    match = _POSTCODE.match(text)
    return match.group(1) if match else None


class Postcodes:
    """PC4 and place lookups; built once per process (`postcodes()`)."""

    def __init__(self, table: Path = TABLE) -> None:
        self._pc4: dict[str, Point] = {}
        by_place: dict[str, Point] = {}
        with table.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                point = Point(float(row["lat"]), float(row["lon"]), row["place"], row["precision"])
                self._pc4[row["pc4"]] = point
                # A place's own point wins over one borrowed from a neighbouring PC4.
                known = by_place.get(key(row["place"]))
                if known is None or (known.precision != "place" and point.precision == "place"):
                    by_place[key(row["place"])] = point
        # The places table first: its municipalities have a centroid, its places a population.
        self._places: dict[str, Point] = {}
        for entry in load_table():
            place = entry.place
            how = "municipality" if place.name == place.municipality else "place"
            self._places.setdefault(key(place.name), Point(place.lat, place.lon, place.name, how))
        for name, point in by_place.items():
            self._places.setdefault(name, point)

    def __len__(self) -> int:
        return len(self._pc4)

    def postcode(self, pc4: str) -> Point | None:
        return self._pc4.get(pc4)

    def place(self, name: str) -> Point | None:
        return self._places.get(key(name.strip()))


@cache
def postcodes() -> Postcodes:
    return Postcodes()
