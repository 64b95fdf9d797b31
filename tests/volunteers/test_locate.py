"""Postcodes, places and points to a location inside the Netherlands, offline; the table's
licence and make-up as the docs state them; signed links."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stadspuls.cases.places import distance_km
from stadspuls.volunteers.errors import BadLink, VolunteerError
from stadspuls.volunteers.locate import locate
from stadspuls.volunteers.postcodes import TABLE, normalise_postcode, postcodes
from stadspuls.volunteers.tokens import Signer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "volunteers.md"


@pytest.mark.parametrize(
    ("postcode", "municipality", "near"),
    [
        ("3511", "Utrecht", (52.09, 5.12)),
        ("3511 AB", "Utrecht", (52.09, 5.12)),
        ("1012ab", "Amsterdam", (52.37, 4.89)),
        ("9711", "Groningen", (53.22, 6.57)),
        ("6211", "Maastricht", (50.85, 5.69)),
        ("4381", "Vlissingen", (51.45, 3.58)),
    ],
)
def test_known_postcodes(postcode: str, municipality: str, near: tuple[float, float]) -> None:
    found = locate(postcode=postcode)
    assert found.municipality == municipality
    assert distance_km(found.lat, found.lon, *near) < 5
    assert found.label.startswith(postcode[:4])


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"postcode": "0000"}, "postcode", "vier cijfers"),
        ({"postcode": "35111"}, "postcode", "vier cijfers"),
        ({"postcode": "1000"}, "postcode", "1000 kennen we niet"),
        ({"place": "Atlantis"}, "place", "kennen we niet"),
        ({"lat": 50.85, "lon": 4.35}, "location", "niet in Nederland"),  # Brussels
        ({"lat": 53.8, "lon": 3.0}, "location", "niet in Nederland"),  # the North Sea
        ({"lat": 52.0}, "location", "breedte- en een lengtegraad"),
        ({"lat": 152.0, "lon": 5.0}, "location", "geen punt op aarde"),
        ({}, "location", "Kies een punt"),
        ({"postcode": "3511", "place": "Utrecht"}, "location", "één locatie"),
    ],
)
def test_refused(given: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(VolunteerError) as raised:
        locate(**given)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert words in str(raised.value)


def test_places_and_points() -> None:
    den_bosch = locate(place=" den bosch ")
    assert den_bosch.municipality == "'s-Hertogenbosch"
    assert locate(place="Zwolle").municipality_code == "GM0193"
    dam = locate(lat=52.3731, lon=4.8926)
    assert (dam.municipality, dam.label) == ("Amsterdam", "52.3731, 4.8926")
    # A village known only through the postcode table.
    assert locate(place="Stitswerd").municipality == "Het Hogeland"


def test_normalise_postcode() -> None:
    assert normalise_postcode(" 3511 ab ") == "3511"
    assert normalise_postcode("3511AB") == "3511"
    assert normalise_postcode("0511") is None
    assert normalise_postcode("3511 A") is None


def test_the_table_is_what_the_docs_say() -> None:
    with TABLE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kinds = Counter(r["precision"] for r in rows)
    assert len(rows) == len(postcodes()) == len({r["pc4"] for r in rows})
    assert all(r["municipality_code"].startswith("GM") for r in rows)
    readme = (TABLE.parent / "README.md").read_text()
    docs = DOCS.read_text()
    for text in (readme, docs):
        assert "ODbL" in text
        assert f"{len(rows):,}" in text
        assert f"{kinds['place']:,}" in text
        assert f"{kinds['neighbour']:,}" in text


def test_signed_links() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    signer = Signer(b"k" * 32)
    token = signer.sign("manage", "42", now + timedelta(days=1))
    assert signer.open("manage", token, now=now) == "42"
    with pytest.raises(BadLink):
        signer.open("answer:7", token, now=now)  # another purpose
    with pytest.raises(BadLink):
        Signer(b"x" * 32).open("manage", token, now=now)  # another key
    with pytest.raises(BadLink):
        signer.open("manage", "43." + token.split(".", 1)[1], now=now)
    with pytest.raises(BadLink):
        signer.open("manage", "nonsense", now=now)
    with pytest.raises(BadLink) as expired:
        signer.open("manage", token, now=now + timedelta(days=2))
    assert expired.value.expired
